"""Reading transcripts shaped like real ones: placeholder output counts, Claude Code's markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from claudetracing.transcript import prompt_markup
from claudetracing.transcript.turns import read_session
from tests import realshape as rs


def test_a_subagents_last_output_count_comes_from_the_agent_result(tmp_path: Path) -> None:
    main = rs.session(tmp_path)
    main.prompt("delegate it")
    main.response(
        rs.tool_use("tu1", "Agent", prompt="count the files", subagent_type="general-purpose"),
        use=rs.usage(3, 20),
    )
    sub = rs.subagent(main, "a1")
    sub.prompt("count the files")
    sub.response(rs.tool_use("s1", "Bash", command="ls | wc -l"), use=rs.usage(50, 1, read=900))
    sub.tool_result("s1", "3")
    final = rs.usage(60, 1, read=950)  # written before message_delta: the placeholder
    sub.response(rs.text("There are 3 files."), use=final)
    sub.save()
    main.clock = sub.clock
    main.tool_result(
        "tu1",
        [{"type": "text", "text": "There are 3 files."}],
        meta={"status": "completed", "agentId": "a1", "usage": {**final, "output_tokens": 42}},
    )
    main.response(rs.text("Three files."), use=rs.usage(4, 5))
    (turn,) = read_session(main.save()).turns
    run = turn.run.tool_calls[0].subagent
    assert run is not None
    first, last = run.llm_calls
    assert last.usage["output_tokens"] == 42 and last.output_from_result
    assert first.usage["output_tokens"] == 1 and not first.output_from_result  # as recorded


def test_an_agent_result_of_other_figures_is_not_taken(tmp_path: Path) -> None:
    main = rs.session(tmp_path)
    main.prompt("delegate it")
    main.response(rs.tool_use("tu1", "Agent", prompt="p"), use=rs.usage(3, 20))
    sub = rs.subagent(main, "a1")
    sub.prompt("p")
    sub.response(rs.text("done"), use=rs.usage(60, 1))
    sub.save()
    main.tool_result("tu1", "done", meta={"agentId": "a1", "usage": rs.usage(999, 42)})
    main.response(rs.text("ok"), use=rs.usage(4, 5))
    (turn,) = read_session(main.save()).turns
    run = turn.run.tool_calls[0].subagent
    assert run is not None and run.llm_calls[0].usage["output_tokens"] == 1


@pytest.mark.parametrize(
    ("typed", "shown", "context"),
    [
        ("fix the parser", "fix the parser", {}),
        (
            "<command-message>review</command-message>\n<command-name>/review</command-name>\n"
            "<command-args>PR 12</command-args>",
            "/review PR 12",
            {"command": "/review"},
        ),
        ("<command-name>compact</command-name>", "/compact", {"command": "/compact"}),
        (
            "<ide_selection>lines 3-9 of app.py</ide_selection>why?",
            "why?",
            {"ide_selection": "lines 3-9 of app.py"},
        ),
        (
            "<task-notification>\n<task-id>b7</task-id>\n<status>completed</status>\n"
            '<summary>Background command "Slow" completed (exit code 0)</summary>\n'
            "</task-notification>\nRead the output file to retrieve the result",
            '[background task] Background command "Slow" completed (exit code 0)',
            {
                "task_id": "b7",
                "task_status": "completed",
                "task_summary": 'Background command "Slow" completed (exit code 0)',
            },
        ),
    ],
)
def test_prompt_markup(typed: str, shown: str, context: dict[str, str]) -> None:
    assert prompt_markup.clean(typed) == (shown, context)
