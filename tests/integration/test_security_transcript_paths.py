"""Security, issue 16 section 5: one bad transcript path cannot stop tracing.

A hook payload names any path as its transcript, and the files found beside a transcript
(subagent files, their `meta.json`) are whatever is there. A FIFO or a device among them must
never block the exporter while it holds the exporter lock; an event whose export hangs must
not hold the lock for the whole run; and a run killed in the middle of an event must still
count the attempt, so the event reaches its give-up time instead of blocking every later run.

All through the real hook, the real detached exporter and `traces flush`/`status`/`import`,
with a real local MLflow store, and for the hang a real HTTP destination that never answers.
Every wait is bounded, so a regression fails instead of hanging."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from claudetracing.capture import spool
from claudetracing.core import config as config_mod
from claudetracing.core import paths
from claudetracing.core.errors import TranscriptError
from claudetracing.export.lock import exporter_lock
from claudetracing.transcript.records import read_transcript
from claudetracing.transcript.turns import read_session
from tests.conftest import new_repo
from tests.servers import Proxy
from tests.sessions import copy_recorded, recorded
from tests.tracing import fire_hook, stored_traces, traces

GUARD_S = 90  # longest any command may take here; today's main blocks for good instead
STILL = "still pending: "
# Ample for a healthy export on a busy machine (MLflow's import and a cold store included),
# far under the default (2m) a hang would otherwise hold the lock for.
ENTRY_TIMEOUT_S = 20


@pytest.fixture
def fifos() -> Iterator[list[Path]]:
    """FIFOs a test makes. Afterwards each is opened for writing once and closed, which ends
    any read still blocked on it (today's main), so no stuck exporter outlives the test."""
    made: list[Path] = []
    yield made
    for fifo in made:
        with contextlib.suppress(OSError):  # no reader left: nothing blocked on it
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def _mkfifo(path: Path, made: list[Path]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    made.append(path)
    return path


def _init_local(repo: Path) -> config_mod.Config:
    done = traces("init", "--local", "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr
    return config_mod.load(repo)


def _second_repo(tmp_path: Path) -> Path:
    return new_repo(tmp_path, "gadgets")


def _turns(name: str) -> int:
    """Turns of a recorded session, read from the pristine fixture (the copies may hold a
    FIFO that today's main would block on)."""
    return len(read_session(recorded(name).transcript).turns)


BAD_SOURCE = {"fifo subagent meta": "subagent", "fifo agent file": "tool_call"}


def _bad_session(kind: str, tmp_path: Path, made: list[Path]) -> Path:
    """A transcript path as a hook payload could give it, with a FIFO or device at `kind`."""
    folder = tmp_path / "projects" / kind.replace(" ", "-")
    if kind == "fifo transcript":
        return _mkfifo(folder / f"{uuid.uuid4()}.jsonl", made)
    if kind == "device transcript":
        return Path("/dev/zero")
    if kind == "fifo subagent meta":
        transcript = copy_recorded(BAD_SOURCE[kind], folder)
        (meta,) = (folder / transcript.stem / "subagents").glob("agent-*.meta.json")
        meta.unlink()
        _mkfifo(meta, made)
        return transcript
    assert kind == "fifo agent file"
    transcript = copy_recorded(BAD_SOURCE[kind], folder)
    _mkfifo(folder / transcript.stem / "subagents" / "agent-a0f1f0.jsonl", made)
    _mkfifo(folder / "agent-a0f1f1.jsonl", made)
    return transcript


UNREADABLE = {"fifo transcript": "a FIFO", "device transcript": "a character device"}


@pytest.mark.parametrize(
    "kind", ["fifo transcript", "device transcript", "fifo subagent meta", "fifo agent file"]
)
def test_a_fifo_or_device_never_blocks_a_flush_and_the_turns_behind_it_land(
    repo: Path, local_store: Path, tmp_path: Path, fifos: list[Path], kind: str
) -> None:
    cfg = _init_local(repo)
    bad = _bad_session(kind, tmp_path, fifos)
    good = copy_recorded("write_edit", tmp_path / "projects" / "good")
    assert fire_hook("Stop", bad, repo).returncode == 0
    assert fire_hook("SessionEnd", bad, repo).returncode == 0
    assert fire_hook("Stop", good, repo).returncode == 0  # spooled after the bad one

    started = time.monotonic()
    done = traces("flush", cwd=repo, timeout=GUARD_S)
    assert time.monotonic() - started < GUARD_S
    assert "Traceback" not in done.stderr and "another exporter" not in done.stderr
    landed = stored_traces(cfg.tracking_uri, cfg.experiment)
    good_turns = _turns("write_edit")

    if kind in UNREADABLE:
        # Set aside with its reason, retried until its give-up time, then moved to failed/.
        assert done.returncode == 1, done.stderr
        (line,) = [x for x in done.stderr.splitlines() if x.startswith(STILL)]
        assert f"transcript {bad} is {UNREADABLE[kind]}, not a regular file" in line, line
        assert "; fix: " in line
        assert len(landed) == good_turns
        assert spool.count(spool.PENDING) == 2
        env = {**os.environ, "CLAUDETRACING_GIVE_UP_UNREADABLE_AFTER": "0s"}
        again = traces("flush", cwd=repo, env=env, timeout=GUARD_S)
        assert again.returncode == 1 and "Traceback" not in again.stderr
        assert (spool.count(spool.PENDING), spool.count(spool.FAILED)) == (0, 2)
        for reason in (spool.spool_dir() / spool.FAILED).glob("*.reason"):
            text = reason.read_text(encoding="utf-8")
            assert "gave up after" in text and UNREADABLE[kind] in text and str(bad) in text
            assert len(text.strip().splitlines()) == 1
    else:
        # Only a file beside the transcript is no regular file: the session itself lands.
        assert done.returncode == 0, done.stderr
        assert len(landed) == good_turns + _turns(BAD_SOURCE[kind])
        assert spool.count(spool.PENDING) == 0


def test_the_detached_exporter_is_never_blocked_by_a_fifo(
    repo: Path, local_store: Path, tmp_path: Path, fifos: list[Path]
) -> None:
    """What the hook starts: it skips past a FIFO transcript and a FIFO beside one, lands the
    rest, and lets go of the lock."""
    cfg = _init_local(repo)
    sessions = [
        _bad_session("fifo transcript", tmp_path, fifos),
        _bad_session("fifo subagent meta", tmp_path, fifos),
        copy_recorded("tool_call", tmp_path / "projects" / "good"),
    ]
    for transcript in sessions:
        hooked = fire_hook("Stop", transcript, repo, spawn=True)
        assert (hooked.returncode, hooked.stdout, hooked.stderr) == (0, "", "")
    expected = _turns("subagent") + _turns("tool_call")

    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        if len(stored_traces(cfg.tracking_uri, cfg.experiment)) >= expected:
            break
        time.sleep(0.5)
    with exporter_lock(wait=max(1.0, deadline - time.monotonic())) as held:
        assert held, "an exporter still holds the lock"
    assert len(stored_traces(cfg.tracking_uri, cfg.experiment)) == expected
    (left,) = spool.entries()  # the FIFO's event, waiting with its reason
    entry = spool.load(left)
    assert entry.transcript == str(sessions[0])
    assert entry.attempts >= 1 and "is a FIFO, not a regular file" in (entry.last_error or "")


def test_status_and_import_are_never_blocked_by_a_fifo_among_the_sessions(
    repo: Path, local_store: Path, fifos: list[Path]
) -> None:
    """`traces status` and `traces import` read the sessions Claude Code keeps for this
    repository: a FIFO named like one is reported, never opened for a blocking read."""
    cfg = _init_local(repo)
    folder = paths.claude_projects_dir() / paths.project_key(repo.resolve())
    folder.mkdir(parents=True)
    source = recorded("tool_call").transcript
    (folder / source.name).write_bytes(source.read_bytes())
    fifo = _mkfifo(folder / f"{uuid.uuid4()}.jsonl", fifos)

    status = traces("status", "--offline", cwd=repo, timeout=GUARD_S)
    assert "Traceback" not in status.stdout + status.stderr

    done = traces("import", cwd=repo, timeout=GUARD_S)
    assert done.returncode == 1, done.stderr  # the FIFO is reported: not all went well
    (failed,) = [x for x in done.stderr.splitlines() if x.startswith("failed ")]
    assert str(fifo) in failed and "is a FIFO, not a regular file" in failed, failed
    assert len(stored_traces(cfg.tracking_uri, cfg.experiment)) == _turns("tool_call")


def test_a_fifo_swapped_in_after_the_check_never_blocks_the_reader(tmp_path: Path) -> None:
    """The path is checked, then opened: a FIFO put in its place between the two must not
    block the open. A thread swaps a transcript and a FIFO under one name as fast as it can
    while the reader reads it again and again."""
    path = tmp_path / "swapped.jsonl"
    body = b'{"type": "user", "uuid": "u1", "message": {"role": "user", "content": "hi"}}\n'
    path.write_bytes(body)
    kept = tmp_path / "fifos"  # every FIFO stays reachable, to release a blocked read
    kept.mkdir()
    stop = threading.Event()

    def swap() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            spare = tmp_path / f"spare-{n}"
            if n % 2:
                os.mkfifo(spare)
                os.link(spare, kept / spare.name)
            else:
                spare.write_bytes(body)
            os.replace(spare, path)

    outcomes = {"read": 0, "refused": 0}
    unexpected: list[str] = []

    def read() -> None:
        until = time.monotonic() + 3
        while time.monotonic() < until:
            try:
                read_transcript(path)
                outcomes["read"] += 1
            except TranscriptError as exc:
                if "is a FIFO, not a regular file" in str(exc):
                    outcomes["refused"] += 1
                else:
                    unexpected.append(str(exc))

    swapper = threading.Thread(target=swap, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    swapper.start()
    reader.start()
    reader.join(timeout=30)
    blocked = reader.is_alive()
    stop.set()
    swapper.join(timeout=10)
    while reader.is_alive():  # release a read blocked on a FIFO (today's main), then fail
        for fifo in kept.iterdir():
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as exc:
                assert exc.errno == errno.ENXIO, exc  # nobody reads this one
        reader.join(timeout=1)
    assert not blocked, "a read blocked on a FIFO swapped in after the check"
    assert not unexpected, unexpected[:3]
    assert outcomes["read"] and outcomes["refused"], outcomes  # both shapes were met


@pytest.fixture
def silent_destination() -> Iterator[Proxy]:
    """An HTTP tracking URI that accepts every request and never answers it."""
    with Proxy("http://127.0.0.1:9") as proxy:
        proxy.gate = threading.Event()
        yield proxy


def _init_silent(repo: Path, proxy: Proxy) -> None:
    done = traces(
        "init", "--tracking-uri", proxy.url, "--experiment", "silent", "--yes", "--no-verify",
        cwd=repo,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("drain", ["flush", "detached exporter"])
def test_an_export_that_hangs_is_cut_off_and_the_turns_behind_it_land(
    repo: Path,
    local_store: Path,
    tmp_path: Path,
    silent_destination: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    drain: str,
) -> None:
    """A destination that never answers holds one transcript for CLAUDETRACING_ENTRY_TIMEOUT,
    not for the run: the other repository's turn, spooled after it, lands at once."""
    _init_silent(repo, silent_destination)
    other = _second_repo(tmp_path)
    cfg = _init_local(other)
    stuck = copy_recorded("tool_call", tmp_path / "projects" / "stuck")
    good = copy_recorded("write_edit", tmp_path / "projects" / "good")
    monkeypatch.setenv("CLAUDETRACING_ENTRY_TIMEOUT", f"{ENTRY_TIMEOUT_S}s")
    spawn = drain == "detached exporter"
    assert fire_hook("Stop", stuck, repo, spawn=spawn).returncode == 0
    if spawn:  # the first exporter is in the middle of the stuck export
        _wait_for(lambda: bool(silent_destination.requests), "a request to the destination")
    assert fire_hook("Stop", good, other, spawn=spawn).returncode == 0

    if drain == "flush":
        done = traces("flush", cwd=other, timeout=GUARD_S)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        (line,) = [x for x in done.stderr.splitlines() if x.startswith(STILL)]
        assert line.startswith(
            f"{STILL}session {stuck.stem}: its export took longer than {ENTRY_TIMEOUT_S}s"
        )
        assert "CLAUDETRACING_ENTRY_TIMEOUT" in line
    else:
        expected = len(read_session(good).turns)
        _wait_for(
            lambda: len(stored_traces(cfg.tracking_uri, cfg.experiment)) >= expected,
            "the other repository's turn",
        )
        with exporter_lock(wait=GUARD_S) as held:
            assert held, "an exporter still holds the lock"
    assert len(stored_traces(cfg.tracking_uri, cfg.experiment)) == len(read_session(good).turns)
    (left,) = spool.entries()
    entry = spool.load(left)
    assert entry.transcript == str(stuck)
    assert entry.attempts == 1
    assert f"took longer than {ENTRY_TIMEOUT_S}s" in (entry.last_error or "")
    # Retried later: after the time it was given, and a backoff on top.
    assert entry.next_attempt_at >= entry.received_at + ENTRY_TIMEOUT_S + 5


def _wait_for(ready: object, what: str) -> None:
    assert callable(ready)
    deadline = time.monotonic() + GUARD_S
    while not ready():
        assert time.monotonic() < deadline, f"no {what} within {GUARD_S}s"
        time.sleep(0.2)


def _detached_exporters() -> list[int]:
    """The exporters the hook started for this test's data folder (found by their
    environment, so the exporters of other tests running beside this one are left alone)."""
    home = f"CLAUDETRACING_HOME={os.environ['CLAUDETRACING_HOME']}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"claudetracing.export.worker" in command and home in environ.split(b"\0"):
            found.append(int(proc.name))
    return found


def test_an_exporter_killed_mid_event_has_counted_the_attempt_and_give_up_is_reached(
    repo: Path, tmp_path: Path, silent_destination: Proxy
) -> None:
    """SIGKILL the detached exporter while it waits on a destination that never answers: the
    event already says one attempt was made and why it stopped, so once its give-up time has
    passed it moves to spool/failed/ instead of blocking every later exporter again."""
    _init_silent(repo, silent_destination)
    stuck = copy_recorded("tool_call", tmp_path / "projects" / "stuck")
    assert fire_hook("Stop", stuck, repo, spawn=True).returncode == 0
    _wait_for(lambda: bool(silent_destination.requests), "a request to the destination")
    (worker,) = _detached_exporters()
    os.kill(worker, signal.SIGKILL)
    _wait_for(lambda: worker not in _detached_exporters(), "end of the killed exporter")

    (path,) = spool.entries()
    entry = spool.load(path)
    assert entry.attempts == 1
    assert f"session {stuck.stem}: the exporter stopped while exporting it" in (
        entry.last_error or ""
    )

    time.sleep(1.1)  # older than the give-up time below
    env = {**os.environ, "CLAUDETRACING_GIVE_UP_AFTER": "1s"}
    done = traces("flush", cwd=repo, env=env, timeout=GUARD_S)
    assert done.returncode == 1, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("set aside: ")]
    assert "gave up after 1 attempt(s): session " in line and "exporter stopped" in line, line
    assert (spool.count(spool.PENDING), spool.count(spool.FAILED)) == (0, 1)
    reason = (spool.spool_dir() / spool.FAILED / path.with_suffix(".reason").name).read_text(
        encoding="utf-8"
    )
    assert len(reason.strip().splitlines()) == 1 and "fix: " in reason
