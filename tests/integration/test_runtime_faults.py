"""The runtime against a real MLflow server behind a proxy we can take down, slow, or use to
kill the exporter mid-upload: every turn lands exactly once, and nothing fails silently."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from claudetracing.capture import spool
from claudetracing.setup.sample_sessions import write_synthetic_session
from claudetracing.trace.builder import TURN_KEY_TAG
from claudetracing.transcript.turns import read_session
from tests.servers import MlflowServer, Proxy
from tests.sessions import copy_recorded
from tests.tracing import (
    fire_hook,
    run_exporter,
    settings_env,
    stored_traces,
    traces,
    wait_for_exporter,
)

pytestmark = pytest.mark.server


def _init(repo: Path, url: str) -> str:
    experiment = f"faults-{uuid.uuid4().hex[:8]}"
    done = traces(
        "init", "--tracking-uri", url, "--experiment", experiment, "--yes", "--no-verify", cwd=repo
    )
    assert done.returncode == 0, done.stderr
    return experiment


def _sessions(tmp_path: Path, *names: str) -> list[Path]:
    return [copy_recorded(name, tmp_path / "projects" / name) for name in names]


def _keys(found: list) -> Counter[str]:  # type: ignore[type-arg]
    return Counter(t.info.tags[TURN_KEY_TAG] for t in found)


def _status(repo: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = traces("status", "--json", cwd=repo, env={**os.environ, **settings_env(repo)})
    return done.returncode, json.loads(done.stdout)


def test_server_down_for_several_turns_then_back(
    repo: Path, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    with Proxy(mlflow_server.url) as proxy:
        experiment = _init(repo, proxy.url)
        proxy.down = True
        transcripts = _sessions(tmp_path, "resume", "tool_call", "subagent")
        for path in transcripts:
            assert fire_hook("Stop", path, repo).returncode == 0
            assert run_exporter().returncode == 0  # the exporter never dies of a failure
        code, status = _status(repo)
        assert code == 1 and not status["ok"]
        assert status["pending"] == len(transcripts)
        assert "503" in (status["last_error"] or "") or proxy.url in status["last_error"]
        proxy.down = False
        flushed = traces("flush", cwd=repo)
        assert flushed.returncode == 0, flushed.stderr
        expected = sum(len(read_session(p).turns) for p in transcripts)
        found = stored_traces(mlflow_server.url, experiment)
        assert len(found) == expected == 4
        assert set(_keys(found).values()) == {1}
        code, status = _status(repo)
        assert code == 0, status["problems"]
        assert status["pending"] == 0


def test_exporter_killed_mid_upload_still_yields_exactly_one_trace(
    repo: Path, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    with Proxy(mlflow_server.url) as proxy:
        experiment = _init(repo, proxy.url)
        (path,) = _sessions(tmp_path, "subagent")
        assert fire_hook("Stop", path, repo).returncode == 0
        env = {**os.environ, **settings_env(repo)}
        exporter = subprocess.Popen([sys.executable, "-m", "claudetracing.export.worker"], env=env)

        def kill_midway(method: str, path_: str) -> None:
            # The spans have been stored (POST /v1/traces); the trace itself is not yet.
            if method == "POST" and path_ == "/api/3.0/mlflow/traces":
                os.kill(exporter.pid, signal.SIGKILL)
                raise ConnectionAbortedError("exporter killed")

        proxy.on_request = kill_midway
        exporter.wait(timeout=120)
        proxy.on_request = None
        assert exporter.returncode == -signal.SIGKILL
        assert spool.count(spool.PENDING) == 1  # the entry waits for a retry
        flushed = traces("flush", cwd=repo)
        assert flushed.returncode == 0, flushed.stderr
        found = stored_traces(mlflow_server.url, experiment)
        (turn,) = read_session(path).turns
        assert _keys(found) == {turn.key: 1}
        assert len(found) == 1, "a partial upload was left behind"
        assert len(found[0].data.spans) == 8


def test_eight_sessions_at_once_each_turn_exactly_once(
    repo: Path, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    experiment = _init(repo, mlflow_server.url)
    folder = tmp_path / "projects" / "many"
    paths = [
        write_synthetic_session(
            folder / f"{uuid.uuid4()}.jsonl",
            turns=3,
            tools_per_turn=2,
            output_chars=500,
            subagent_every=2,
        )
        for _ in range(8)
    ]
    # Every session's Stop and SessionEnd hooks fire together; each starts its own exporter.
    events = [(event, path) for path in paths for event in ("Stop", "SessionEnd")]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda e: fire_hook(e[0], e[1], repo, spawn=True), events))
    assert all(r.returncode == 0 and r.stdout == "" for r in results)
    wait_for_exporter(timeout=240)
    found = stored_traces(mlflow_server.url, experiment)
    keys = _keys(found)
    assert len(keys) == 8 * 3
    assert set(keys.values()) == {1}


def test_corrupt_spool_entry_is_set_aside_and_the_rest_export(
    repo: Path, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    experiment = _init(repo, mlflow_server.url)
    (path,) = _sessions(tmp_path, "tool_call")
    assert fire_hook("Stop", path, repo).returncode == 0
    pending = spool.spool_dir() / spool.PENDING
    (pending / "0000-broken.json").write_text('{"payload": ', encoding="utf-8")
    assert run_exporter().returncode == 0
    assert len(stored_traces(mlflow_server.url, experiment)) == 1
    corrupt = spool.spool_dir() / spool.CORRUPT
    assert (corrupt / "0000-broken.json").exists()
    assert "unreadable spool entry" in (corrupt / "0000-broken.reason").read_text()
    code, status = _status(repo)
    assert code == 1 and status["corrupt"] == 1


def test_turns_that_keep_failing_move_to_failed_not_deleted(repo: Path, tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    _init(repo, dead)
    (path,) = _sessions(tmp_path, "tool_call")
    assert fire_hook("Stop", path, repo).returncode == 0
    assert run_exporter().returncode == 0
    (entry,) = spool.entries()
    body = json.loads(entry.read_text())
    assert body["attempts"] == 1 and body["last_error"]
    assert body["next_attempt_at"] > body["received_at"]  # backoff, not a busy loop
    assert run_exporter({"CLAUDETRACING_GIVE_UP_AFTER": "0s"}).returncode == 0
    assert spool.count(spool.PENDING) == 0
    assert spool.count(spool.FAILED) == 1
    code, status = _status(repo)
    assert code == 1 and status["failed"] == 1
    assert any("gave up" in p["what"] or "failures" in p["what"] for p in status["problems"])
