"""The span tree: structure, statuses, timestamps from the transcript, visible truncation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claudetracing.trace.builder import build_trace, clip
from claudetracing.transcript.turns import read_session
from tests.sessions import recorded
from tests.unit.test_turns import Lines, _u


def _tree(node) -> list:  # type: ignore[no-untyped-def]
    return [node.name, node.span_type, node.status, [_tree(c) for c in node.children]]


def test_subagent_tree_and_timestamps_come_from_the_transcript() -> None:
    (turn,) = read_session(recorded("subagent").transcript).turns
    trace = build_trace(turn, "dev@example.com")
    root = trace.root
    assert _tree(root) == [
        "claude_code_turn",
        "AGENT",
        "OK",
        [
            ["→ Agent", "LLM", "OK", []],
            [
                "Agent",
                "TOOL",
                "OK",
                [
                    [
                        "subagent:general-purpose",
                        "AGENT",
                        "OK",
                        [
                            ["→ Bash", "LLM", "OK", []],
                            ["Bash", "TOOL", "OK", []],
                            ["answer", "LLM", "OK", []],
                        ],
                    ],
                ],
            ],
            ["answer", "LLM", "OK", []],
        ],
    ]
    assert root.start_ns == turn.run.start_ns
    for node in root.walk():
        assert node.start_ns <= node.end_ns
        for child in node.children:
            assert node.start_ns <= child.start_ns and child.end_ns <= node.end_ns
    assert root.inputs == {"prompt": turn.run.prompt}
    assert root.outputs == {"answer": recorded("subagent").results[0]["result"]}
    assert trace.metadata["mlflow.trace.session"] == turn.session_id
    assert trace.metadata["mlflow.trace.user"] == "dev@example.com"


def test_llm_span_carries_model_stop_reason_and_usage_once() -> None:
    (turn,) = read_session(recorded("tool_call").transcript).turns
    trace = build_trace(turn, "u")
    llm = trace.root.children[0]
    call = turn.run.llm_calls[0]
    usage = llm.attributes["mlflow.chat.tokenUsage"]
    # MLflow's Anthropic autolog convention: input counts the cache reads and writes
    cached = call.usage["cache_read_input_tokens"] + call.usage["cache_creation_input_tokens"]
    assert cached  # the recording reads the cache: the two conventions differ
    assert usage["input_tokens"] == call.usage["input_tokens"] + cached
    assert usage["total_tokens"] == usage["input_tokens"] + call.usage["output_tokens"]
    assert usage["cache_read_input_tokens"] == call.usage["cache_read_input_tokens"]
    assert llm.attributes["anthropic.usage"]["input_tokens"] == call.usage["input_tokens"]
    assert llm.attributes["anthropic.stop_reason"] == "tool_use"
    assert llm.attributes["mlflow.llm.model"] == call.model


def test_failed_tool_is_an_error_span_with_its_output() -> None:
    (turn,) = read_session(recorded("failing_bash").transcript).turns
    trace = build_trace(turn, "u")
    (bash,) = [n for n in trace.root.walk() if n.name == "Bash"]
    assert bash.status == "ERROR"
    assert bash.status_message
    assert trace.root.status == "OK"  # the turn itself finished


def test_unfinished_turn_exported_at_session_end_is_marked(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("run")
    t.assistant(
        {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {}},
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    (turn,) = read_session(t.save(), final=True).turns
    trace = build_trace(turn, "u")
    assert trace.root.status == "ERROR"
    assert trace.root.children[1].status == "ERROR"
    assert "no tool result" in trace.root.children[1].status_message


def test_oversized_content_is_cut_with_marker_and_size(tmp_path: Path) -> None:
    big = "x" * (20 * 1024 * 1024)
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("dump it")
    t.assistant(
        {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {"command": "cat"}},
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    t.result("tu1", big)
    t.assistant({"type": "text", "text": "done"}, mid="m2", usage=_u(1, 1), stop="end_turn")
    (turn,) = read_session(t.save()).turns
    trace = build_trace(turn, "u", limit=1000)
    bash = trace.root.children[1]
    assert len(bash.outputs) < 1200
    assert f"truncated by claudetracing: {len(big)} chars, kept 1000" in bash.outputs
    assert len(trace.root.walk()) == 4  # structure kept


def test_clip_keeps_structure_and_drops_image_data() -> None:
    value = {
        "a": ["y" * 50, {"b": "short"}],
        "img": {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "A" * 5000},
        },
    }
    clipped = clip(value, 10)
    assert clipped["a"][1] == {"b": "short"}
    assert clipped["a"][0].startswith("y" * 10) and "50 chars" in clipped["a"][0]
    assert "image/png omitted: 5000 chars" in json.dumps(clipped["img"])


def test_span_count_matches_the_built_tree() -> None:
    from claudetracing.trace.builder import span_count
    from tests.sessions import all_recorded

    for name in all_recorded():
        for turn in read_session(recorded(name).transcript).turns:
            assert span_count(turn.run) == len(build_trace(turn, "u").root.walk())


def test_tool_errors_tag_counts_failed_tool_spans_of_the_whole_tree(tmp_path: Path) -> None:
    """`tools.errors`: what `traces list/search` show, since a failed tool leaves the turn OK."""
    from tests.sessions import all_recorded

    failing = 0
    for name in all_recorded():
        for turn in read_session(recorded(name).transcript).turns:
            trace = build_trace(turn, "u")
            failed = [n for n in trace.root.walk() if n.span_type == "TOOL" and n.status == "ERROR"]
            assert trace.tags["tools.errors"] == str(len(failed)), name
            failing += bool(failed)
    assert failing  # the recordings include failed tools
    (turn,) = read_session(recorded("failing_bash").transcript).turns
    trace = build_trace(turn, "u")
    assert (trace.root.status, trace.tags["tools.errors"]) == ("OK", "1")
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("run")
    t.assistant(
        {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {}},
        mid="m1",
        usage=_u(1, 1),
        stop="tool_use",
    )
    (turn,) = read_session(t.save(), final=True).turns
    assert build_trace(turn, "u").tags["tools.errors"] == "1"  # a call that never returned


def _tool(tool_id: str, name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": {}}


def test_model_calls_are_named_by_what_they_did(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("go")
    t.assistant({"type": "thinking", "thinking": "hm"}, mid="m1", usage=_u(1, 1), stop=None)
    t.assistant(
        _tool("a", "Read"),
        _tool("b", "Edit"),
        _tool("c", "Read"),
        mid="m2",
        usage=_u(1, 1),
        stop=None,
    )
    for tool_id in "abc":
        t.result(tool_id, "ok")
    t.assistant({"type": "redacted_thinking", "data": "x"}, mid="m3", usage=_u(1, 1), stop=None)
    t.assistant({"type": "text", "text": "done"}, mid="m4", usage=_u(1, 1), stop="end_turn")
    (turn,) = read_session(t.save(), final=True).turns
    calls = [n for n in build_trace(turn, "u").root.walk() if n.span_type == "LLM"]
    assert [n.name for n in calls] == ["thinking", "→ Read ×2, Edit", "thinking", "answer"]
    assert all(n.attributes["mlflow.llm.model"] == "claude-sonnet-4-5" for n in calls)


def test_blocks_the_ui_cannot_draw_become_notes_and_roles_stay_user_or_assistant() -> None:
    """One block or role MLflow's chat parser does not know and it shows raw JSON instead."""
    from claudetracing.trace.chat import ui_message

    image = {"type": "image", "source": {"media_type": "image/png", "data": "A" * 900}}
    message = ui_message(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "see", "cache_control": {"type": "ephemeral"}},
                image,
                {"type": "tool_result", "tool_use_id": "t1", "content": [image]},
                {"type": "document", "source": {"media_type": "application/pdf", "data": "x"}},
            ],
        }
    )
    assert message == {
        "role": "user",
        "content": [
            {"type": "text", "text": "see"},
            {"type": "text", "text": "[image/png omitted: 900 chars]"},
            {
                "type": "tool_result",
                "tool_use_id": "t1",
                "content": [{"type": "text", "text": "[image/png omitted: 900 chars]"}],
            },
            {"type": "text", "text": "[application/pdf omitted: 1 chars]"},
        ],
    }
    assert ui_message({"role": "system", "content": "be brief"}) == {
        "role": "user",
        "content": [
            {"type": "text", "text": "[system message]"},
            {"type": "text", "text": "be brief"},
        ],
    }
    assert ui_message({"role": "unknown", "content": "[message not recorded: ab]"}) == {
        "role": "user",
        "content": [{"type": "text", "text": "[message not recorded: ab]"}],
    }
    searched = ui_message(
        {
            "role": "assistant",
            "content": [
                {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"q": "x"}},
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": "s1",
                    "content": [{"title": "X", "url": "https://x.org", "encrypted_content": "…"}],
                },
            ],
        }
    )
    assert searched["content"] == [
        {"type": "tool_use", "id": "s1", "name": "web_search", "input": {"q": "x"}},
        {"type": "tool_result", "tool_use_id": "s1", "content": "X https://x.org"},
    ]


def test_previews_and_exception_events_are_redacted_and_capped(tmp_path: Path) -> None:
    t = Lines(tmp_path / "sess-1.jsonl")
    t.prompt("<command-name>/fix</command-name><command-args>SECRET-1</command-args>")
    t.assistant(_tool("a", "Bash"), mid="m1", usage=_u(1, 1), stop="tool_use")
    t.add(
        type="user",
        message={
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "a",
                    "content": "SECRET-2 " + "e" * 2000,
                    "is_error": True,
                }
            ],
        },
    )
    t.assistant({"type": "text", "text": "SECRET-3 failed"}, mid="m2", usage=_u(1, 1), stop=None)
    (turn,) = read_session(t.save(), final=True).turns

    def scrub(value: Any) -> Any:
        return json.loads(json.dumps(value).replace("SECRET", "[REDACTED]"))

    trace = build_trace(turn, "u", scrub=scrub)
    assert (trace.request_preview, trace.response_preview) == (
        "/fix [REDACTED]-1",
        "[REDACTED]-3 failed",
    )
    (bash,) = [n for n in trace.root.walk() if n.name == "Bash"]
    (event,) = bash.events
    assert event.name == "exception" and event.attributes["exception.type"] == "tool_error"
    assert event.attributes["exception.message"].startswith("[REDACTED]-2 eee")
    assert len(event.attributes["exception.message"]) == 500
    assert event.at_ns == bash.end_ns
    assert trace.root.events == []  # answered


def test_a_background_launch_result_is_never_taken_as_the_subagents_answer() -> None:
    from claudetracing.trace.chat import subagent_answer
    from claudetracing.transcript.model import AgentRun, BackgroundState, ToolCall

    run = AgentRun(prompt="p", start_ns=0, end_ns=1)
    done = ToolCall("t", "Agent", {}, 0, end_ns=1, output=[{"type": "text", "text": "Found it."}])
    assert subagent_answer(done, run) == "Found it."
    launched = ToolCall("t", "Agent", {}, 0, end_ns=1, output="Async agent launched successfully.")
    launched.background = BackgroundState(agent_id="a1")
    assert subagent_answer(launched, run) is None
    failed = ToolCall("t", "Agent", {}, 0, end_ns=1, output="boom", is_error=True)
    assert subagent_answer(failed, run) is None
