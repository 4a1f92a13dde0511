"""`traces status`: everything that decides whether tracing works here, and what to do if not."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from claudetracing.capture import spool
from claudetracing.core import claude_settings
from claudetracing.core import config as config_mod
from claudetracing.core.errors import TracesError
from claudetracing.export import worker
from claudetracing.setup import gitignore


@dataclass
class Problem:
    what: str
    fix: str


@dataclass
class StatusReport:
    root: str
    settings: dict[str, dict[str, str | None]]
    tracking_uri: str
    experiment: str
    hooks: list[str]
    gitignore: bool
    backend_ok: bool
    backend_detail: str
    experiment_id: str | None
    pending: int
    failed: int
    corrupt: int
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None
    held: int = 0  # pending entries whose turn waits for a background subagent: no failure
    enrichments: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["ok"] = self.ok
        return body


def _backend(cfg: config_mod.Config) -> tuple[bool, str, str | None]:
    from claudetracing.export.backend import MlflowBackend

    backend = MlflowBackend(cfg.tracking_uri, cfg.experiment)
    try:
        experiment_id = backend.connect(create=cfg.is_local)
    except TracesError as exc:
        return False, str(exc), None
    return True, f"experiment {cfg.experiment!r} (id {experiment_id})", experiment_id


def enrichment_warnings(cfg: config_mod.Config, enabled: list[str]) -> list[Problem]:
    """Broken plugins, recent enrichment failures, and traces tagged with another set."""
    from claudetracing.enrichments import registry as registry_mod
    from claudetracing.export.prepare import ENRICHMENTS_TAG, read_errors

    found: list[Problem] = []
    registry = registry_mod.load_registry()
    for name, error in registry.broken.items():
        found.append(
            Problem(
                f"enrichment {name!r} cannot load: {error}",
                "fix or uninstall the plugin package; traces are exported without it",
            )
        )
    for name in enabled:
        if name not in registry.available and name not in registry.broken:
            found.append(
                Problem(
                    f"enrichment {name!r} is enabled but not installed",
                    f"install it, or run `traces enrichment remove {name}`",
                )
            )
    for name, info in read_errors().items():
        at = info.get("at")
        if name in enabled and isinstance(at, (int, float)) and time.time() - at < 86400:
            found.append(
                Problem(
                    f"enrichment {name!r} failed {age(at)}: {info.get('error')}",
                    "its tags were skipped; the traces were still exported",
                )
            )
    try:
        from claudetracing.export.backend import MlflowBackend

        seen = MlflowBackend(cfg.tracking_uri, cfg.experiment).recent_tag_values(ENRICHMENTS_TAG)
    except Exception:
        seen = []
    mine = ",".join(sorted(enabled)) or "none"
    others = sorted({v for v in seen if v != mine})
    if others:
        found.append(
            Problem(
                f"recent traces in {cfg.experiment!r} were tagged with other enrichments "
                f"({'; '.join(others)}) than this checkout ({mine})",
                "pull the team's .claude/settings.json, or align with "
                "`traces enrichment add/remove`",
            )
        )
    return found


def gather(root: Path, *, check_backend: bool = True) -> StatusReport:
    cfg = config_mod.load(root)
    team_path = claude_settings.team_settings_path(root)
    hooks = claude_settings.hooks_installed(team_path)
    backend_ok, detail, experiment_id = (
        _backend(cfg) if check_backend else (True, "not checked", None)
    )
    state = worker.read_status()
    report = StatusReport(
        root=str(root),
        settings={k: {"value": v.value, "source": v.source} for k, v in cfg.values.items()},
        tracking_uri=cfg.tracking_uri,
        experiment=cfg.experiment,
        hooks=hooks,
        gitignore=gitignore.installed(root),
        backend_ok=backend_ok,
        backend_detail=detail,
        experiment_id=experiment_id,
        pending=spool.count(spool.PENDING),
        failed=spool.count(spool.FAILED),
        corrupt=spool.count(spool.CORRUPT),
        last_error=_str(state.get("last_error")),
        last_error_at=_float(state.get("last_error_at")),
        last_success_at=_float(state.get("last_success_at")),
        held=_held_entries(),
    )
    from claudetracing.enrichments import registry as registry_mod

    report.enrichments = registry_mod.enabled_names(cfg.get(config_mod.ENRICHMENTS))
    if check_backend and backend_ok:
        report.warnings.extend(enrichment_warnings(cfg, report.enrichments))
    missing = [e for e in claude_settings.HOOK_EVENTS if e not in hooks]
    if missing:
        report.problems.append(
            Problem(
                f"Claude Code hooks missing in {team_path}: {', '.join(missing)}",
                "run `traces init`",
            )
        )
    if not backend_ok:
        report.problems.append(
            Problem(
                f"backend not usable: {detail}", "fix the login or server, then run `traces flush`"
            )
        )
    if report.failed:
        report.problems.append(
            Problem(
                f"{report.failed} turn(s) gave up after repeated failures (spool {spool.FAILED}/)",
                f"fix the cause, move them back to {spool.spool_dir() / spool.PENDING} and run "
                "`traces flush`",
            )
        )
    if report.corrupt:
        report.problems.append(
            Problem(
                f"{report.corrupt} unreadable spool entr(y/ies) set aside in "
                f"{spool.spool_dir() / spool.CORRUPT}",
                "inspect the .reason files beside them, then delete them",
            )
        )
    stale = (
        report.pending
        and report.last_error_at
        and (report.last_success_at or 0) < report.last_error_at
    )
    if stale:
        report.problems.append(
            Problem(
                f"{report.pending} turn(s) waiting; last export error: {report.last_error}",
                "run `traces flush` to retry now and see each reason",
            )
        )
    return report


def _held_entries() -> int:
    held = 0
    for path in spool.entries(spool.PENDING):
        try:
            held += bool(spool.load(path).held)
        except (OSError, ValueError):
            continue  # unreadable: the exporter sets it aside and status counts it then
    return held


def age(moment: float | None) -> str:
    if not moment:
        return "never"
    seconds = int(time.time() - moment)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
