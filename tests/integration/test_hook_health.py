"""The hook runs whatever Claude Code's PATH, never fails a turn, and `traces status` exits 1
naming the fix whenever turns cannot reach the spool: each failure class on the real executable."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from claudetracing.capture import spool
from claudetracing.core import paths
from tests.tracing import TRACES, settings_env, traces

OLD_COMMAND = "command -v traces >/dev/null 2>&1 && traces hook || true"
BARE_PATH = "/usr/bin:/bin"  # what a Claude Code started outside the venv may have


def _init(repo: Path) -> None:
    done = traces("init", "--local", "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr


def _commands(repo: Path) -> list[str]:
    hooks = json.loads((repo / ".claude/settings.json").read_text())["hooks"]
    return [h["command"] for groups in hooks.values() for g in groups for h in g["hooks"]]


def _installed_command(repo: Path) -> str:
    (command,) = {c for c in _commands(repo) if "traces hook" in c}
    return command


def _run_installed(
    repo: Path, payload: dict[str, object], limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The hook as Claude Code runs it: `sh -c COMMAND`, settings `env`, a PATH without us."""
    env = {
        "PATH": BARE_PATH,
        "HOME": os.environ["HOME"],
        "CLAUDETRACING_HOME": os.environ["CLAUDETRACING_HOME"],
        "CLAUDETRACING_NO_EXPORTER": "1",
        "CLAUDE_PROJECT_DIR": str(repo),
        **settings_env(repo),
    }
    if limit is not None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # a cut-off .pyc would break every later run

    def cap() -> None:  # a file-size limit: writes beyond it fail (EFBIG), like a full disk
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        ["/bin/sh", "-c", _installed_command(repo)],
        input=json.dumps(payload),
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        preexec_fn=cap,
    )


def _stop(repo: Path, session: str = "s1", message: str = "done") -> dict[str, object]:
    return {
        "session_id": session,
        "transcript_path": str(repo / f"{session}.jsonl"),
        "cwd": str(repo),
        "hook_event_name": "Stop",
        "last_assistant_message": message,
    }


def _status(repo: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = traces("status", "--json", cwd=repo)
    return done.returncode, json.loads(done.stdout)


def _problems(report: dict) -> str:  # type: ignore[type-arg]
    return "\n".join(f"{p['what']} | {p['fix']}" for p in report["problems"])


def test_the_installed_hook_spools_with_a_path_that_lacks_traces(
    repo: Path, local_store: Path
) -> None:
    _init(repo)
    assert not any(Path(d, "traces").exists() for d in BARE_PATH.split(":"))
    done = _run_installed(repo, _stop(repo))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    (entry,) = spool.entries()
    assert spool.load(entry).session_id == "s1"
    code, report = _status(repo)
    assert code == 0, _problems(report)
    assert report["hook_executable"] == TRACES and report["pending"] == 1


def test_init_rewrites_an_old_hook_in_place_and_disable_removes_every_form(
    repo: Path, local_store: Path
) -> None:
    settings = repo / ".claude/settings.json"
    settings.parent.mkdir()
    old = {
        "hooks": {
            "Stop": [
                {
                    "hooks": [
                        {"type": "command", "command": "./notify.sh"},
                        {"type": "command", "command": OLD_COMMAND, "timeout": 10},
                    ]
                }
            ]
        }
    }
    settings.write_text(json.dumps(old, indent=2) + "\n")
    code, report = _status(repo)
    assert code == 1 and "older command" in _problems(report)
    assert "traces init" in _problems(report)
    _init(repo)
    stop = json.loads(settings.read_text())["hooks"]["Stop"]
    assert len(stop) == 1 and stop[0]["hooks"][0]["command"] == "./notify.sh"
    assert OLD_COMMAND not in _commands(repo) and len(stop[0]["hooks"]) == 2
    assert _run_installed(repo, _stop(repo)).returncode == 0
    assert spool.count(spool.PENDING) == 1
    # A teammate's checkout still carrying the old form next to ours: disable takes both.
    data = json.loads(settings.read_text())
    data["hooks"]["SessionEnd"][0]["hooks"].append({"type": "command", "command": OLD_COMMAND})
    settings.write_text(json.dumps(data, indent=2) + "\n")
    assert traces("disable", cwd=repo).returncode == 0
    assert _commands(repo) == ["./notify.sh"]


def test_status_fails_when_the_hooks_executable_is_gone_and_init_repoints_it(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    _init(repo)
    personal = repo / ".claude/settings.local.json"
    moved = tmp_path / "old-venv" / "bin" / "traces"
    data = json.loads(personal.read_text())
    data["env"]["CLAUDETRACING_EXECUTABLE"] = str(moved)
    personal.write_text(json.dumps(data, indent=2) + "\n")
    code, report = _status(repo)
    assert code == 1
    assert f"{moved} does not exist" in _problems(report)
    done = _run_installed(repo, _stop(repo))  # with nothing to run: silent, exit 0
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    _init(repo)
    assert json.loads(personal.read_text())["env"]["CLAUDETRACING_EXECUTABLE"] == TRACES
    code, report = _status(repo)
    assert code == 0, _problems(report)


def _ended_session(repo: Path, session: str, ended_at: float) -> Path:
    """A transcript under Claude Code's projects folder whose one turn ended at `ended_at`."""
    folder = paths.claude_projects_dir() / paths.project_key(repo.resolve())
    folder.mkdir(parents=True, exist_ok=True)

    def at(moment: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(moment))

    records = [
        {
            "type": "user",
            "uuid": "u1",
            "sessionId": session,
            "cwd": str(repo),
            "timestamp": at(ended_at - 5),
            "message": {"role": "user", "content": "hi"},
        },
        {
            "type": "assistant",
            "uuid": "a1",
            "parentUuid": "u1",
            "sessionId": session,
            "cwd": str(repo),
            "timestamp": at(ended_at),
            "message": {
                "id": "msg_1",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "stop_reason": "end_turn",
                "content": [{"type": "text", "text": "hello"}],
                "usage": {"input_tokens": 3, "output_tokens": 2},
            },
        },
    ]
    path = folder / f"{session}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_status_fails_when_turns_ended_without_reaching_the_spool(
    repo: Path, local_store: Path
) -> None:
    _init(repo)
    installed = time.time() - 3600
    os.utime(repo / ".claude/settings.json", (installed, installed))
    _ended_session(repo, "before-install", installed - 600)  # history: `traces import`'s
    missed = _ended_session(repo, "missed", time.time() - 600)
    _ended_session(repo, "just-now", time.time() - 5)  # its hook may still be at work
    _ended_session(repo, "exported", time.time() - 900)
    ledger = paths.data_dir() / "state" / "some-destination" / "exported.json"
    ledger.parent.mkdir(parents=True)
    ledger.write_text('{"exported": {}, "offset": 0}')  # written after its turn ended
    code, report = _status(repo)
    assert code == 1 and report["unspooled"] == 1
    assert "missed" in _problems(report) and "traces import" in _problems(report)
    # Once its event is in the spool, the session is known.
    payload = {**_stop(repo, "missed"), "transcript_path": str(missed)}
    assert _run_installed(repo, payload).returncode == 0
    code, report = _status(repo)
    assert code == 0 and report["unspooled"] == 0, _problems(report)


@contextlib.contextmanager
def _mounted(target: Path, options: str) -> Iterator[None]:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


@contextlib.contextmanager
def _unwritable(folder: Path) -> Iterator[None]:
    """The spool folder made unwritable: read-only for root (permissions do not stop it),
    mode 0500 for anyone else."""
    if os.geteuid() == 0:
        with _mounted(folder, "ro,size=64k"):
            yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o500)
    try:
        yield
    finally:
        folder.chmod(0o700)


def test_an_unwritable_spool_exits_0_silently_and_status_names_it(
    repo: Path, local_store: Path
) -> None:
    _init(repo)
    with _unwritable(spool.spool_dir()):
        done = _run_installed(repo, _stop(repo))
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        direct = subprocess.run(
            [TRACES, "hook"],
            input=json.dumps(_stop(repo)),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (direct.returncode, direct.stdout, direct.stderr) == (0, "", "")
        code, report = _status(repo)
    assert code == 1 and not report["spool_writable"]
    problems = _problems(report)
    assert "turns cannot be spooled" in problems and "could not spool an event" in problems
    assert "session s1" in problems and str(paths.data_dir()) in problems


def test_a_full_disk_is_recorded_by_the_hook_and_reported_until_an_event_spools(
    repo: Path, local_store: Path
) -> None:
    """The write of the event fails for lack of room (a file-size limit on the hook's process:
    EFBIG, which needs no privilege); the hook's small failure record still fits."""
    _init(repo)
    big = _stop(repo, "s-full", message="x" * 8000)
    done = _run_installed(repo, big, limit=2048)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert spool.count(spool.PENDING) == 0
    code, report = _status(repo)
    assert code == 1
    assert "could not spool an event of session s-full" in _problems(report)
    assert "free disk space" in _problems(report)
    assert "s-full" in (report["last_error"] or "")
    # The spool works again: the next event clears the record, status is green again.
    assert _run_installed(repo, _stop(repo)).returncode == 0
    code, report = _status(repo)
    assert code == 0, _problems(report)


def test_a_really_full_spool_disk_is_reported_by_status(repo: Path, local_store: Path) -> None:
    """ENOSPC from a real file system: a tiny tmpfs, filled (root only can mount one; anyone
    else gets the same answer from the file-size limit test above)."""
    _init(repo)
    folder = spool.spool_dir()
    if os.geteuid() != 0:
        # Without root, no small file system can be mounted: the same check as a limit.
        done = _run_installed(repo, _stop(repo, message="x" * 8000), limit=2048)
        assert done.returncode == 0
        code, report = _status(repo)
        assert code == 1 and "free disk space" in _problems(report)
        return
    with _mounted(folder, "size=64k"):
        filler = folder / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
        done = _run_installed(repo, _stop(repo, message="x" * 8000))
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        code, report = _status(repo)
    assert code == 1 and not report["spool_writable"]
    assert "No space left on device" in _problems(report)
    assert "free disk space" in _problems(report)


def test_an_unreachable_store_is_a_problem_for_this_repository(repo: Path) -> None:
    done = traces("init", "--tracking-uri", "http://127.0.0.1:9", "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr
    code, report = _status(repo)
    assert code == 1 and report["store_reachable"] is False
    assert "store not reachable" in _problems(report)
    plain = traces("status", cwd=repo)
    assert "NOT REACHABLE" in plain.stdout and "tracing works" not in plain.stdout


def test_a_data_folder_that_cannot_exist_leaves_the_record_in_the_temporary_folder(
    repo: Path, tmp_path: Path
) -> None:
    """Nothing can be written under the data folder (a file stands where it should be): the
    hook still exits 0 silently, its record lands in the temporary folder, status finds it."""
    _init(repo)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = {**os.environ, "CLAUDETRACING_HOME": str(blocker / "data"), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [TRACES, "hook"],
        input=json.dumps(_stop(repo, "s-nodir")),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    (record,) = tmp_path.glob("claudetracing-*hook-failure.json")
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    status = traces("status", "--json", "--offline", cwd=repo, env=env)
    assert status.returncode == 1, status.stderr
    problems = _problems(json.loads(status.stdout))
    assert "turns cannot be spooled" in problems and "session s-nodir" in problems
