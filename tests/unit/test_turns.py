"""Turns, API responses, tool calls and subagents, from real and hand-made transcripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claudetracing.transcript.model import run_tokens
from claudetracing.transcript.turns import read_session
from tests.sessions import all_recorded, recorded


@pytest.mark.parametrize("name", all_recorded())
def test_recorded_token_totals_equal_claude_codes_own_accounting(name: str) -> None:
    case = recorded(name)
    session = read_session(case.transcript)
    assert len(session.turns) == len(case.case["prompts"])
    totals = {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0}
    for turn in session.turns:
        tokens = run_tokens(turn.run)
        totals["input"] += tokens.input
        totals["output"] += tokens.output
        totals["cache_read"] += tokens.cache_read
        totals["cache_creation"] += tokens.cache_creation
    assert totals == case.model_usage_totals()


@pytest.mark.parametrize("name", all_recorded())
def test_one_llm_call_per_api_response(name: str) -> None:
    case = recorded(name)
    ids = set()
    for line in case.transcript.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("type") == "assistant" and not record.get("isSidechain"):
            ids.add(record["message"]["id"])
    calls = [c for t in read_session(case.transcript).turns for c in t.run.llm_calls]
    assert len(calls) == len(ids)
    assert len({c.key for c in calls}) == len(ids)


def test_recorded_subagent_is_nested_with_its_own_tool() -> None:
    (turn,) = read_session(recorded("subagent").transcript).turns
    (agent,) = [t for t in turn.run.tool_calls if t.name == "Agent"]
    assert agent.subagent is not None
    assert agent.subagent.agent_type == "general-purpose"
    assert [t.name for t in agent.subagent.tool_calls] == ["Bash"]
    assert agent.subagent.final_text
    assert agent.start_ns <= agent.subagent.start_ns <= agent.subagent.end_ns <= agent.end_ns


def test_recorded_parallel_subagents_each_nest_their_own_run() -> None:
    (turn,) = read_session(recorded("parallel_subagents").transcript).turns
    agents = [t for t in turn.run.tool_calls if t.name == "Agent"]
    assert len(agents) == 2
    runs = [a.subagent for a in agents]
    assert all(runs) and runs[0] is not runs[1]
    assert {r.agent_id for r in runs if r} == {a.result_meta["agentId"] for a in agents}


def test_recorded_failing_bash_is_an_error() -> None:
    (turn,) = read_session(recorded("failing_bash").transcript).turns
    (bash,) = turn.run.tool_calls
    assert bash.is_error and bash.finished


def test_recorded_resume_gives_two_turns_in_order() -> None:
    case = recorded("resume")
    turns = read_session(case.transcript).turns
    assert [t.run.prompt for t in turns] == case.case["prompts"]
    assert turns[0].run.end_ns <= turns[1].run.start_ns
    assert turns[0].session_id == turns[1].session_id
    assert turns[0].key != turns[1].key


# ---- hand-made shapes seen in other Claude Code versions -------------------------------


class Lines:
    """Writes transcript lines with increasing timestamps."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[dict[str, Any]] = []
        self.second = 0

    def add(self, **record: Any) -> dict[str, Any]:
        self.second += 1
        record.setdefault("timestamp", f"2026-11-20T09:00:{self.second:02d}.000Z")
        record.setdefault("sessionId", "sess-1")
        record.setdefault("uuid", f"u{len(self.lines)}")
        self.lines.append(record)
        return record

    def prompt(self, text: str, **extra: Any) -> None:
        self.add(type="user", message={"role": "user", "content": text}, **extra)

    def assistant(
        self,
        *blocks: dict[str, Any],
        mid: str | None,
        usage: dict[str, Any] | None,
        stop: str | None,
        **extra: Any,
    ) -> None:
        message: dict[str, Any] = {
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": list(blocks),
            "stop_reason": stop,
        }
        if mid:
            message["id"] = mid
        if usage is not None:
            message["usage"] = usage
        self.add(type="assistant", message=message, **extra)

    def result(self, tool_id: str, content: Any, **extra: Any) -> None:
        self.add(
            type="user",
            message={
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": content}],
            },
            **extra,
        )

    def save(self) -> Path:
        self.path.write_text("".join(json.dumps(r) + "\n" for r in self.lines), encoding="utf-8")
        return self.path


def _u(inp: int, out: int) -> dict[str, int]:
    return {"input_tokens": inp, "output_tokens": out}


def test_usage_counted_once_per_response_taking_the_most_complete_line(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("hi")
    t.assistant({"type": "thinking", "thinking": "hm"}, mid="m1", usage=_u(10, 1), stop=None)
    t.assistant({"type": "text", "text": "hello"}, mid="m1", usage=_u(10, 57), stop="end_turn")
    (turn,) = read_session(t.save()).turns
    (call,) = turn.run.llm_calls
    assert call.usage["output_tokens"] == 57
    assert run_tokens(turn.run).input == 10
    assert [b["type"] for b in call.blocks] == ["thinking", "text"]
    assert turn.ended and turn.answered


def test_lines_without_message_id_or_usage_still_count(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("hi")
    t.assistant(
        {"type": "text", "text": "a"}, mid=None, usage=None, stop="tool_use", requestId="req-1"
    )
    t.assistant({"type": "text", "text": "b"}, mid=None, usage=_u(1, 2), stop="end_turn")
    (turn,) = read_session(t.save()).turns
    assert len(turn.run.llm_calls) == 2
    assert run_tokens(turn.run).output == 2


def test_not_prompts_do_not_start_turns(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("real prompt")
    t.prompt("skill body", isMeta=True)
    t.prompt("<local-command-stdout>ok</local-command-stdout>")
    t.prompt("summary of before", isCompactSummary=True)
    t.prompt("[Request interrupted by user]")
    t.add(type="progress", data=None)
    t.add(type="queue-operation", operation="enqueue")
    t.add(type="some-future-record", whatever={"x": 1})
    t.assistant({"type": "text", "text": "done"}, mid="m1", usage=_u(1, 1), stop="end_turn")
    (turn,) = read_session(t.save()).turns
    assert turn.run.prompt == "real prompt"
    assert turn.run.final_text == "done"


def test_task_tool_with_progress_records_and_result_inside_the_block(tmp_path: Path) -> None:
    """Older versions: subagent named Task, its lines as `agent_progress` in the parent file."""
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("delegate")
    t.assistant(
        {
            "type": "tool_use",
            "id": "tu1",
            "name": "Task",
            "input": {"prompt": "look", "subagent_type": "Explore"},
        },
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    for inner in (
        {
            "type": "assistant",
            "timestamp": "2026-11-20T09:00:03.500Z",
            "message": {
                "id": "s1",
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "tu2", "name": "Grep", "input": {"pattern": "x"}}
                ],
                "usage": _u(5, 6),
                "stop_reason": "tool_use",
            },
        },
        {
            "type": "user",
            "timestamp": "2026-11-20T09:00:03.700Z",
            "message": {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "tu2", "content": "found"}],
            },
        },
        {
            "type": "assistant",
            "timestamp": "2026-11-20T09:00:03.900Z",
            "message": {
                "id": "s2",
                "role": "assistant",
                "content": [{"type": "text", "text": "it is there"}],
                "usage": _u(7, 8),
                "stop_reason": "end_turn",
            },
        },
    ):
        t.add(
            type="progress",
            parentToolUseID="tu1",
            data={"type": "agent_progress", "agentId": "old1", "prompt": "look", "message": inner},
        )
    t.add(
        type="user",
        message={
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "tu1",
                    "content": "it is there",
                    "toolUseResult": {"status": "completed", "agentId": "old1"},
                }
            ],
        },
    )
    t.assistant({"type": "text", "text": "ok"}, mid="m2", usage=_u(1, 1), stop="end_turn")
    (turn,) = read_session(t.save()).turns
    (task,) = turn.run.tool_calls
    assert task.result_meta["status"] == "completed"
    assert task.subagent is not None
    assert [tool.name for tool in task.subagent.tool_calls] == ["Grep"]
    assert run_tokens(turn.run).output == 1 + 6 + 8 + 1


def test_sidechain_lines_in_the_parent_file_are_matched_by_prompt(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("delegate")
    t.assistant(
        {"type": "tool_use", "id": "tu1", "name": "Task", "input": {"prompt": "inspect"}},
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    t.add(
        type="user",
        isSidechain=True,
        parentUuid=None,
        message={"role": "user", "content": "inspect"},
    )
    t.assistant(
        {"type": "text", "text": "inspected"},
        mid="s1",
        usage=_u(2, 3),
        stop="end_turn",
        isSidechain=True,
    )
    t.result("tu1", [{"type": "text", "text": "inspected"}])
    t.assistant({"type": "text", "text": "ok"}, mid="m2", usage=_u(1, 1), stop="end_turn")
    (turn,) = read_session(t.save()).turns
    assert turn.run.tool_calls[0].subagent is not None
    assert turn.run.tool_calls[0].subagent.final_text == "inspected"
    assert len(turn.run.llm_calls) == 2  # the sidechain response is not the main agent's


def test_old_flat_agent_file_layout_and_id_in_result_text(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("delegate")
    t.assistant(
        {"type": "tool_use", "id": "tu1", "name": "Task", "input": {"prompt": "p"}},
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    t.result("tu1", "done\nagentId: abc123 (for resuming)")
    t.assistant({"type": "text", "text": "ok"}, mid="m2", usage=_u(1, 1), stop="end_turn")
    sub = Lines(tmp_path / "agent-abc123.jsonl")
    sub.add(type="user", isSidechain=True, message={"role": "user", "content": "p"})
    sub.assistant(
        {"type": "text", "text": "done"},
        mid="s1",
        usage=_u(4, 4),
        stop="end_turn",
        isSidechain=True,
    )
    sub.save()
    (turn,) = read_session(t.save()).turns
    assert turn.run.tool_calls[0].subagent is not None
    assert run_tokens(turn.run).input == 6


def test_background_subagent_still_nests_what_it_wrote(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("start it in the background")
    t.assistant(
        {
            "type": "tool_use",
            "id": "tu1",
            "name": "Agent",
            "input": {"prompt": "bg", "run_in_background": True},
        },
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    t.result(
        "tu1",
        "launched",
        toolUseResult={"status": "async_launched", "agentId": "bg1", "isAsync": True},
    )
    t.assistant({"type": "text", "text": "started"}, mid="m2", usage=_u(1, 1), stop="end_turn")
    folder = tmp_path / "sess-1" / "subagents"
    folder.mkdir(parents=True)
    sub = Lines(folder / "agent-bg1.jsonl")
    sub.add(type="user", isSidechain=True, message={"role": "user", "content": "bg"})
    sub.assistant(
        {"type": "text", "text": "bg done"},
        mid="s1",
        usage=_u(2, 2),
        stop="end_turn",
        isSidechain=True,
    )
    sub.save()
    (turn,) = read_session(t.save()).turns
    agent = turn.run.tool_calls[0]
    assert agent.result_meta["status"] == "async_launched"
    assert agent.subagent is not None and agent.subagent.final_text == "bg done"


def test_a_turn_waiting_for_a_tool_result_is_not_complete(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("run it")
    t.assistant(
        {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {"command": "x"}},
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    (turn,) = read_session(t.save()).turns
    assert not turn.ended and turn.outcome == "unanswered"
    t.result("tu1", "out")
    t.assistant({"type": "text", "text": "done"}, mid="m2", usage=_u(1, 1), stop="end_turn")
    (turn,) = read_session(t.save()).turns
    assert turn.ended and turn.answered


def test_plan_mode_tools_and_permission_records_are_tolerated(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.add(type="permission-mode", permissionMode="plan")
    t.prompt("plan it", permissionMode="plan")
    t.assistant(
        {"type": "tool_use", "id": "tu1", "name": "ExitPlanMode", "input": {"plan": "1. do"}},
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    t.result("tu1", "User approved")
    t.assistant(
        {"type": "tool_use", "id": "tu2", "name": "AskUserQuestion", "input": {"questions": []}},
        mid="m2",
        usage=_u(1, 1),
        stop="tool_use",
    )
    t.result("tu2", "answered")
    t.assistant({"type": "text", "text": "planned"}, mid="m3", usage=_u(1, 1), stop="end_turn")
    (turn,) = read_session(t.save()).turns
    assert [tool.name for tool in turn.run.tool_calls] == ["ExitPlanMode", "AskUserQuestion"]
    assert turn.permission_mode == "plan"


def test_notifications_dequeued_together_are_one_turn(tmp_path: Path) -> None:
    """Two background subagents that end while Claude Code is busy: their notifications are
    written one after the other and answered by one response (seen with 2.1.328)."""
    from tests import realshape as rs

    def note(task: str, tool: str) -> str:
        return (
            f"<task-notification>\n<task-id>{task}</task-id>\n<tool-use-id>{tool}</tool-use-id>\n"
            f"<status>completed</status>\n<summary>Agent {task} finished</summary>\n"
            "</task-notification>"
        )

    t = rs.session(tmp_path, version="2.1.328")
    t.prompt("Start two subagents.")
    t.response(rs.text("Started."), use=rs.usage(10, 2))
    t.prompt("<system-reminder>tools used: Bash</system-reminder>", isMeta=True)
    t.prompt(note("a1", "tu1"), origin={"kind": "task-notification"})
    t.prompt("<system-reminder>tools used: Read</system-reminder>", isMeta=True)
    t.prompt(note("a2", "tu2"), origin={"kind": "task-notification"})
    t.response(rs.text("Both reported."), use=rs.usage(20, 3))
    t.prompt(note("a3", "tu3"))  # a later one, answered on its own
    t.response(rs.text("Third reported."), use=rs.usage(30, 4))
    first, together, alone = read_session(t.save()).turns
    assert together.run.prompt == "[background task] Agent a1 finished\n" + (
        "[background task] Agent a2 finished"
    )
    assert together.prompt_context["task_id"] == "a1,a2"
    assert together.prompt_context["task_tool_use_id"] == "tu1,tu2"
    assert together.run.final_text == "Both reported." and together.answered
    assert alone.prompt_context["task_id"] == "a3"
    assert [run_tokens(x.run).input for x in (first, together, alone)] == [10, 20, 30]
