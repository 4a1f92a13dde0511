"""Regressions found on real transcripts, on data shaped like Claude Code 2.x's, into a real store.

Each test names the bug it guards (issue 11): null stop reasons, interrupts, resumed copies,
compaction calls, `<synthetic>` messages, prompt markup.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from claudetracing.export.exporter import Exporter
from claudetracing.export.prepare import Preparer
from claudetracing.trace.builder import TURN_KEY_TAG
from claudetracing.transcript import discovery
from tests import realshape as rs


def _exporter(repo: Path) -> Exporter:
    cfg = config_mod.load(repo, environ={})
    return Exporter(cfg, pipeline=Preparer(cfg))


def _traces(exporter: Exporter) -> list[Any]:
    backend = exporter.backend
    found = backend.client.search_traces(locations=[backend.connect()], max_results=500)
    return sorted(found, key=lambda t: t.info.request_time)


def _root(trace: Any) -> Any:
    return next(s for s in trace.data.spans if s.parent_id is None)


def test_an_answered_last_turn_is_ok_although_stop_reason_is_null(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    t = rs.session(tmp_path / "projects")
    t.prompt("list the files")
    t.response(
        rs.text("Let me look."), rs.tool_use("tu1", "Bash", command="ls"), use=rs.usage(3, 40)
    )
    t.tool_result("tu1", "README.md")
    t.response(rs.text("There is one file: README.md."), use=rs.usage(5, 12, read=900))
    path = t.save()
    exporter = _exporter(repo)
    # Live, without a Stop, the last turn might still be streaming: it waits...
    assert exporter.export_transcript(path).pending == 1
    # ...until Stop reports its answer (or the session ends): then it is OK, not ERROR.
    report = exporter.export_transcript(path, done_hint="There is one file: README.md.")
    assert len(report.exported) == 1
    (trace,) = _traces(exporter)
    assert trace.info.state.value == "OK"
    assert _root(trace).attributes["claude_code.outcome"] == "answered"


def test_an_interrupted_turn_is_an_error_even_when_another_prompt_follows(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    t = rs.session(tmp_path / "projects")
    t.prompt("refactor everything")
    t.response(rs.tool_use("tu1", "Bash", command="sleep 100"), use=rs.usage(3, 20))
    t.tool_result("tu1", "[Request interrupted by user for tool use]", is_error=True)
    t.interrupt(for_tool_use=True)
    t.prompt("just the parser, please")
    t.response(rs.text("Done with the parser."), use=rs.usage(4, 9))
    exporter = _exporter(repo)
    exporter.export_transcript(t.save(), final=True)
    first, second = _traces(exporter)
    assert first.info.state.value == "ERROR"
    assert _root(first).attributes["claude_code.outcome"] == "interrupted"
    assert "interrupted by the user" in _root(first).status.description
    assert second.info.state.value == "OK"


def test_a_resumed_session_adds_only_what_is_new(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    """One real session gave 16 traces for 10 turns: copies of traced history became traces."""
    folder = tmp_path / "projects"
    original = rs.session(folder)
    original.prompt("first question")
    original.response(rs.text("first answer"), use=rs.usage(10, 100, write=2000))
    original.prompt("second question")
    original.response(rs.text("second answer"), use=rs.usage(10, 50, read=2000))
    original.save()
    # `--resume` in some versions: the history copied into a new file, new uuids, same ids.
    resumed = rs.session(folder, version=original.version)
    for line in original.lines:
        if line["type"] in ("user", "assistant"):
            copy = dict(line, sessionId=resumed.session_id)
            resumed.raw(**{k: v for k, v in copy.items() if k not in ("uuid", "parentUuid")})
            resumed.lines[-1]["timestamp"] = line["timestamp"]  # copies keep their times
    resumed.clock = original.clock
    resumed.prompt("third question")
    resumed.response(rs.text("third answer"), use=rs.usage(10, 30, read=2100))
    resumed.save()
    for path, age in ((original.path, 7200), (resumed.path, 3600)):  # both sessions are over
        os.utime(path, (time.time() - age, time.time() - age))

    exporter = _exporter(repo)
    from claudetracing.export import backfill

    ordered = discovery.expand([folder])
    assert ordered == [original.path, resumed.path]  # originals first, whatever the names
    summary = backfill.run_import(exporter, ordered)
    assert (len(summary.exported), summary.copied) == (3, 2)
    traces = _traces(exporter)
    assert [_root(t).inputs["prompt"] for t in traces] == [
        "first question",
        "second question",
        "third question",
    ]
    assert sum(t.info.token_usage["output_tokens"] for t in traces) == 180
    assert sum(float(t.info.tags["cost.usd"]) for t in traces) > 0
    # Again, in the other order (a live hook on the resumed file first): still nothing twice.
    again = backfill.run_import(_exporter(repo), [resumed.path, original.path])
    assert again.exported == []
    assert len(_traces(exporter)) == 3


def test_a_compaction_call_is_a_span_of_its_turn_with_its_tokens(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    t = rs.session(tmp_path / "projects")
    t.prompt("keep going on the migration")
    t.response(rs.tool_use("tu1", "Bash", command="make"), use=rs.usage(3, 20, read=150_000))
    t.tool_result("tu1", "ok")
    # Auto-compaction while the turn runs: a real API call with no tool call pointing at it.
    rs.compaction(t, summary="Summary: migrating the parser.", use=rs.usage(12, 800, read=165_000))
    t.prompt(
        "This session is being continued from a previous conversation that ran out of context.",
        isCompactSummary=True,
    )
    t.response(rs.text("Migration finished."), use=rs.usage(6, 30, write=9000))
    t.prompt("<command-name>/compact</command-name>\n<command-message>compact</command-message>")
    rs.compaction(t, summary="Summary: migration done.", use=rs.usage(2, 500, read=20_000))
    t.raw(type="system", subtype="compact_boundary", content="Conversation compacted")
    t.prompt("<local-command-stdout>Compacted</local-command-stdout>")
    exporter = _exporter(repo)
    exporter.export_transcript(t.save(), final=True)
    work, compact = _traces(exporter)
    names = [s.name for s in work.data.spans]
    assert names.count("compaction") == 1
    assert work.info.token_usage["output_tokens"] == 20 + 800 + 30
    assert int(work.info.tags["tokens.cache_read"]) == 150_000 + 165_000
    # A manual `/compact` is a turn of its own, and its call is its whole work.
    assert _root(compact).inputs == {"prompt": "/compact"}
    assert compact.info.state.value == "OK"
    assert compact.info.token_usage["output_tokens"] == 500
    assert float(compact.info.tags["cost.usd"]) > 0


def test_synthetic_messages_are_no_api_calls_and_never_erase_the_cost(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    t = rs.session(tmp_path / "projects")
    t.prompt("run the tests")
    t.response(rs.tool_use("tu1", "Bash", command="pytest"), use=rs.usage(3, 20))
    t.tool_result("tu1", "3 passed")
    t.synthetic("API Error: 529 Overloaded", api_error=True)
    t.prompt("and now?")
    t.response(rs.text("All green."), use=rs.usage(5, 9))
    t.synthetic("No response requested.")
    exporter = _exporter(repo)
    exporter.export_transcript(t.save(), final=True)
    failed, answered = _traces(exporter)
    assert [s.span_type for s in failed.data.spans if s.span_type == "LLM"] == ["LLM"]
    notice = next(s for s in failed.data.spans if s.name == "claude_code_message")
    assert notice.status.status_code.value == "ERROR" and "mlflow.chat.tokenUsage" not in (
        notice.attributes
    )
    assert failed.info.state.value == "ERROR"
    assert "API Error: 529 Overloaded" in _root(failed).status.description
    assert float(failed.info.tags["cost.usd"]) > 0 and "cost.unpriced_calls" not in failed.info.tags
    # A placeholder after a real answer does not unmake it.
    assert answered.info.state.value == "OK"
    assert float(answered.info.tags["cost.usd"]) > 0


@pytest.mark.parametrize(
    ("typed", "shown", "context"),
    [
        (
            "<command-message>review is running…</command-message>\n"
            "<command-name>/review</command-name>\n<command-args>PR 12</command-args>",
            "/review PR 12",
            {"claude_code.prompt.command": "/review"},
        ),
        (
            "<ide_opened_file>The user opened the file /w/app.py in the IDE</ide_opened_file>"
            "why does this crash?",
            "why does this crash?",
            {"claude_code.prompt.ide_opened_file": "The user opened the file /w/app.py in the IDE"},
        ),
    ],
)
def test_the_prompt_is_what_the_person_typed(
    typed: str,
    shown: str,
    context: dict[str, str],
    repo: Path,
    local_store: Path,
    tmp_path: Path,
) -> None:
    t = rs.session(tmp_path / "projects")
    t.prompt(typed)
    t.response(rs.text("Here you go."), use=rs.usage(5, 9))
    exporter = _exporter(repo)
    exporter.export_transcript(t.save(), final=True)
    (trace,) = _traces(exporter)
    root = _root(trace)
    assert root.inputs == {"prompt": shown}
    assert shown in trace.info.request_preview and "<" not in trace.info.request_preview
    for key, value in context.items():
        assert root.attributes[key] == value
    assert trace.info.tags[TURN_KEY_TAG]


def test_a_real_compaction_file_is_a_span_of_the_turn_that_was_running(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    """The compaction file of a real 2.1.39 session (tests/corpus/fragments, SOURCES.md), under a
    real-shaped main transcript of the same session around the time it ran."""
    import shutil
    from datetime import datetime, timezone

    real = Path(__file__).parents[1] / "corpus" / "fragments" / "spotter-compact"
    session_id = "4d5611e5-241a-462a-8d15-5122611a9569"
    t = rs.session(
        tmp_path / "projects",
        session_id,
        version="2.1.39",
        clock=datetime(2026, 2, 12, 20, 20, tzinfo=timezone.utc),
    )
    t.prompt("continue with the spotter refactor")
    t.response(rs.tool_use("tu1", "Bash", command="mix test"), use=rs.usage(3, 20, read=150_000))
    t.tool_result("tu1", "ok")
    shutil.copytree(real / session_id, t.path.parent / session_id)
    t.clock = datetime(2026, 2, 12, 20, 30, 30, tzinfo=timezone.utc)
    t.prompt("This session is being continued from a previous conversation.", isCompactSummary=True)
    t.response(rs.text("Refactor finished."), use=rs.usage(6, 30, write=9000))
    exporter = _exporter(repo)
    exporter.export_transcript(t.save(), final=True)
    (trace,) = _traces(exporter)
    compaction = next(s for s in trace.data.spans if s.name == "compaction")
    assert compaction.attributes["subagent.launched_by"] == "claude_code"
    (call,) = [s for s in trace.data.spans if s.parent_id == compaction.span_id]
    assert call.attributes["mlflow.llm.model"] == "claude-opus-4-6"
    assert call.attributes["mlflow.chat.tokenUsage"]["cache_read_input_tokens"] == 164_830
    assert trace.info.token_usage["output_tokens"] == 20 + 8 + 30
    assert trace.info.state.value == "OK"


def test_a_resumed_run_appending_after_session_end_is_not_taken_as_it_stands(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    """SessionEnd says the run that sent it is over; a resumed run may already append to the
    same file. Its turn, begun after the end, waits for its own Stop instead of being exported
    empty (and skipped for good)."""
    main = rs.session(tmp_path / "p")
    main.prompt("First: say one.")
    main.response(rs.text("one"), use=rs.usage(10, 2))
    ended_at = (main.clock + timedelta(seconds=1)).timestamp()
    main.clock += timedelta(seconds=5)
    main.prompt("Resumed: say two.")  # the resumed run's prompt, no response written yet
    path = main.save()
    exporter = _exporter(repo)
    report = exporter.export_transcript(path, final=True, ended_at=ended_at)
    assert (len(report.exported), report.empty, report.pending) == (1, 0, 1)
    main.response(rs.text("two"), use=rs.usage(12, 3))
    path = main.save()
    report = exporter.export_transcript(path, done_hint="two")
    assert len(report.exported) == 1 and report.pending == 0
    assert len(_traces(exporter)) == 2
