"""`traces hook` is a courier: fast imports, durable private spool, exit 0, silent, always."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claudetracing.capture import spool
from tests.tracing import TRACES

HEAVY = (
    "mlflow",
    "databricks",
    "git",
    "typer",
    "click",
    "questionary",
    "rich",
    "filelock",
    "pydantic",
    "sqlalchemy",
    "requests",
    "opentelemetry",
    "genai_prices",
)
STOP = {
    "session_id": "s1",
    "transcript_path": "/tmp/s1.jsonl",
    "cwd": "/tmp",
    "hook_event_name": "Stop",
    "last_assistant_message": "done",
}


def _hook(stdin: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRACES, "hook"],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "CLAUDETRACING_NO_EXPORTER": "1", **env},
        timeout=30,
        check=False,
    )


def test_the_hook_path_imports_nothing_heavy() -> None:
    code = "import sys; sys.argv = ['traces', 'hook']; from claudetracing.entry import main; main()"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        input=json.dumps(STOP),
        capture_output=True,
        text=True,
        env={**os.environ, "CLAUDETRACING_NO_EXPORTER": "1"},
        timeout=30,
    )
    assert done.returncode == 0
    imported = {
        line.split("|")[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "claudetracing.capture.hook" in imported  # the probe saw our modules at all
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_a_stop_event_is_spooled_privately_and_durably() -> None:
    done = _hook(json.dumps(STOP), CLAUDETRACING_EXPERIMENT="team/x", UNRELATED_SECRET="nope")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    (path,) = spool.entries()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    entry = spool.load(path)
    assert entry.payload == STOP
    assert entry.env["CLAUDETRACING_EXPERIMENT"] == "team/x"
    assert "UNRELATED_SECRET" not in entry.env  # only our own settings travel with the event


@pytest.mark.parametrize("stdin", ["", "not json", "[1, 2]", '{"hook_event_name": "Stop"'])
def test_bad_input_is_logged_never_shown_and_exits_zero(stdin: str) -> None:
    done = _hook(stdin)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert spool.count(spool.PENDING) == 0


def test_events_we_do_not_need_are_ignored() -> None:
    done = _hook(json.dumps({**STOP, "hook_event_name": "PreToolUse"}))
    assert done.returncode == 0 and spool.count(spool.PENDING) == 0


def test_an_unwritable_data_folder_does_not_harm_the_session(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    done = _hook(json.dumps(STOP), CLAUDETRACING_HOME=str(blocked / "sub"), TMPDIR=str(tmp_path))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    # The failure is recorded where status looks for it: the temporary folder, privately.
    (record,) = tmp_path.glob("claudetracing-*-hook-failure.json")
    assert record.stat().st_mode & 0o777 == 0o600


def test_disabled_by_environment() -> None:
    done = _hook(json.dumps(STOP), CLAUDETRACING_DISABLED="1")
    assert done.returncode == 0 and spool.count(spool.PENDING) == 0


def test_the_hook_starts_a_detached_exporter(tmp_path: Path) -> None:
    """With no transcript to read, the exporter leaves the entry for retry and logs why."""
    done = subprocess.run(
        [TRACES, "hook"],
        input=json.dumps(STOP),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    log = Path(os.environ["CLAUDETRACING_HOME"]) / "logs" / "exporter.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "drain:" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    assert "transcript /tmp/s1.jsonl is gone" in log.read_text()
    (path,) = spool.entries()
    assert spool.load(path).attempts == 1
