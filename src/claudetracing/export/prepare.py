"""One call prepares a turn's trace for upload: built, every piece of content redacted, enriched."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from claudetracing.core import config as config_mod
from claudetracing.core import paths, userinfo
from claudetracing.core.config import Config
from claudetracing.core.errors import TracesError
from claudetracing.core.git_info import GitSnapshot
from claudetracing.enrichments import registry as registry_mod
from claudetracing.enrichments.api import TurnContext
from claudetracing.trace.builder import TURN_KEY_TAG, TurnTrace, build_trace
from claudetracing.transcript.model import Turn

ENRICHMENTS_TAG = "claudetracing.enrichments"
REDACTIONS_TAG = "claudetracing.redactions"
CONTENT_TAG = "claudetracing.content"
REDACT_PATTERNS = config_mod.REDACT_PATTERNS  # team: a JSON list of regular expressions
CONTENT = config_mod.CONTENT  # team: "full" (default) or "metadata" (no content at all)
OMITTED = "[content not recorded: this repository traces metadata only]"
RECENT_S = 600  # a turn that ended this recently still sees its own working tree
SNAPSHOT_REUSE_S = 60  # how long backfilled turns of one folder share a reading of git
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
        body[name] = {"error": userinfo.mask(error), "at": time.time()}
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


GIT_METADATA = {  # MLflow's own git fields of a trace ← the git enrichment's tags
    "mlflow.source.git.commit": "git.commit_id",
    "mlflow.source.git.branch": "git.branch",
    "mlflow.source.git.repoURL": "git.remote_url",
}


def git_metadata(tags: dict[str, str]) -> dict[str, str]:
    """MLflow fills these from the exporting process's own folder (whatever repository the
    worker or `traces import` runs in, read once per process). They say the turn's: the same
    values as its git tags, blank without them."""
    return {field: tags.get(tag, "") for field, tag in GIT_METADATA.items()}


class Preparer:
    """One repository's preparation: built once per exporter, applied to each turn."""

    def __init__(self, config: Config) -> None:
        from claudetracing.redaction.redactor import Redactor

        self.config = config
        self.redactor = Redactor(team_patterns(config))  # a bad team pattern fails here, loudly
        self.metadata_only = metadata_only(config)
        self.registry = registry_mod.load_registry()
        self.enabled = registry_mod.enabled_names(config.get(registry_mod.CONFIG_KEY))
        self._snapshots: dict[Path, tuple[float, GitSnapshot | None]] = {}

    def prepare(self, turn: Turn, user: str) -> TurnTrace:
        """The turn's trace as it may leave the machine: built, every piece of content and every
        attribute redacted, tagged by the enabled enrichments (redacted too)."""
        redactions = 0  # this trace's alone: the count is one of its tags

        def scrub(value: Any) -> Any:
            # Every piece of content passes here before it is cut to size.
            nonlocal redactions
            if self.metadata_only:
                return OMITTED if value not in (None, "", [], {}) else value
            cleaned, count = self.redactor.redact(value)
            redactions += count
            return cleaned

        trace = build_trace(turn, user, scrub=scrub)
        applied = registry_mod.apply(self.registry, self.enabled, self._context(turn, trace))
        _record_errors(applied.errors)
        for key, value in applied.tags.items():
            trace.tags[key], count = self.redactor.redact_text(value)
            redactions += count
        seen: dict[str, tuple[str, int]] = {}  # model names, stop reasons, tiers: the same text
        for node in trace.root.walk():
            for key, value in list(node.attributes.items()):
                if isinstance(value, str) and key != TURN_KEY_TAG:
                    if value not in seen:
                        seen[value] = self.redactor.redact_text(value)
                    node.attributes[key], count = seen[value]
                    redactions += count
        trace.metadata.update(git_metadata(trace.tags))
        trace.tags[ENRICHMENTS_TAG] = ",".join(sorted(self.enabled)) or "none"
        trace.tags[REDACTIONS_TAG] = str(redactions)
        trace.tags[CONTENT_TAG] = "metadata" if self.metadata_only else "full"
        return trace

    def _context(self, turn: Turn, trace: TurnTrace) -> TurnContext:
        cwd = Path(turn.cwd) if turn.cwd and Path(turn.cwd).is_dir() else self.config.root
        recent = time.time() - turn.run.end_ns / 1e9 < RECENT_S
        snap = self._git(cwd, recent)  # read once; the git enrichment takes it from the context
        root = snap.toplevel if snap and snap.toplevel else None
        return TurnContext(
            turn=turn, tokens=trace.tokens, cwd=cwd, repo_root=root, recent=recent, git=snap
        )

    def _git(self, cwd: Path, recent: bool) -> GitSnapshot | None:
        """The working tree's state for a turn. A turn that just ended gets its own reading.
        Of a backfilled turn only what does not change during an import is used (remote, name,
        top folder; its commit comes from the reflog, its branch from the transcript), so the
        turns of one folder share a reading for a while: `git status` on a big repository
        costs more than the rest of a turn's export."""
        from claudetracing.core import git_info

        if recent:
            return git_info.snapshot(cwd)
        now = time.monotonic()
        read_at, snap = self._snapshots.get(cwd, (None, None))
        if read_at is None or now - read_at > SNAPSHOT_REUSE_S:
            snap = git_info.snapshot(cwd)
            self._snapshots[cwd] = (now, snap)
        return snap
