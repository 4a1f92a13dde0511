"""Where things live on this machine: our data folder, the local store, Claude Code's folders."""

from __future__ import annotations

import os
import re
from pathlib import Path

from claudetracing.core import keys

# The last failure of `traces hook` to spool an event; gone once an event is spooled again.
HOOK_FAILURE = "hook-failure.json"


def data_dir() -> Path:
    """Our per-user data folder (spool, state, the embedded local MLflow store)."""
    override = os.environ.get(keys.HOME)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "claudetracing"


def fallback_hook_failure() -> Path:
    """Where the hook records its failure when the data folder cannot take it (unwritable, full):
    the temporary folder, one file per user and data folder. (Neither `tempfile` nor a hash:
    each would cost every turn milliseconds.)"""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    tag = project_key(data_dir())[-120:]
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"claudetracing-{uid}{tag}-{HOOK_FAILURE}"


def local_store_dir() -> Path:
    return data_dir() / "mlflow"


def local_tracking_uri() -> str:
    return f"sqlite:///{(local_store_dir() / 'mlflow.db').as_posix()}"


def local_artifact_uri() -> str:
    return (local_store_dir() / "artifacts").resolve().as_uri()


def claude_config_dir() -> Path:
    """Claude Code's own folder: `CLAUDE_CONFIG_DIR`, else `~/.claude`."""
    override = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(override) if override else Path.home() / ".claude"


def claude_projects_dir() -> Path:
    return claude_config_dir() / "projects"


def project_key(cwd: str | Path) -> str:
    """Claude Code's folder name for a working directory: every non-alphanumeric becomes '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(cwd))


def _make_dirs(path: Path, mode: int) -> None:
    """Create `path` and each missing level above it with exactly `mode`, whatever the umask
    (`mkdir(parents=True)` gives the levels above the umask's mode). Levels that exist, such
    as $HOME, are left as they are."""
    missing: list[Path] = []
    level = path
    while not os.path.isdir(level) and level.parent != level:
        missing.append(level)
        level = level.parent
    for level in reversed(missing):
        try:
            os.mkdir(level, mode)
        except FileExistsError:
            if not os.path.isdir(level):
                raise
            continue  # made by another process at the same moment, which sets its mode
        os.chmod(level, mode)


def ensure_private_dir(path: Path) -> Path:
    """A folder only this user can read (0700), whatever the umask, and so is every level of it
    this call creates. `path` itself is ours: made 0700 when it exists already too."""
    _make_dirs(path, 0o700)
    os.chmod(path, 0o700)
    return path


def ensure_user_dir(path: Path) -> Path:
    """A folder in the user's own files (their repository): the levels this call creates get
    the mode the user's umask gives, not the private one our processes run under."""
    _make_dirs(path, 0o777 & ~user_umask())
    return path


# What our processes create is their owner's only: 0700 folders and 0600 files, including what
# MLflow, sqlite, git and the UI server create in our store. The user's own umask is kept for
# the files we write into their repository.
PRIVATE_UMASK = 0o077
_user_umask: list[int] = []


def private_umask() -> None:
    """From now on this process and the processes it starts create nothing others can read."""
    previous = os.umask(PRIVATE_UMASK)
    if not _user_umask:
        _user_umask.append(previous)


def user_umask() -> int:
    """The umask this process started with: the user's choice for their own files."""
    if _user_umask:
        return _user_umask[0]
    current = os.umask(PRIVATE_UMASK)
    os.umask(current)
    return current
