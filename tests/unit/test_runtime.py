"""The exporter's loop: one try per entry per run, however slow the failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claudetracing.capture import spool
from claudetracing.export import worker
from tests.sessions import recorded


def test_a_drain_tries_each_entry_once_even_when_failing_outlasts_the_backoff(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(worker, "BACKOFF_BASE_S", 0.0)  # every failure is due again at once
    env = {"CLAUDETRACING_TRACKING_URI": "http://127.0.0.1:9", "CLAUDETRACING_EXPERIMENT": "x"}
    for name in ("tool_call", "subagent"):
        payload = {
            "hook_event_name": "Stop",
            "session_id": name,
            "cwd": str(tmp_path),
            "transcript_path": str(recorded(name).transcript),
        }
        spool.append(payload, env)
    report = worker.drain()
    assert len(report.retrying) == 2
    attempts = [json.loads(p.read_text())["attempts"] for p in spool.entries()]
    assert attempts == [1, 1]


def test_the_give_up_time_is_read_like_every_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    from claudetracing.core.errors import TracesError

    monkeypatch.setenv("CLAUDETRACING_GIVE_UP_AFTER", "2w")
    assert worker.give_up_after() == 14 * 86400
    monkeypatch.setenv("CLAUDETRACING_GIVE_UP_AFTER", "soon")
    with pytest.raises(TracesError, match="cannot read the CLAUDETRACING_GIVE_UP_AFTER 'soon'"):
        worker.give_up_after()


@pytest.mark.parametrize("events", [("Stop",), ("Stop", "SessionEnd")])
def test_a_stop_waits_for_its_turn_to_reach_the_transcript(
    local_store: Path, tmp_path: Path, events: tuple[str, ...]
) -> None:
    """Claude Code can fire Stop before the final answer is in the file (FACTS.md)."""
    import threading
    import time

    from tests.tracing import stored_traces

    source = recorded("tool_call").transcript
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    last_answer = max(i for i, line in enumerate(lines) if '"end_turn"' in line)
    path = tmp_path / source.name
    path.write_text("".join(lines[:last_answer]), encoding="utf-8")
    answer = recorded("tool_call").results[0]["result"]
    env = {"CLAUDETRACING_EXPERIMENT": "lag"}
    base = {"session_id": path.stem, "cwd": str(tmp_path), "transcript_path": str(path)}
    spool.append({**base, "hook_event_name": "Stop", "last_assistant_message": answer}, env)
    if "SessionEnd" in events:  # `claude -p` fires it right after Stop, with no answer
        spool.append({**base, "hook_event_name": "SessionEnd", "reason": "other"}, env)

    def finish_writing() -> None:
        time.sleep(1.5)
        with path.open("a", encoding="utf-8") as handle:
            handle.write("".join(lines[last_answer:]))

    writer = threading.Thread(target=finish_writing)
    writer.start()
    report = worker.drain()
    writer.join()
    assert len(report.exported) == 1 and not report.retrying
    (trace,) = stored_traces(f"sqlite:///{local_store}", "lag")
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.outputs == {"answer": answer}
    assert root.status.status_code == "OK"  # not exported half-written as an unfinished turn


def test_the_ledger_stays_small_however_long_the_session() -> None:
    from claudetracing.export import ledger

    book = ledger.open_session("sqlite:///x", "e", "s")
    for n in range(1000):
        book.record(f"s:{n}", f"tr-{n}")
    book.offset = 12345
    book.save()
    again = ledger.open_session("sqlite:///x", "e", "s")
    assert len(again.exported) == ledger.KEEP_RECENT
    assert "s:999" in again.exported and again.offset == 12345
    assert book.path.stat().st_size < 8000


def test_a_stop_without_the_answer_text_still_ends_its_turn(
    local_store: Path, tmp_path: Path
) -> None:
    """Older versions send Stop without `last_assistant_message`, and real transcripts leave
    `stop_reason` null: the turn the Stop is about is exported at once, answered by its shape; a
    turn begun after that Stop is not taken for finished however it looks."""
    from datetime import datetime, timedelta, timezone

    from tests import realshape as rs
    from tests.tracing import stored_traces

    now = datetime.now(timezone.utc)
    t = rs.session(tmp_path, clock=now - timedelta(seconds=60))
    t.prompt("what is in here?")
    t.response(rs.text("A README."), use=rs.usage(3, 9))
    t.clock = now + timedelta(seconds=5)  # typed after the Stop below, still being answered
    t.prompt("and in src/?")
    t.response(rs.text("Let me look"), use=rs.usage(3, 2))
    path = t.save()
    env = {"CLAUDETRACING_EXPERIMENT": "old-stop"}
    base = {"session_id": path.stem, "cwd": str(tmp_path), "transcript_path": str(path)}
    spool.append({**base, "hook_event_name": "Stop"}, env)
    report = worker.drain()
    assert len(report.exported) == 1 and not report.retrying and report.done_entries == 1
    (trace,) = stored_traces(f"sqlite:///{local_store}", "old-stop")
    assert trace.info.state.value == "OK"
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.inputs == {"prompt": "what is in here?"}
