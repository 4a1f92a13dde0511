"""The one exporter lock: hook-started exporters, `traces flush` and `traces import` take turns.

One process at a time reads the spool and writes to the stores, so a turn is never uploaded by
two exporters at once. The lock file sits in the spool folder; only exporters import filelock."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from claudetracing.capture import spool
from claudetracing.core import paths, private_files
from claudetracing.core.errors import TracesError


def lock_path() -> Path:
    return spool.spool_dir() / "exporter.lock"


@contextmanager
def exporter_lock(wait: float = 0.0) -> Iterator[bool]:
    """Hold the lock for the block. Yields False, holding nothing, when another exporter kept
    it for `wait` seconds."""
    from filelock import FileLock, Timeout

    paths.ensure_private_dir(spool.spool_dir())
    _check(lock_path())
    lock = FileLock(str(lock_path()), mode=0o600)  # 0644 by default
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        yield False
        return
    try:
        # Every export run takes back what an earlier version left readable by others.
        private_files.tighten(paths.data_dir())
        yield True
    finally:
        lock.release()


def _check(path: Path) -> None:
    """The lock is a plain file we create: anything else in its place stops every exporter,
    so it is named with its fix instead of failing deep inside filelock."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        kind, remove = "a folder", f"rm -r {path}"
    elif stat.S_ISLNK(mode):
        kind = "a symbolic link" if path.exists() else "a dangling symbolic link"
        remove = f"rm {path}"
    elif stat.S_ISFIFO(mode):
        kind, remove = "a FIFO", f"rm {path}"
    else:
        kind, remove = "not a regular file", f"rm {path}"
    raise TracesError(
        f"the exporter lock {path} is {kind}, not a file: no export can run",
        f"remove it (`{remove}`); the next export creates it again",
    )
