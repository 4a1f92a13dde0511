"""The exporter's loop: one try per entry per run, however slow the failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claudetracing import runtime, spool
from tests.sessions import recorded


def test_a_drain_tries_each_entry_once_even_when_failing_outlasts_the_backoff(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(runtime, "BACKOFF_BASE_S", 0.0)  # every failure is due again at once
    env = {"CLAUDETRACING_TRACKING_URI": "http://127.0.0.1:9", "CLAUDETRACING_EXPERIMENT": "x"}
    for name in ("tool_call", "subagent"):
        payload = {"hook_event_name": "Stop", "session_id": name, "cwd": str(tmp_path),
                   "transcript_path": str(recorded(name).transcript)}
        spool.append(payload, env)
    report = runtime.drain()
    assert len(report.retrying) == 2
    attempts = [json.loads(p.read_text())["attempts"] for p in spool.entries()]
    assert attempts == [1, 1]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("7d", 604800),
                                               ("12", 12)])
def test_ages(text: str, seconds: float) -> None:
    assert runtime.parse_age(text) == seconds


def test_a_bad_age_is_a_clear_error() -> None:
    from claudetracing.errors import TracesError

    with pytest.raises(TracesError, match="cannot read the age 'soon'"):
        runtime.parse_age("soon")
