"""Run and time child processes; adopt and end the exporters that `traces hook` detaches."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PR_SET_CHILD_SUBREAPER = 36


class ChildFailed(RuntimeError):
    """A measured process exited non-zero: the figure would be meaningless."""


def become_subreaper() -> bool:
    """Orphans of our children (the hook's detached exporter) get re-parented to us.

    That is the only way to find, wait for or end an exporter started with a new session
    without matching processes by name.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def adopted_children() -> list[int]:
    """Processes whose parent is this process (after `become_subreaper`, orphans too)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry.name))
    return found


def wait_exit(pid: int, timeout: float) -> bool:
    """Reap an adopted child; False if it is still running at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def kill_adopted(pid: int) -> None:
    """End one adopted exporter and everything in its session (it leads its own group)."""
    for send in (os.killpg, os.kill):
        try:
            send(pid, signal.SIGKILL)
            break
        except (ProcessLookupError, PermissionError):
            continue
    wait_exit(pid, 10.0)


def timed(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stdin: bytes = b"",
    timeout: float = 600.0,
) -> float:
    """Wall time of one whole process, spawn to exit, as the caller of a hook sees it."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        input=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise ChildFailed(f"{argv[0]} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return elapsed


def run_json(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stdin: bytes = b"",
    timeout: float = 3600.0,
) -> tuple[dict[str, Any], float]:
    """Run a child script that prints one JSON object as its last stdout line."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise ChildFailed(
            f"{' '.join(argv[:3])} exited {proc.returncode}: {proc.stderr.decode()[-3000:]}"
        )
    lines = proc.stdout.decode().strip().splitlines()
    if not lines:
        raise ChildFailed(f"{' '.join(argv[:3])} printed nothing")
    result = json.loads(lines[-1])
    if not isinstance(result, dict):
        raise ChildFailed(f"{' '.join(argv[:3])} printed {lines[-1]!r}, not a JSON object")
    return result, elapsed
