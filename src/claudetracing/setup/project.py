"""`init` and `disable`: plan the repository's files, write them, verify the destination."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claudetracing.core import claude_settings, repo_links
from claudetracing.core import config as config_mod
from claudetracing.core.jsonfiles import read_json_object, write_text_atomic
from claudetracing.setup import gitignore, legacy

Transform = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class SetupOptions:
    tracking_uri: str = config_mod.LOCAL  # "local", "databricks://P" or any MLflow URI
    experiment: str | None = None
    profile: str | None = None
    experiment_is_personal: bool = False  # a path in the user's own folder: not for the team
    user: str | None = None  # the workspace identity, for mlflow.trace.user
    extra_team_env: dict[str, str] = field(default_factory=dict)
    extra_personal_env: dict[str, str] = field(default_factory=dict)  # e.g. the UC location


@dataclass
class FilePlan:
    path: Path
    before: str
    after: str
    transform: Transform | None = None  # None: not a settings file (the .gitignore)

    @property
    def changes(self) -> bool:
        return self.before != self.after


@dataclass
class Plan:
    root: Path
    tracking_uri: str
    experiment: str
    files: list[FilePlan]

    @property
    def changes(self) -> list[FilePlan]:
        return [f for f in self.files if f.changes]


def _settings_plan(path: Path, transform: Transform) -> FilePlan:
    before, after = claude_settings.preview(path, transform)
    return FilePlan(path, before, after, transform)


def repository_at(directory: Path) -> Path:
    """The repository `--dir` names (its root when it names a folder inside one), checked."""
    from claudetracing.core.errors import TracesError

    if not directory.exists():
        raise TracesError(f"--dir {directory}: no such folder", "pass the repository's folder")
    if not directory.is_dir():
        raise TracesError(f"--dir {directory} is not a folder", "pass the repository's folder")
    return config_mod.find_root(directory)


def refuse_user_folder(root: Path) -> None:
    """A folder whose `.claude` is Claude Code's own (the home folder, outside any repository)
    is no repository: its `.claude/settings.json` is the user settings of every repository."""
    from claudetracing.core import paths
    from claudetracing.core.errors import TracesError

    own = paths.claude_config_dir()
    if (root / ".claude").resolve() == own.resolve():
        raise TracesError(
            f"{root} is not in a repository: its .claude folder is Claude Code's own "
            f"({own}), whose settings apply to every repository; nothing was written",
            "run the command in (or pass --dir) a repository, or use `traces init --user` "
            "and `traces disable --user` for every repository",
        )


def _repository_experiment(root: Path) -> str:
    """The experiment the repository's own settings name, else the convention's: a user's or
    organisation's experiment belongs to their destination, not to the repository's files."""
    from claudetracing.core import settings_scopes

    value = config_mod.load(root).values.get(config_mod.EXPERIMENT)
    own = (settings_scopes.PROJECT, settings_scopes.LOCAL, settings_scopes.ENV)
    if value and value.scope in own:
        return config_mod.Config(root, {config_mod.EXPERIMENT: value}).experiment
    return config_mod.default_experiment(root)


def plan_init(root: Path, options: SetupOptions) -> Plan:
    """What `init` would write. Reads every file strictly first: a bad one stops us early."""
    repo_links.refuse_outside_links(root)
    refuse_user_folder(root)
    experiment = options.experiment or _repository_experiment(root)
    team_env = dict(options.extra_team_env)
    # Checked now, before anything is written: the hook runs this path, whatever the PATH.
    executable = str(claude_settings.installed_executable())
    personal_env = {
        config_mod.TRACKING_URI: options.tracking_uri,
        claude_settings.EXECUTABLE: executable,
    }
    if options.experiment_is_personal:
        personal_env[config_mod.EXPERIMENT] = experiment
    else:
        team_env[config_mod.EXPERIMENT] = experiment
    if options.profile:
        personal_env[config_mod.PROFILE] = options.profile
    if options.user:
        personal_env[config_mod.USER] = options.user
    personal_env.update(options.extra_personal_env)

    def team(data: dict[str, Any]) -> dict[str, Any]:
        # The earlier claudetracing's hook and keys go: left, they trace every turn twice.
        current = legacy.without_legacy(data)
        return claude_settings.with_env(claude_settings.with_hooks(current), team_env)

    def personal(data: dict[str, Any]) -> dict[str, Any]:
        cleaned = claude_settings.without_env(data)
        return claude_settings.with_env(cleaned, personal_env)

    ignore_path = root / ".gitignore"
    ignore_before = ignore_path.read_text(encoding="utf-8") if ignore_path.exists() else ""
    files = [
        _settings_plan(claude_settings.team_settings_path(root), team),
        _settings_plan(claude_settings.personal_settings_path(root), personal),
        FilePlan(ignore_path, ignore_before, gitignore.with_block(ignore_before)),
    ]
    uri = options.tracking_uri
    return Plan(root, uri, experiment, files)


def apply(plan: Plan) -> list[Path]:
    """Write the plan; only files whose content changes are touched. All or nothing: if any
    write fails or is interrupted, the files already written get their old content back."""
    repo_links.refuse_outside_links(plan.root)  # again: a link may have appeared since the plan
    written: list[FilePlan] = []
    try:
        for file in plan.files:
            if file.transform is not None:
                changed = claude_settings.apply(file.path, file.transform).changed
            else:
                changed = gitignore.install(plan.root)
            if changed:
                written.append(file)
    except BaseException:
        for file in reversed(written):
            if file.before:
                write_text_atomic(file.path, file.before)
            else:
                file.path.unlink(missing_ok=True)
        raise
    return [file.path for file in written]


def disable(root: Path) -> list[Path]:
    """Remove exactly what `init` added: our hooks, our env keys, our .gitignore block."""
    repo_links.refuse_outside_links(root)  # first: it names the link and how to fix it
    refuse_user_folder(root)
    # Read both settings files strictly before changing either: all or nothing.
    for path in (
        claude_settings.team_settings_path(root),
        claude_settings.personal_settings_path(root),
    ):
        read_json_object(path)
    removed = []

    def team(data: dict[str, Any]) -> dict[str, Any]:
        return claude_settings.without_env(claude_settings.without_hooks(data))

    for path, transform in (
        (claude_settings.team_settings_path(root), team),
        (claude_settings.personal_settings_path(root), claude_settings.without_env),
    ):
        if claude_settings.apply(path, transform).changed:
            removed.append(path)
    if gitignore.uninstall(root):
        removed.append(root / ".gitignore")
    claude_dir = root / ".claude"
    if claude_dir.is_dir() and not claude_dir.is_symlink() and not any(claude_dir.iterdir()):
        claude_dir.rmdir()
    return removed


def verify(cfg: config_mod.Config) -> str:
    """Write a tiny trace, read it back, delete it: proof that the destination works."""
    from claudetracing.export.backend import MlflowBackend
    from claudetracing.trace.builder import SpanNode, TurnTrace
    from claudetracing.transcript.model import TokenTotals

    backend = MlflowBackend(cfg.tracking_uri, cfg.experiment)
    backend.connect()
    now = time.time_ns()
    probe = TurnTrace(
        key=f"verify:{now}",
        session_id="claudetracing-verify",
        root=SpanNode(
            "claudetracing_verify",
            "AGENT",
            now,
            now + 1_000_000,
            {"prompt": "ping"},
            {"answer": "pong"},
        ),
        tokens=TokenTotals(),
        tags={"claudetracing.verify": "true"},
    )
    trace_id = backend.write(probe)
    backend.confirm(trace_id, expected_spans=1)
    backend.delete([trace_id])
    return backend.connect()
