"""The effective configuration of a repository, and where each value came from."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from claudetracing.core import claude_settings, keys, paths, tracking_uri

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


@dataclass
class Value:
    value: str | None
    source: str  # "default", a settings file path, or "environment"


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
        return self.get(EXPERIMENT) or default_experiment(self.root)

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
    """Merge defaults < user settings < team settings < personal settings < environment."""
    root = root or find_root()
    environ = dict(os.environ) if environ is None else environ
    config = Config(root=root)
    layers = [
        (paths.claude_config_dir() / "settings.json", "user settings"),
        (claude_settings.team_settings_path(root), "team settings"),
        (claude_settings.personal_settings_path(root), "personal settings"),
    ]
    for path, label in layers:
        for key, value in claude_settings.env_of(path).items():
            config.values[key] = Value(value, f"{label} ({path})")
    for key in sorted(k for k in environ if k.startswith(claude_settings.ENV_PREFIX)):
        if key in RUNTIME_ONLY:
            continue
        if environ.get(key):
            found = config.values.get(key)
            # Claude Code copies settings `env` into hook processes: same value, same source.
            if found is None or found.value != environ[key]:
                config.values[key] = Value(environ[key], "environment")
    config.values.setdefault(TRACKING_URI, Value(LOCAL, "default (embedded local store)"))
    config.values.setdefault(EXPERIMENT, Value(default_experiment(root), "default (convention)"))
    return config
