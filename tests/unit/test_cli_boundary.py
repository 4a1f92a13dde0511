"""Every command ends through one boundary: exit 1 with a fix, 2 for usage, 3 with a report."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from claudetracing.cli import boundary
from claudetracing.core.errors import TracesError


def _exit_of(command: object, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        boundary.guarded(command)  # type: ignore[arg-type]
    return int(done.value.code or 0), capsys.readouterr().err


def test_an_expected_error_prints_its_message_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    def command() -> None:
        raise TracesError("the store is gone", "run `traces init`")

    code, err = _exit_of(command, capsys)
    assert code == 1
    assert err == "error: the store is gone\n  fix: run `traces init`\n"


def test_the_unexpected_is_one_line_and_a_private_report(
    capsys: pytest.CaptureFixture[str], isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["traces", "search", "--json"])
    monkeypatch.delenv(boundary.DEBUG, raising=False)

    def command() -> None:
        raise KeyError("no such column\nsecond line of detail")

    code, err = _exit_of(command, capsys)
    assert code == boundary.UNEXPECTED_EXIT
    assert len(err.strip().splitlines()) == 1
    assert "unexpected KeyError" in err and "Traceback" not in err
    report = Path(err.split("details in ")[1].split(" (set")[0])
    assert report.parent == Path(os.environ["CLAUDETRACING_HOME"]) / "logs"
    text = report.read_text(encoding="utf-8")
    assert "command: traces search --json" in text
    assert "Traceback (most recent call last)" in text and "second line of detail" in text
    assert "mlflow " in text and "claudetracing " in text and "python 3." in text
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE(report.parent.stat().st_mode) == 0o700


def test_debug_lets_the_unexpected_through(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(boundary.DEBUG, "1")

    def command() -> None:
        raise KeyError("raw")

    with pytest.raises(KeyError):
        boundary.guarded(command)


def test_usage_errors_exit_2_and_unknown_commands_too() -> None:
    traces = Path(sys.executable).with_name("traces")
    for args in (["search", "--no-such-option"], ["no-such-command"]):
        done = subprocess.run([str(traces), *args], capture_output=True, text=True, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
