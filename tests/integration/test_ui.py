"""`traces ui` in a real terminal: it serves the local store, and however it is stopped (Ctrl-C,
SIGTERM, the terminal closing) no process of the MLflow server survives it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pexpect
import pytest

from tests.servers import free_port
from tests.tracing import TRACES, traces


def _processes() -> dict[int, tuple[int, int, int, str]]:
    """Every live process: pid → (ppid, process group, session, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # the name may hold spaces
        if fields[0] in ("Z", "X"):
            continue  # ended; only its parent's reaping is left
        found[int(entry.name)] = (int(fields[1]), int(fields[2]), int(fields[3]), argv.strip())
    return found


def _descendants(root: int) -> dict[int, str]:
    table = _processes()
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _, _, argv) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = argv
                todo.append(pid)
    return found


def _survivors(pids: set[int], groups: set[int]) -> dict[int, str]:
    """Processes still running that were the server's, or are in its groups or sessions."""
    return {
        pid: argv
        for pid, (_, pgid, sid, argv) in _processes().items()
        if pid in pids or pgid in groups or sid in groups
    }


def _wait_healthy(port: int, child: pexpect.spawn) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                assert answer.status == 200
                return
        except OSError:
            assert child.isalive(), child.before
            assert time.monotonic() < deadline, "the MLflow UI did not start within 120 s"
            time.sleep(0.5)


def _stop(child: pexpect.spawn, how: str) -> None:
    if how == "ctrl-c":
        child.sendintr()  # the terminal's own ^C: SIGINT to its foreground group
    elif how == "sigterm":
        os.kill(child.pid, signal.SIGTERM)
    else:
        os.close(child.child_fd)  # the terminal goes away: the kernel hangs up (SIGHUP)


@pytest.fixture(scope="module")
def _demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo store for the module (building it takes seconds)."""
    home = tmp_path_factory.mktemp("ui-home")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "CLAUDETRACING_HOME": str(home / "ct")}
    done = traces("demo", cwd=home, env=env)
    assert done.returncode == 0, done.stderr
    return home


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "terminal-closed"])
def test_ui_serves_the_store_and_stopping_it_leaves_no_process(
    _demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("CLAUDETRACING_HOME", str(_demo_home / "ct"))
    port = free_port()
    child = pexpect.spawn(
        TRACES, ["ui", "--port", str(port)], cwd=str(tmp_path), env=dict(os.environ), timeout=30
    )
    server: dict[int, str] = {}
    groups = {child.pid}  # pexpect makes `traces ui` lead its own session
    try:
        _wait_healthy(port, child)
        query = "experiments/get-by-name?experiment_name=claude-code/demo"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/2.0/mlflow/{query}") as answer:
            assert json.load(answer)["experiment"]["name"] == "claude-code/demo"
        server = _descendants(child.pid)
        assert any("mlflow" in argv for argv in server.values()), server
        groups |= {_processes()[pid][1] for pid in server if pid in _processes()}
        _stop(child, how)
        deadline = time.monotonic() + 30
        while child.isalive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not child.isalive(), f"`traces ui` still runs 30 s after {how}"
        deadline = time.monotonic() + 5
        while _survivors(set(server), groups) and time.monotonic() < deadline:
            time.sleep(0.1)  # orphans that just ended wait to be reaped by init
    finally:
        left = _survivors(set(server) | {child.pid}, groups)
        for pid in left:  # never leave them to the next test, whatever happened above
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert left == {}, f"still running after {how}: {left}"
    if how != "terminal-closed":  # a stop the user asked for is no failure
        assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)
