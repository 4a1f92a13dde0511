"""What every trace goes through before upload: redaction of all content, then enrichments."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from claudetracing.core import config as config_mod
from claudetracing.core import paths
from claudetracing.core.config import Config
from claudetracing.core.errors import TracesError
from claudetracing.enrichments import registry as registry_mod
from claudetracing.enrichments.api import TurnContext
from claudetracing.trace.builder import TURN_KEY_TAG, TurnTrace
from claudetracing.transcript.model import Turn

ENRICHMENTS_TAG = "claudetracing.enrichments"
REDACTIONS_TAG = "claudetracing.redactions"
CONTENT_TAG = "claudetracing.content"
REDACT_PATTERNS = config_mod.REDACT_PATTERNS  # team: a JSON list of regular expressions
CONTENT = config_mod.CONTENT  # team: "full" (default) or "metadata" (no content at all)
OMITTED = "[content not recorded: this repository traces metadata only]"
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
    from claudetracing.core.jsonfiles import write_text_atomic

    body = read_errors()
    for name, error in errors.items():
        body[name] = {"error": error, "at": time.time()}
    paths.ensure_private_dir(errors_path().parent)
    write_text_atomic(errors_path(), json.dumps(body, indent=1) + "\n", mode=0o600)


def team_patterns(config: Config) -> list[str]:
    raw = config.get(REDACT_PATTERNS)
    if not raw:
        return []
    try:
        patterns = json.loads(raw)
    except ValueError:
        patterns = None
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise TracesError(
            f"{REDACT_PATTERNS} must be a JSON list of regular expressions, got {raw[:80]!r}",
            'set it in .claude/settings.json, e.g. "[\\"ACME-[0-9]{8}\\"]"',
        )
    return patterns


def metadata_only(config: Config) -> bool:
    mode = (config.get(CONTENT) or "full").strip().lower()
    if mode not in ("full", "metadata"):
        raise TracesError(f"{CONTENT} is {mode!r}", "use full or metadata")
    return mode == "metadata"


class Pipeline:
    """One repository's preparation: built once per exporter, applied to each turn."""

    def __init__(self, config: Config) -> None:
        from claudetracing.redaction.redactor import Redactor

        self.config = config
        self.redactor = Redactor(team_patterns(config))  # a bad team pattern fails here, loudly
        self.metadata_only = metadata_only(config)
        self.registry = registry_mod.load_registry()
        self.enabled = registry_mod.enabled_names(config.get(registry_mod.CONFIG_KEY))
        self.redactions = 0

    def scrub(self, value: Any) -> Any:
        """Every piece of content passes here before it is cut to size and uploaded."""
        if self.metadata_only:
            return OMITTED if value not in (None, "", [], {}) else value
        cleaned, count = self.redactor.redact(value)
        self.redactions += count
        return cleaned

    def finish(self, trace: TurnTrace, turn: Turn) -> TurnTrace:
        """Tags from the enabled enrichments, redacted like everything else."""
        applied = registry_mod.apply(self.registry, self.enabled, self._context(turn, trace))
        _record_errors(applied.errors)
        for key, value in applied.tags.items():
            cleaned, count = self.redactor.redact_text(value)
            self.redactions += count
            trace.tags[key] = cleaned
        for node in trace.root.walk():
            for key, value in list(node.attributes.items()):
                if isinstance(value, str) and key != TURN_KEY_TAG:
                    node.attributes[key], count = self.redactor.redact_text(value)
                    self.redactions += count
        trace.tags[ENRICHMENTS_TAG] = ",".join(sorted(self.enabled)) or "none"
        trace.tags[REDACTIONS_TAG] = str(self.redactions)
        trace.tags[CONTENT_TAG] = "metadata" if self.metadata_only else "full"
        self.redactions = 0
        return trace

    def _context(self, turn: Turn, trace: TurnTrace) -> TurnContext:
        from claudetracing.core import git_info

        cwd = Path(turn.cwd) if turn.cwd and Path(turn.cwd).is_dir() else self.config.root
        snap = git_info.snapshot(cwd)
        root = snap.toplevel if snap and snap.toplevel else None
        recent = time.time() - turn.run.end_ns / 1e9 < RECENT_S
        return TurnContext(turn=turn, tokens=trace.tokens, cwd=cwd, repo_root=root, recent=recent)
