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


def ensure_private_dir(path: Path) -> Path:
    """Create a folder only this user can read (0700), whatever the umask."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
