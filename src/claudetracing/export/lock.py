"""The one exporter lock: hook-started exporters, `traces flush` and `traces import` take turns.

One process at a time reads the spool and writes to the stores, so a turn is never uploaded by
two exporters at once. The lock file sits in the spool folder; only exporters import filelock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from claudetracing.capture import spool
from claudetracing.core import paths


def lock_path() -> Path:
    return spool.spool_dir() / "exporter.lock"


@contextmanager
def exporter_lock(wait: float = 0.0) -> Iterator[bool]:
    """Hold the lock for the block. Yields False, holding nothing, when another exporter kept
    it for `wait` seconds."""
    from filelock import FileLock, Timeout

    paths.ensure_private_dir(spool.spool_dir())
    lock = FileLock(str(lock_path()))
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
