"""What every trace goes through between building and upload: enrichments, then redaction."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from claudetracing import enrichment_registry as registry_mod
from claudetracing import paths
from claudetracing.config import Config
from claudetracing.enrichment_api import TurnContext
from claudetracing.export import Preparer
from claudetracing.trace_builder import TurnTrace
from claudetracing.turns import Turn

ENRICHMENTS_TAG = "claudetracing.enrichments"
RECENT_S = 600  # a turn that ended this recently still sees its own working tree
log = logging.getLogger(__name__)


def errors_path() -> Path:
    return paths.data_dir() / "state" / "enrichment-errors.json"


def read_errors() -> dict[str, dict[str, object]]:
    try:
        body = json.loads(errors_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _record_errors(errors: dict[str, str]) -> None:
    if not errors:
        return
    from claudetracing.jsonfiles import write_text_atomic

    body = read_errors()
    for name, error in errors.items():
        body[name] = {"error": error, "at": time.time()}
    paths.ensure_private_dir(errors_path().parent)
    write_text_atomic(errors_path(), json.dumps(body, indent=1) + "\n", mode=0o600)


def _context(turn: Turn, trace: TurnTrace, config: Config) -> TurnContext:
    from claudetracing import git_info

    cwd = Path(turn.cwd) if turn.cwd and Path(turn.cwd).is_dir() else config.root
    snap = git_info.snapshot(cwd)
    root = snap.toplevel if snap and snap.toplevel else None
    recent = time.time() - turn.run.end_ns / 1e9 < RECENT_S
    return TurnContext(turn=turn, tokens=trace.tokens, cwd=cwd, repo_root=root, recent=recent)


def prepare(config: Config) -> Preparer:
    """The preparation step for one repository's configuration (registry loaded once)."""
    registry = registry_mod.load_registry()
    enabled = registry_mod.enabled_names(config.get("CLAUDETRACING_ENRICHMENTS"))

    def run(trace: TurnTrace, turn: Turn) -> TurnTrace:
        applied = registry_mod.apply(registry, enabled, _context(turn, trace, config))
        _record_errors(applied.errors)
        trace.tags.update(applied.tags)
        trace.tags[ENRICHMENTS_TAG] = ",".join(sorted(enabled)) or "none"
        return trace

    return run
