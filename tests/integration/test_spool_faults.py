"""Faults of the spool and the exporter that must cost no turn and hide nothing: an entry that
is no entry, a transcript that can never be read, a lock that is not a file, and the one line
each failure gets, all through the real `traces` commands and a real local MLflow store."""

from __future__ import annotations

import copy
import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from claudetracing.capture import spool
from claudetracing.core import config as config_mod
from claudetracing.transcript.turns import read_session
from tests.sessions import copy_recorded
from tests.tracing import fire_hook, run_exporter, settings_env, stored_traces, traces

# Every field the hook writes, with values of a type it never writes there. A null is a wrong
# type too, except where the entry says "none" with it (last_error, held, the answer's text).
WRONG: dict[tuple[str, ...], list[Any]] = {
    ("payload",): [None, [], "text", 3],
    ("env",): [None, [], "text"],
    ("received_at",): [None, "yesterday", [], True, "NaN"],
    ("attempts",): [None, "2", 1.5, -1],
    ("next_attempt_at",): [None, "soon", {}],
    ("last_error",): [3, [], {}],
    ("held",): [3, [], True],
    ("payload", "hook_event_name"): [None, 3, ["Stop"]],
    ("payload", "transcript_path"): [None, 3, [], ""],
    ("payload", "session_id"): [None, 3, ["s"]],
    ("payload", "cwd"): [None, 3, ["/"]],
    ("payload", "last_assistant_message"): [3, ["done"], {}],
    ("env", "CLAUDE_PROJECT_DIR"): [None, 3, ["/"]],
    ("env", "CLAUDETRACING_EXPERIMENT"): [None, ["x"]],
}


def _mutations(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for where, values in WRONG.items():
        for value in values:
            body = copy.deepcopy(template)
            parent = body
            for name in where[:-1]:
                parent = parent[name]
            if value == "NaN":
                value = float("nan")
            parent[where[-1]] = value
            found.append((f"{'.'.join(where)}={json.dumps(value)}", body))
    return found


def _sessions(tmp_path: Path, *names: str) -> list[Path]:
    return [copy_recorded(name, tmp_path / "projects" / name) for name in names]


def _status(repo: Path) -> dict[str, Any]:
    done = traces("status", "--json", "--offline", cwd=repo, env={**os.environ})
    body: dict[str, Any] = json.loads(done.stdout)
    return body


def _init_local(repo: Path) -> config_mod.Config:
    done = traces("init", "--local", "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr
    return config_mod.load(repo)


@pytest.mark.parametrize("drain", ["flush", "detached exporter"])
def test_malformed_entries_are_set_aside_and_the_good_turns_behind_them_land(
    repo: Path, local_store: Path, tmp_path: Path, drain: str
) -> None:
    cfg = _init_local(repo)
    first, second = _sessions(tmp_path, "tool_call", "subagent")
    assert fire_hook("Stop", first, repo).returncode == 0
    (good,) = spool.entries()
    template = json.loads(good.read_text(encoding="utf-8"))
    pending = spool.spool_dir() / spool.PENDING
    bad = _mutations(template)
    # Named to sort before the good entries: each is met first, with the same transcript.
    for n, (_, body) in enumerate(bad):
        (pending / f"0000-{n:03d}.json").write_text(json.dumps(body), encoding="utf-8")
    (pending / "0001-folder.json").mkdir()
    (pending / "0001-folder.json" / "inside").write_text("{}", encoding="utf-8")
    os.mkfifo(pending / "0002-fifo.json")
    (pending / "0003-link.json").symlink_to(good)
    others = 3
    assert fire_hook("Stop", second, repo).returncode == 0
    assert fire_hook("SessionEnd", second, repo).returncode == 0

    if drain == "flush":
        done = traces("flush", cwd=repo, timeout=300)
        assert done.returncode == 1, done.stderr  # entries were set aside: said, not hidden
        assert "Traceback" not in done.stderr
        set_aside = [line for line in done.stderr.splitlines() if line.startswith("set aside")]
        assert len(set_aside) == len(bad) + others, done.stderr
    else:
        assert run_exporter({**settings_env(repo)}).returncode == 0

    landed = stored_traces(cfg.tracking_uri, cfg.experiment)
    expected = len(read_session(first).turns) + len(read_session(second).turns)
    assert len(landed) == expected == 2
    assert spool.count(spool.PENDING) == 0
    corrupt = spool.spool_dir() / spool.CORRUPT
    for n, (what, _) in enumerate(bad):
        reason = (corrupt / f"0000-{n:03d}.reason").read_text(encoding="utf-8")
        field = what.split("=")[0].split(".")[-1]
        assert "unreadable spool entry" in reason and field in reason, (what, reason)
        assert len(reason.strip().splitlines()) == 1
        assert (corrupt / f"0000-{n:03d}.reason").stat().st_mode & 0o777 == 0o600
    assert (corrupt / "0001-folder.json" / "inside").exists()  # kept, never deleted
    assert "a folder" in (corrupt / "0001-folder.reason").read_text(encoding="utf-8")
    assert "not a regular file" in (corrupt / "0002-fifo.reason").read_text(encoding="utf-8")
    assert "symbolic link" in (corrupt / "0003-link.reason").read_text(encoding="utf-8")
    status = _status(repo)
    assert status["corrupt"] == len(bad) + others
    assert status["pending"] == 0


def test_an_entry_set_aside_twice_under_one_name_keeps_both(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    _init_local(repo)
    pending = spool.spool_dir() / spool.PENDING
    for _ in range(2):
        pending.mkdir(parents=True, exist_ok=True)
        (pending / "0000-same.json").write_text('{"payload": null}', encoding="utf-8")
        done = traces("flush", cwd=repo)
        assert done.returncode == 1 and "Traceback" not in done.stderr
    assert _status(repo)["corrupt"] == 2


def _unreadable(kind: str, tmp_path: Path) -> Path:
    target = tmp_path / "projects" / "broken" / f"{uuid.uuid4()}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        target.mkdir()
    elif kind == "symlink loop":
        target.symlink_to(target)
    return target  # "gone": never written


@pytest.mark.parametrize("kind", ["folder", "symlink loop", "gone"])
def test_a_transcript_that_can_never_be_read_fails_after_its_give_up_time(
    repo: Path, local_store: Path, tmp_path: Path, kind: str
) -> None:
    cfg = _init_local(repo)
    broken = _unreadable(kind, tmp_path)
    (good,) = _sessions(tmp_path, "tool_call")
    assert fire_hook("Stop", broken, repo).returncode == 0
    assert fire_hook("SessionEnd", broken, repo).returncode == 0
    assert fire_hook("Stop", good, repo).returncode == 0
    env = {**os.environ, "CLAUDETRACING_GIVE_UP_UNREADABLE_AFTER": "3s"}

    first = traces("flush", cwd=repo, env=env)
    assert first.returncode == 1
    assert len(stored_traces(cfg.tracking_uri, cfg.experiment)) == 1  # the good one went on
    waiting = [line for line in first.stderr.splitlines() if line.startswith("still pending")]
    assert len(waiting) == 1, first.stderr  # one line for the session's two events
    assert broken.stem in waiting[0] and str(broken) in waiting[0] and "fix:" in waiting[0]
    assert _status(repo)["pending"] == 2 and _status(repo)["failed"] == 0

    time.sleep(3.5)
    second = traces("flush", cwd=repo, env=env)
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    status = _status(repo)
    assert (status["pending"], status["failed"]) == (0, 2)
    assert str(broken) in (status["last_error"] or "")
    failed = spool.spool_dir() / spool.FAILED
    for reason in failed.glob("*.reason"):
        text = reason.read_text(encoding="utf-8")
        assert re.search(r"gave up after \d attempt\(s\): session ", text), text
        assert broken.stem in text and str(broken) in text
        assert len(text.strip().splitlines()) == 1


def test_a_backend_that_is_down_keeps_being_retried_after_the_unreadable_give_up(
    repo: Path, tmp_path: Path
) -> None:
    """Only a transcript that can never be read fails early: an outage is waited out."""
    done = traces(
        "init", "--tracking-uri", "http://127.0.0.1:9", "--experiment", "down", "--yes",
        "--no-verify", cwd=repo,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (good,) = _sessions(tmp_path, "tool_call")
    assert fire_hook("Stop", good, repo).returncode == 0
    env = {**os.environ, "CLAUDETRACING_GIVE_UP_UNREADABLE_AFTER": "0s"}
    for _ in range(2):
        flushed = traces("flush", cwd=repo, env=env)
        assert flushed.returncode == 1
    (line,) = [x for x in flushed.stderr.splitlines() if x.startswith("still pending")]
    assert line == (
        f"still pending: session {good.stem}: cannot reach the tracking backend "
        "http://127.0.0.1:9: connection refused; fix: check the server or login, then run "
        "`traces flush`"
    )
    assert "Max retries" not in flushed.stderr and "HTTPConnectionPool" not in flushed.stderr
    assert flushed.stderr.count("fix:") == 1
    assert (spool.count(spool.PENDING), spool.count(spool.FAILED)) == (1, 0)


def _not_a_file(kind: str, path: Path) -> None:
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(path.parent / "nowhere" / "exporter.lock")


@pytest.mark.parametrize("kind", ["folder", "fifo", "dangling symlink"])
def test_a_lock_that_is_not_a_file_is_one_clear_error(
    repo: Path, local_store: Path, tmp_path: Path, kind: str
) -> None:
    _init_local(repo)
    (good,) = _sessions(tmp_path, "tool_call")
    lock = spool.spool_dir() / "exporter.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    _not_a_file(kind, lock)
    hooked = fire_hook("Stop", good, repo)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (0, "", "")
    assert run_exporter().returncode == 0  # what the hook starts: it logs, never crashes

    done = traces("flush", cwd=repo)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "IsADirectoryError" not in done.stderr
    error, fix = done.stderr.strip().splitlines()
    assert error.startswith("error: the exporter lock") and str(lock) in error
    assert fix.startswith("  fix: remove it") and str(lock) in fix
    status = _status(repo)
    assert str(lock) in (status["last_error"] or "")  # the detached exporter said it too

    os.unlink(lock) if kind != "folder" else lock.rmdir()
    again = traces("flush", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert spool.count(spool.PENDING) == 0
