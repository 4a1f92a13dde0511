"""The effective configuration of a repository, and where each value came from."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from claudetracing.core import claude_settings, keys, paths, settings_scopes, tracking_uri

LOCAL = "local"
# The keys are defined once in core.keys; named here too because every reader of a Config uses them.
TRACKING_URI = keys.TRACKING_URI
EXPERIMENT = keys.EXPERIMENT
PROFILE = keys.PROFILE
ENRICHMENTS = keys.ENRICHMENTS
USER = keys.USER
UC_LOCATION = keys.UC_LOCATION
UC_WAREHOUSE = keys.UC_WAREHOUSE
REDACT_PATTERNS = keys.REDACT_PATTERNS
CONTENT = keys.CONTENT
RUNTIME_ONLY = keys.RUNTIME_ONLY
# In an experiment name, the repository's name as the convention derives it (config.repo_slug),
# filled in for each repository when its turns are exported: one setting in the user's or the
# organisation's settings names a different experiment for every repository.
REPO_PLACEHOLDER = "{repo}"


@dataclass
class Value:
    value: str | None
    source: str  # "default", a settings file path, or "environment"
    scope: str = settings_scopes.DEFAULT  # managed, user, project, local, env or default
    # What lower scopes set for the same key, lowest first: set, but not used here.
    shadowed: list[Value] = field(default_factory=list)


@dataclass
class Config:
    root: Path
    values: dict[str, Value] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        found = self.values.get(key)
        return found.value if found else None

    @property
    def tracking_uri(self) -> str:
        """The URI to connect to; a relative `sqlite:///x.db` is the repository root's x.db,
        whatever folder the command runs in."""
        uri = self.get(TRACKING_URI) or LOCAL
        return paths.local_tracking_uri() if uri == LOCAL else tracking_uri.anchored(uri, self.root)

    @property
    def experiment(self) -> str:
        name = self.get(EXPERIMENT) or default_experiment(self.root)
        if REPO_PLACEHOLDER in name:
            name = name.replace(REPO_PLACEHOLDER, repo_slug(self.root))
        return name

    @property
    def is_local(self) -> bool:
        return (self.get(TRACKING_URI) or LOCAL) == LOCAL


def find_root(start: Path | None = None) -> Path:
    """The project folder: the nearest one with a `.git` or a `.claude/settings.json`, else `start`.

    The folder whose `.claude` is Claude Code's own (`~/.claude`, the user's settings) is not a
    project: outside a git repository under HOME, `init` would otherwise write our hooks into
    the user's global settings as if they were a repository's."""
    here = (start or Path.cwd()).resolve()
    own = _resolved(paths.claude_config_dir())
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
        settings = folder / ".claude" / "settings.json"
        if settings.is_file() and _resolved(folder / ".claude") != own:
            return folder
    return here


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a link loop
        return path


def repo_slug(root: Path) -> str:
    """A name for the repository: from its git remote (`org/repo` → `repo`), else the folder."""
    from claudetracing.core.git_info import remote_repo_name

    name = remote_repo_name(root) or root.name
    from claudetracing.core.naming import repo_component

    return repo_component(name.rsplit("/", 1)[-1])


def default_experiment(root: Path) -> str:
    return f"claude-code/{repo_slug(root)}"


def load(root: Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Merge defaults < user < project (team) < local (personal) < managed settings <
    environment: Claude Code's own order for `env`, and then what a command is run with."""
    root = root or find_root()
    environ = dict(os.environ) if environ is None else environ
    config = Config(root=root)

    def put(key: str, value: Value) -> None:
        found = config.values.get(key)
        if found is not None:
            value.shadowed = [*found.shadowed, Value(found.value, found.source, found.scope)]
        config.values[key] = value

    for layer in settings_scopes.layers(root):
        for key, value in _env_of(layer).items():
            put(key, Value(value, layer.source, layer.scope))
    for key in sorted(k for k in environ if k.startswith(claude_settings.ENV_PREFIX)):
        if key in RUNTIME_ONLY:
            continue
        if environ.get(key):
            found = config.values.get(key)
            # Claude Code copies settings `env` into hook processes: same value, same source.
            if found is None or found.value != environ[key]:
                put(key, Value(environ[key], "environment", settings_scopes.ENV))
    config.values.setdefault(TRACKING_URI, Value(LOCAL, "default (embedded local store)"))
    config.values.setdefault(EXPERIMENT, Value(default_experiment(root), "default (convention)"))
    return config


def _env_of(layer: settings_scopes.Layer) -> dict[str, str]:
    """A layer's keys, strictly read; a managed file this user may not read is no layer:
    Claude Code cannot read it either (`traces status` says so)."""
    from claudetracing.core.errors import ConfigFileError

    try:
        return claude_settings.env_of(layer.path)
    except ConfigFileError as exc:
        if layer.scope == settings_scopes.MANAGED and isinstance(exc.__cause__, PermissionError):
            return {}
        raise
