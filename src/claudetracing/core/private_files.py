"""What we keep is its owner's only: an install others can read is tightened, and a store that
others can read or replace is named with its fix.

Our processes run under a private umask (`paths.private_umask`), so what they create is private
already; this module deals with what was created before (an earlier version, a tool run under a
looser umask) and with stores we do not own (a `sqlite:///` path the user chose)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# What sqlite creates beside a database: its journal, write-ahead log and shared memory.
SQLITE_SIDECARS = ("-journal", "-wal", "-shm")


def _owned(info: os.stat_result) -> bool:
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def _private_mode(info: os.stat_result) -> int | None:
    """The mode this folder or file should have, or None when it has it (or is none of ours to
    change: a link, a FIFO, another user's file)."""
    mode = stat.S_IMODE(info.st_mode)
    if not _owned(info):
        return None
    if stat.S_ISDIR(info.st_mode):
        return 0o700 if mode != 0o700 else None
    if stat.S_ISREG(info.st_mode):
        return mode & 0o700 if mode & 0o077 else None  # its owner's bits kept (0755 → 0700)
    return None


def loose(root: Path) -> Iterator[tuple[Path, int]]:
    """Each folder (`root` included) and file under `root` that others may read, list or
    change, with the mode it should have. Links are neither followed nor changed. (One `stat`
    per entry, and nothing else: every export run walks the whole data folder.)"""
    try:
        info = os.stat(root)  # the data folder itself may be a link the user made
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode):
        return
    wanted = _private_mode(info)
    if wanted is not None:
        yield root, wanted
    folders = [str(root)]
    while folders:
        try:
            with os.scandir(folders.pop()) as found:
                entries = list(found)
        except OSError:
            continue  # gone meanwhile, or not ours to list
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                folders.append(entry.path)
            wanted = _private_mode(info)
            if wanted is not None:
                yield Path(entry.path), wanted


def tighten(root: Path) -> int:
    """Make `root` and everything of ours under it private; how many were changed. What cannot
    be changed now (a read-only disk) is left for the next run, which tries again."""
    changed = 0
    for path, mode in loose(root):  # a folder is made ours before it is listed
        try:
            os.chmod(path, mode)
        except OSError:
            continue
        changed += 1
    return changed


@dataclass
class Exposure:
    what: str
    fix: str


def _mode_of(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def data_folder_exposure(data: Path) -> Exposure | None:
    """Our data folder (spool, logs, the local store) when any part of it is not private."""
    found = [path for path, _ in loose(data)]
    if not found:
        return None
    shown = ", ".join(f"{p} ({oct(_mode_of(p) or 0)[2:]})" for p in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return Exposure(
        f"the data folder {data} is not private: other users can read or list {shown}{more} "
        "(it holds every prompt and answer that waits for export or was logged)",
        f"run `traces flush` (each export makes our files private again), or "
        f"`chmod -R go-rwx {data}`",
    )


def sqlite_store_exposure(database: Path, *, ours: bool) -> list[Exposure]:
    """A SQLite store others can read or change (the database or what sqlite keeps beside it),
    and, for a store the user chose, a folder of it others can write to (where the store could
    be swapped). Ours (the local store) is tightened by the next export; the user's is theirs."""
    found: list[Exposure] = []
    files = [database, *(database.with_name(database.name + s) for s in SQLITE_SIDECARS)]
    shared = [(p, m) for p in files if (m := _mode_of(p)) is not None and m & 0o077]
    if shared:
        chmod = f"`chmod 600 {' '.join(str(p) for p, _ in shared)}`"
        modes = ", ".join(f"{p.name} {oct(m)[2:]}" for p, m in shared)
        found.append(
            Exposure(
                f"the MLflow store {database} is not private ({modes}): other users can read "
                "every prompt, answer and tool output traced into it",
                f"run `traces flush` (each export makes our files private again), or {chmod}"
                if ours
                else chmod,
            )
        )
    folder = database.parent
    mode = _mode_of(folder)
    if not ours and mode is not None and mode & 0o022 and not mode & stat.S_ISVTX:
        found.append(
            Exposure(
                f"the folder {folder} of the MLflow store {database} can be written by other "
                f"users ({oct(mode)[2:]}): they could replace or remove the store",
                f"`chmod go-w {folder}`, or keep the store in a folder only you can write to",
            )
        )
    return found
