"""`traces ui`: the MLflow server on the local store, run as one process group and stopped whole.

`mlflow server` starts uvicorn (or gunicorn), which starts its workers, a multiprocessing resource
tracker and a job runner: a dozen processes and gigabytes. Ending only the process we started
leaves the rest running. So the server leads a process group of its own, and whatever stops
`traces ui` (Ctrl-C, SIGTERM, the terminal closing) ends that whole group and every process
descended from it, gently first, then for good.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from claudetracing.core import paths, private_files

# Ctrl-C, `kill`, the terminal closing (Windows has no SIGHUP).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
GRACE_S = 5.0  # how long the server's processes get to finish their requests before SIGKILL
_PROC = Path("/proc")


class _Stop(Exception):
    """A stop signal arrived while waiting for the server."""


def command(host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        paths.local_tracking_uri(),
        "--default-artifact-root",
        paths.local_artifact_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def serve(host: str, port: int, workers: int = 1) -> int:
    """Run the server until it exits (its exit code) or a stop signal arrives (0: stopping is
    how a user ends it). No process of the server outlives this call."""
    paths.ensure_private_dir(paths.local_store_dir())
    private_files.tighten(paths.data_dir())  # the server writes there: ours only, as we do
    stopped: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stopped:  # the first one stops the server; later ones must not cut the cleanup
            stopped.append(signum)
            raise _Stop

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    process: subprocess.Popen[bytes] | None = None
    try:
        process = subprocess.Popen(command(host, port, workers), start_new_session=True)
        code = process.wait()
    except _Stop:
        code = 0  # asked to stop: nothing to report (after SIGHUP no terminal to report to)
    finally:
        if process is not None:
            stop_group(process)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return code


def stop_group(process: subprocess.Popen[bytes], grace: float = GRACE_S) -> None:
    """End the process group `process` leads and every descendant of it: SIGTERM, then SIGKILL
    for whatever still runs after `grace` seconds."""
    group = process.pid  # start_new_session: the server leads its own group
    family = _descendants(process.pid) | {process.pid}
    for signum in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        family |= _descendants(process.pid) | _members(group)
        _send(group, family, signum)
        deadline = time.monotonic() + (grace if signum == signal.SIGTERM else 10.0)
        while time.monotonic() < deadline:
            process.poll()  # reap our own child; its orphans go to init, which reaps them
            family = {pid for pid in family if _alive(pid)} | _members(group)
            if not family:
                break
            time.sleep(0.05)
        if not family:
            break
    process.poll()


def _send(group: int, pids: set[int], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, AttributeError):
        os.killpg(group, signum)  # no process groups on Windows: the pids below only
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, ..."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    if fields is None:
        return not _PROC.is_dir() and _signalable(pid)
    return fields[0] not in ("Z", "X")  # a zombie has ended; its parent reaps it


def _signalable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _table() -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    try:
        entries = list(_PROC.iterdir())
    except OSError:
        return found  # no /proc (macOS): the process group is all we can reach
    for entry in entries:
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and fields[0] not in ("Z", "X"):
                found[int(entry.name)] = fields
    return found


def _members(group: int) -> set[int]:
    return {pid for pid, fields in _table().items() if int(fields[2]) == group}


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, fields in _table().items():
        children.setdefault(int(fields[1]), []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
