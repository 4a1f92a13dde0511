"""`traces status`: everything that decides whether tracing works here, and what to do if not."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from claudetracing.capture import spool
from claudetracing.core import (
    claude_settings,
    failures,
    keys,
    paths,
    private_files,
    repo_links,
    settings_scopes,
    tracking_uri,
    userinfo,
)
from claudetracing.core import config as config_mod
from claudetracing.core.errors import TracesError
from claudetracing.export import ledger, worker
from claudetracing.setup import gitignore, health, scope_report


@dataclass
class Problem:
    what: str
    fix: str


@dataclass
class StatusReport:
    root: str
    settings: dict[str, dict[str, Any]]
    tracking_uri: str
    experiment: str
    hooks: list[str]
    gitignore: bool
    backend_ok: bool
    backend_detail: str
    experiment_id: str | None
    # This repository's: its events waiting, given up, its last error and its last export.
    pending: int
    failed: int
    corrupt: int  # unreadable entries cannot be told apart: every repository's
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None
    held: int = 0  # pending entries whose turn waits for a background subagent: no failure
    store_reachable: bool | None = None  # None: not checked (--offline)
    hook_executable: str | None = None  # what the hook runs, from the personal settings
    spool_writable: bool = True
    unspooled: int = 0  # sessions whose last turn ended without reaching the spool
    pending_machine: int = 0  # every repository's, on this machine
    failed_machine: int = 0
    enrichments: list[str] = field(default_factory=list)
    # A workspace experiment's traces (counted up to its cap) and that cap; None: not counted.
    experiment_traces: int | None = None
    trace_cap: int | None = None
    # scope (managed, user, project, local) → events our hook is installed for there
    hook_scopes: dict[str, list[str]] = field(default_factory=dict)
    # destination keys whose value in one scope another scope's value hides here
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    # Unity Catalog storage (init --uc): location, tables, warehouse and its state, linked
    unity_catalog: dict[str, Any] | None = None
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


def privacy_warnings(cfg: config_mod.Config) -> list[Problem]:
    """Our data folder, and the SQLite store traces go to, when other users can read them."""
    data = paths.data_dir()
    found = [private_files.data_folder_exposure(data)]
    database = tracking_uri.sqlite_path(cfg.tracking_uri)
    if database is not None:
        ours = database.resolve().is_relative_to(data.resolve())
        found.extend(private_files.sqlite_store_exposure(database, ours=ours))
    return [Problem(e.what, e.fix) for e in found if e is not None]


def gather(root: Path, *, check_backend: bool = True) -> StatusReport:
    cfg = config_mod.load(root)
    team_path = claude_settings.team_settings_path(root)
    hook_scopes = scope_report.hook_scopes(root)
    installed = {event for events in hook_scopes.values() for event in events}
    hooks = [event for event in claude_settings.HOOK_EVENTS if event in installed]
    backend_ok, detail, experiment_id = (
        _backend(cfg) if check_backend else (True, "not checked (--offline)", None)
    )
    mine = _Mine(root)
    executable = cfg.values.get(keys.EXECUTABLE)
    report = StatusReport(
        root=str(root),
        settings={k: _setting(v) for k, v in cfg.values.items()},
        tracking_uri=cfg.tracking_uri,
        experiment=cfg.experiment,
        hooks=hooks,
        gitignore=gitignore.installed(root),
        backend_ok=backend_ok,
        backend_detail=detail,
        experiment_id=experiment_id,
        pending=len(mine.pending),
        failed=len(mine.failed),
        corrupt=spool.count(spool.CORRUPT),
        last_error=mine.last_error,
        last_error_at=mine.last_error_at,
        last_success_at=_last_export(root, cfg),
        held=sum(bool(e.held) for e in mine.pending),
        store_reachable=backend_ok if check_backend else None,
        hook_executable=executable.value if executable else None,
        pending_machine=spool.count(spool.PENDING),
        failed_machine=spool.count(spool.FAILED),
        hook_scopes=hook_scopes,
    )
    from claudetracing.enrichments import registry as registry_mod

    report.enrichments = registry_mod.enabled_names(cfg.get(config_mod.ENRICHMENTS))
    if check_backend and backend_ok:
        report.warnings.extend(enrichment_warnings(cfg, report.enrichments))
        _check_capacity(cfg, report)
    report.warnings.extend(privacy_warnings(cfg))
    _scope_notes(root, cfg, report)
    disabled = (cfg.get(keys.DISABLED) or "").strip().lower() in ("1", "true", "yes")
    if disabled:
        source = cfg.values[keys.DISABLED].source
        report.warnings.append(
            Problem(
                f"tracing is turned off here by {keys.DISABLED} ({source})",
                f"remove {keys.DISABLED} there to trace this folder's turns",
            )
        )
    _unity_catalog(cfg, report, online=check_backend and backend_ok)
    missing = [e for e in claude_settings.HOOK_EVENTS if e not in hooks]
    if missing and not disabled:
        where = team_path if not hook_scopes else "every settings scope"
        report.problems.append(
            Problem(
                f"Claude Code hooks missing in {where}: {', '.join(missing)}",
                "run `traces init` (this repository) or `traces init --user` (every repository "
                "you open)",
            )
        )
    for link in repo_links.outside_links(root):
        report.problems.append(
            Problem(
                f"{link.what}: `traces init`, `traces disable` and `traces enrichment` write "
                f"only through links that stay inside the repository {root}",
                repo_links.link_fix([link]),
            )
        )
    for finding in health.hook_problems(scope_report.hook_files(root), report.hook_executable):
        report.problems.append(Problem(finding.what, finding.fix))
    spool_finding = health.spool_problem()
    if spool_finding is not None:
        report.spool_writable = False
        report.problems.append(Problem(spool_finding.what, spool_finding.fix))
    failure = health.last_hook_failure()
    if failure is not None:
        finding = health.hook_failure_finding(failure)
        report.problems.append(Problem(finding.what, finding.fix))
        at = failure.get("at")
        if isinstance(at, float) and at > (report.last_error_at or 0):
            report.last_error, report.last_error_at = finding.what, at
    if not check_backend:  # what signing in would refuse is known without a request
        try:
            tracking_uri.check_signin(cfg.tracking_uri)
        except TracesError as exc:
            report.problems.append(Problem(exc.message, exc.hint or "see `traces init --help`"))
    exporter = worker.read_status()
    ignored = exporter.get("ignored_env")
    if isinstance(ignored, list) and ignored and cfg.tracking_uri.startswith("databricks"):
        names = ", ".join(str(name) for name in ignored)
        report.warnings.append(
            Problem(
                f"the exporter ignored {names} from its environment: it signs in to Databricks "
                "only with the OAuth login of the profile",
                f"unset {names} where Claude Code starts (`traces import`, `flush` and the "
                "queries refuse to run with it)",
            )
        )
    stopped = exporter.get("exporter_stopped")
    if isinstance(stopped, str) and stopped:  # a run-level stop holds back every repository
        what, fix = failures.split_line(stopped)
        report.problems.append(Problem(f"the exporter stopped: {what}", _with_flush(fix)))
        at = exporter.get("last_error_at")
        if isinstance(at, float) and at > (report.last_error_at or 0):
            report.last_error, report.last_error_at = stopped, at
    if hooks and not disabled:
        missed = health.unspooled_sessions(
            _discover(root),
            _installed_at(root),
            paths.data_dir() / "state",
        )
        report.unspooled = len(missed)
        if missed:
            newest, ended = max(missed, key=lambda m: m[1])
            report.problems.append(
                Problem(
                    f"{len(missed)} session(s) of this repository ended turns that never reached "
                    f"the spool: the hook did not run (latest: {newest.stem}, {age(ended)})",
                    "fix the hook problem above if any (`traces init` rewrites the hook), then "
                    "`traces import` traces the missed turns",
                )
            )
    if not backend_ok:
        report.problems.append(
            Problem(
                f"store not reachable: {detail}", "fix the login or server, then run `traces flush`"
            )
        )
    if report.failed:
        latest = f"; latest: {failures.split_line(mine.last_failed)[0]}" if mine.last_failed else ""
        report.problems.append(
            Problem(
                f"{report.failed} turn(s) gave up (spool {spool.FAILED}/){latest}",
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
        what, fix = failures.split_line(report.last_error or "")
        report.problems.append(
            Problem(
                f"{report.pending} turn(s) waiting; last export error: {what}",
                _with_flush(fix),
            )
        )
    masked: StatusReport = _masked(report)
    return masked


def _check_capacity(cfg: config_mod.Config, report: StatusReport) -> None:
    """Count a workspace experiment's traces; warn from 80% of its cap, fail at it."""
    from claudetracing.setup import capacity

    if report.experiment_id is None:
        return
    try:
        found = capacity.measure(cfg, report.experiment_id)
    except TracesError as exc:
        report.warnings.append(Problem(exc.message, exc.hint or "see docs/runtime.md"))
        return
    except Exception as exc:  # a count that fails must not hide the rest of the report
        report.warnings.append(
            Problem(
                f"cannot count the traces of {cfg.experiment!r}: {failures.short(exc)}",
                "run `traces status` again; if it persists, check the login with `traces flush`",
            )
        )
        return
    if found is None:
        return
    report.experiment_traces, report.trace_cap = found.traces, found.cap
    said = capacity.warning(cfg, found)
    if said is not None:
        (report.problems if found.full else report.warnings).append(Problem(*said))


def _unity_catalog(cfg: config_mod.Config, report: StatusReport, *, online: bool) -> None:
    """Unity Catalog storage set up by `init --uc`: shown, and checked when online."""
    location = cfg.get(config_mod.UC_LOCATION)
    if not location:
        return
    from claudetracing.setup import unity_catalog

    uri = cfg.tracking_uri
    from_uri = uri.partition("://")[2] or "DEFAULT" if uri.startswith("databricks") else None
    profile = cfg.get(config_mod.PROFILE) or from_uri
    found = unity_catalog.inspect(
        profile, location, cfg.get(config_mod.UC_WAREHOUSE), cfg.experiment, online=online
    )
    report.unity_catalog = {
        "location": found.location,
        "tables": found.tables,
        "warehouse_id": found.warehouse_id,
        "warehouse_name": found.warehouse_name,
        "warehouse_state": found.warehouse_state,
        "linked": found.linked,
    }
    report.problems.extend(Problem(what, fix) for what, fix in found.problems)
    report.warnings.extend(Problem(what, fix) for what, fix in found.warnings)


def _masked(value: Any) -> Any:
    """The report with the user-info of every URI in it masked: settings values, errors read
    back from the spool, MLflow's messages (status prints them all)."""
    if isinstance(value, str):
        return userinfo.mask(value)
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, (StatusReport, Problem)):
        for name, item in vars(value).items():
            setattr(value, name, _masked(item))
    return value


def _with_flush(fix: str | None) -> str:
    """A stored failure's own fix, ending in how to retry now (said once)."""
    if not fix:
        return "run `traces flush` to retry now and see each reason"
    return fix if "traces flush" in fix else f"{fix}; then `traces flush` retries now"


class _Mine:
    """This repository's spool entries (by the project folder the hook was given) and the
    newest error among them: when it was seen is when the entry was last rewritten."""

    def __init__(self, root: Path) -> None:
        self.pending: list[spool.Entry] = []
        self.failed: list[spool.Entry] = []
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.last_failed: str | None = None  # the newest reason among given-up entries
        last_failed_at = 0.0
        for folder, found in ((spool.PENDING, self.pending), (spool.FAILED, self.failed)):
            for path in spool.entries(folder):
                try:
                    entry = spool.load(path)
                    seen = path.stat().st_mtime
                except (OSError, ValueError, TypeError):
                    continue  # unreadable: the exporter sets it aside and status counts it then
                if not _belongs(entry, root):
                    continue
                found.append(entry)
                error = entry.last_error if isinstance(entry.last_error, str) else None
                if folder == spool.FAILED:
                    try:
                        error = path.with_suffix(".reason").read_text(encoding="utf-8").strip()
                    except OSError:
                        error = error or "gave up"
                    if seen > last_failed_at:
                        self.last_failed, last_failed_at = error, seen
                if error and seen > (self.last_error_at or 0):
                    self.last_error, self.last_error_at = error, seen


def _belongs(entry: spool.Entry, root: Path) -> bool:
    project = entry.env.get("CLAUDE_PROJECT_DIR") or entry.payload.get("cwd")
    if not isinstance(project, str) or not project:
        return False
    return config_mod.find_root(Path(project)) == root.resolve()


def _discover(root: Path) -> list[Path]:
    from claudetracing.transcript.discovery import discover

    try:
        return discover(root, since_s=health.LOOKBACK_S)
    except (OSError, TracesError):
        return []


def _installed_at(root: Path) -> float:
    """When the hook was last written for this repository: the newest change of a settings
    file that holds it (any scope's)."""
    try:
        return max(path.stat().st_mtime for path in scope_report.hook_files(root))
    except (OSError, ValueError):
        return time.time()


def _setting(value: config_mod.Value) -> dict[str, Any]:
    return {
        "value": value.value,
        "source": value.source,
        "scope": value.scope,
        "shadowed": [
            {"value": v.value, "source": v.source, "scope": v.scope} for v in value.shadowed
        ],
    }


def _scope_notes(root: Path, cfg: config_mod.Config, report: StatusReport) -> None:
    """Values another scope hides (said, not failed: precedence is how it should work), and
    where the turns of a folder outside any git repository go."""
    for conflict in scope_report.conflicts(cfg):
        report.conflicts.append(conflict.as_dict())
        report.warnings.append(Problem(conflict.what, conflict.fix))
    managed = settings_scopes.managed_settings_path()
    if managed.is_file() and not os.access(managed, os.R_OK):
        report.warnings.append(
            Problem(
                f"the managed settings file {managed} cannot be read by you: neither Claude Code "
                "nor traces applies it",
                f"ask whoever deploys it to make it readable (chmod a+r {managed})",
            )
        )
    mixed = scope_report.mixed_destination(cfg)
    if mixed is not None:
        report.problems.append(Problem(*mixed))
    if report.hooks and not (root / ".git").exists():
        report.warnings.append(
            Problem(
                f"{root} is not in a git repository: its turns are traced into experiment "
                f"{cfg.experiment!r}, named after the folder",
                "run Claude Code in the repository's folder; to leave this folder out, set "
                f'"{keys.DISABLED}": "1" in the env of {root}/.claude/settings.local.json',
            )
        )


def _last_export(root: Path, cfg: config_mod.Config) -> float | None:
    """When a turn of this repository was last recorded as exported to its destination: the
    newest export ledger among its sessions (one small file per session)."""
    folder = paths.data_dir() / "state" / ledger.destination_id(cfg.tracking_uri, cfg.experiment)
    newest = None
    for transcript in _discover(root):
        try:
            moment = (folder / f"{transcript.stem}.json").stat().st_mtime
        except OSError:
            continue
        newest = max(newest or 0.0, moment)
    return newest


def age(moment: float | None) -> str:
    if not moment:
        return "never"
    seconds = int(time.time() - moment)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
