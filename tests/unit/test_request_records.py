"""Claude Code 2.1.328's request records on LLM spans, on real recorded transcripts.

The fixtures (tests/fixtures/requests328/README.md) hold, beside each transcript, what the
scripted server received (`server.json`): the oracle is the server's log, never the transcript's
own request records."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from claudetracing.trace.builder import SpanNode, TurnTrace, build_trace
from claudetracing.transcript import forks
from claudetracing.transcript.model import TokenTotals, run_tokens
from claudetracing.transcript.records import Record
from claudetracing.transcript.requests import message_hash
from claudetracing.transcript.turns import read_session

FIXTURES = Path(__file__).parent.parent / "fixtures"
REQUESTS = FIXTURES / "requests328"


def _main(case: str) -> Path:
    return next((REQUESTS / case).glob("*.jsonl"))


def _server(case: str) -> list[dict[str, Any]]:
    return json.loads((REQUESTS / case / "server.json").read_text())


def _traces(path: Path, **kwargs: Any) -> list[TurnTrace]:
    return [build_trace(t, "tester", **kwargs) for t in read_session(path, final=True).turns]


def _llm_spans(traces: list[TurnTrace]) -> list[tuple[SpanNode, SpanNode]]:
    """(agent span, LLM span) pairs: which agent made each call."""
    pairs = []

    def visit(agent: SpanNode, node: SpanNode) -> None:
        for child in node.children:
            if child.span_type == "LLM":
                pairs.append((agent, child))
            visit(child if child.span_type == "AGENT" else agent, child)

    for trace in traces:
        visit(trace.root, trace.root)
    return pairs


def _normalized(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's form of the messages as stored for MLflow's UI: text content as blocks, no
    cache markers or thinking signatures, a `system` message's role named in its first block."""
    out = []
    for message in messages:
        content, role = message["content"], message["role"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        marker = re.fullmatch(r"\[(\w+) message\]", content[0].get("text", "")) if content else None
        if role == "user" and marker:
            role, content = marker.group(1), content[1:]
        blocks = [
            {k: v for k, v in b.items() if k not in ("cache_control", "signature")} for b in content
        ]
        out.append({"role": role, "content": blocks})
    return out


def test_each_span_has_its_calls_purpose_and_parameters() -> None:
    server = {s["message_id"]: s for s in _server("multi") if s["message_id"]}
    pairs = _llm_spans(_traces(_main("multi")))
    assert len(pairs) == len(server)  # one span per answered request, none for failed ones
    sources = set()
    for agent, span in pairs:
        sent = server[span.attributes["anthropic.message_id"]]
        expected = "sdk" if sent["thread"] == "main" else "agent:builtin:general-purpose"
        assert span.attributes["claude_code.query_source"] == expected
        main = sent["thread"] == "main"
        assert agent.name == ("claude_code_turn" if main else "subagent:general-purpose")
        assert span.attributes["anthropic.request.model"] == sent["model"]
        assert span.attributes["anthropic.request.max_tokens"] == sent["max_tokens"]
        assert span.attributes["anthropic.request.thinking"] == sent["thinking"]
        sources.add(expected)
    assert sources == {"sdk", "agent:builtin:general-purpose"}


@pytest.mark.parametrize("case", ["multi", "fork"])
def test_span_inputs_are_the_messages_the_server_received_new(case: str) -> None:
    """Parallel subagents, a turn whose requests all failed (six, retries included) and a
    resumed turn after it: each span's messages are what the server got since its last answer."""
    server = {s["message_id"]: s for s in _server(case) if s["message_id"]}
    checked = 0
    for _, span in _llm_spans(_traces(_main(case))):
        if "claude_code.request_id" not in span.attributes:
            continue  # no request record (a fork's calls): the prompt or tool results instead
        sent = server[span.attributes["anthropic.message_id"]]
        assert _normalized(span.inputs["messages"]) == sent["new_messages"]
        checked += 1
    with_records = [s for s in server.values() if s["thread"] in ("main", "SUB-ONE", "SUB-TWO")]
    assert checked == len(with_records)


def test_stored_inputs_grow_with_the_conversation_not_its_square() -> None:
    server = [s for s in _server("multi") if s["message_id"] and s["thread"] == "main"]
    spans = [s for a, s in _llm_spans(_traces(_main("multi"))) if a.name == "claude_code_turn"]
    stored = sum(len(json.dumps(s.inputs["messages"])) for s in spans)
    whole_conversation = max(s["messages_chars"] for s in server)
    resent_each_time = sum(s["messages_chars"] for s in server)
    # Each message is stored about once (a response also opens the next call's messages).
    assert stored <= 2 * whole_conversation
    assert resent_each_time > 3 * stored


def test_span_messages_pass_through_redaction_and_the_size_cap() -> None:
    def scrub(value: Any) -> Any:
        return json.loads(json.dumps(value).replace("README.md", "[REDACTED]"))

    traces = _traces(_main("multi"), limit=1_000, scrub=scrub)
    text = json.dumps([s.inputs["messages"] for _, s in _llm_spans(traces)])
    assert "README.md" not in text and "[REDACTED]" in text
    assert "[truncated by claudetracing" in text


def test_older_transcripts_show_the_prompt_then_the_tool_results() -> None:
    """Without request records, a call's messages are what it answered: the run's prompt, then
    the results of the tools the previous call asked for."""
    folder = FIXTURES / "sessions" / "tool_call"
    path = next(p for p in folder.glob("*.jsonl") if p.name != "hooks.jsonl")
    (turn,) = read_session(path, final=True).turns
    pairs = _llm_spans(_traces(path))
    assert len(pairs) == 2
    first, second = (span.inputs for _, span in pairs)
    assert first == {
        "model": turn.run.llm_calls[0].model,
        "messages": [{"role": "user", "content": turn.run.prompt}],
    }
    (tool,) = turn.run.tool_calls
    ((message,),) = [second["messages"]]
    assert message["role"] == "user"
    assert [(b["type"], b["tool_use_id"]) for b in message["content"]] == [("tool_result", tool.id)]
    for _, span in pairs:
        assert "claude_code.query_source" not in span.attributes


def test_fork_tokens_equal_claude_codes_own_model_usage() -> None:
    """The fork's file copies the parent's Agent-calling response (same message and request
    ids): counted once, in the parent, the session's tokens equal Claude Code's `modelUsage`."""
    path = _main("fork")
    totals = TokenTotals()
    for turn in read_session(path, final=True).turns:
        turn_tokens = run_tokens(turn.run)
        for name in vars(totals):
            setattr(totals, name, getattr(totals, name) + getattr(turn_tokens, name))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    usage = [r for r in lines if r.get("type") == "cost-state"][-1]["modelUsage"]
    (model_usage,) = usage.values()
    assert totals.input == model_usage["inputTokens"]
    assert totals.output == model_usage["outputTokens"]
    assert totals.cache_read == model_usage["cacheReadInputTokens"]
    assert totals.cache_creation == model_usage["cacheCreationInputTokens"]


def test_a_fork_never_repeats_the_parents_response() -> None:
    spans = [s for _, s in _llm_spans(_traces(_main("fork")))]
    ids = [s.attributes["anthropic.message_id"] for s in spans]
    assert len(ids) == len(set(ids))
    tools = [n.name for t in _traces(_main("fork")) for n in t.root.walk() if n.span_type == "TOOL"]
    assert tools.count("Agent") == 1  # the copied Agent call is not a second tool span


def test_a_forks_own_lines_start_at_its_first_user_line() -> None:
    def record(data: dict[str, Any], n: int) -> Record:
        return Record(data, n, n * 100)

    parent_copy = {"type": "assistant", "message": {"id": "msg_parent", "content": []}}
    directive = {"type": "user", "message": {"role": "user", "content": "do it"}}
    own = {"type": "assistant", "message": {"id": "msg_fork", "content": []}}
    fork = [record({"type": "fork-context-ref"}, 0)] + [
        record(d, i) for i, d in enumerate([parent_copy, directive, own], start=1)
    ]
    assert [r.data for r in forks.own_records(fork)] == [directive, own]
    plain = fork[1:]
    assert forks.own_records(plain) == plain


def test_message_hash_is_claude_codes_content_address() -> None:
    blobs = [
        json.loads(line)
        for line in _main("multi").read_text().splitlines()
        if '"api-request-blob"' in line
    ]
    assert blobs
    for blob in blobs:
        assert message_hash(blob["message"]) == blob["hash"]


def test_a_later_read_finds_messages_written_by_earlier_turns() -> None:
    """A resumed process re-sends the history (`keep: 0`); read from its prompt on, the messages
    written by earlier turns are looked up in the whole file."""
    path = _main("multi")
    last = read_session(path, final=True).turns[-1]
    (turn,) = read_session(path, start_offset=last.start_offset, final=True).turns
    (call,) = turn.run.llm_calls
    assert call.request is not None and call.request.missing == 0
    server = {s["message_id"]: s for s in _server("multi") if s["message_id"]}
    assert _normalized(call.request.added) == server[call.message_id or ""]["new_messages"]
    assert call.request.added[0]["role"] == "assistant"  # from the earlier process's last answer
