"""Issue 17, the stored side: what MLflow's UI reads from a trace written by a real `traces import`
into a real store, read back with MLflow's own client. Model calls in Anthropic's message format
(the UI's chat view), plain-text previews, failed spans with an `exception` event, model calls
named by what they did, token usage in MLflow's Anthropic-autolog convention, a subagent's answer
from its tool result when its own lines lack it.

`_chat_accepts_*` mirror the checks of the UI's Anthropic parser (MLflow 3.17's front end, in
mlflow/server/js/build): one block it does not know and it shows raw JSON, not chat bubbles."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from tests import realshape as rs
from tests.conftest import git
from tests.tracing import stored_traces, traces

SECRET = "dapi58b2a2055bb55bcbb37d2f2a4276b0bd"  # a Databricks token: redacted by default
TYPED = "/review src/app.py"
ANSWER = "Reviewed src/app.py: one edit did not apply."
SUBAGENT_ANSWER = "There are 3 files."

_BLOCKS = {  # type -> the fields the UI requires, and of which kind
    "text": {"text": str},
    "thinking": {"thinking": str},
    "tool_use": {"id": str, "name": str, "input": dict},
    "tool_result": {"tool_use_id": str},
}


def _chat_block(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") not in _BLOCKS:
        return False
    if not all(isinstance(block.get(k), t) for k, t in _BLOCKS[block["type"]].items()):
        return False
    if block["type"] == "tool_result":
        content = block.get("content")
        return isinstance(content, str) or (
            isinstance(content, list)
            and all(isinstance(p, dict) and p.get("type") == "text" for p in content)
        )
    return True


def _chat_message(message: Any) -> bool:
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        return False
    content = message.get("content")
    return isinstance(content, str) or (
        isinstance(content, list) and all(_chat_block(b) for b in content)
    )


def _chat_accepts_inputs(inputs: Any) -> bool:
    messages = inputs.get("messages") if isinstance(inputs, dict) else None
    return isinstance(messages, list) and bool(messages) and all(map(_chat_message, messages))


def _chat_accepts_outputs(outputs: Any) -> bool:
    return isinstance(outputs, dict) and outputs.get("type") == "message" and _chat_message(outputs)


def _stamp(t: rs.Transcript, seconds: float) -> str:
    at = t.clock + timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _review_session(folder: Path) -> rs.Transcript:
    """A slash command; a response that thinks, writes and asks for two tools, one of which
    fails with a secret in its error; an older-layout Task subagent whose lines (agent_progress
    records in the parent file) lack its final answer; the answer. Cache reads and writes."""
    t = rs.session(folder)
    t.prompt(
        "<command-message>review is running…</command-message>\n"
        "<command-name>/review</command-name>\n<command-args>src/app.py</command-args>"
    )
    t.response(
        {"type": "thinking", "thinking": "Read it, then fix the import.", "signature": "c2ln"},
        rs.text("Let me look."),
        rs.tool_use("tu1", "Read", file_path="src/app.py"),
        rs.tool_use("tu2", "Edit", file_path="src/app.py", old_string="a", new_string="b"),
        use=rs.usage(3, 40, read=32_000, write=700),
    )
    t.tool_result("tu1", "import os\n")
    t.tool_result("tu2", f"Error: token {SECRET} was rejected\n" + "x" * 3000, is_error=True)
    t.response(
        rs.tool_use("tu3", "Task", prompt="count the files", subagent_type="Explore"),
        use=rs.usage(4, 20, read=32_700),
    )
    inner = [
        {
            "type": "user",
            "timestamp": _stamp(t, 0.1),
            "message": {"role": "user", "content": [rs.text("count the files")]},
        },
        {
            "type": "assistant",
            "timestamp": _stamp(t, 0.2),
            "message": {
                "id": "msg_sub1",
                "role": "assistant",
                "model": rs.MODEL,
                "content": [rs.tool_use("tu4", "Glob", pattern="*")],
                "usage": rs.usage(6, 7),
                "stop_reason": "tool_use",
            },
        },
        {
            "type": "user",
            "timestamp": _stamp(t, 0.4),
            "message": {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "tu4", "content": "a\nb\nc"}],
            },
        },
    ]
    for message in inner:
        t.raw(
            type="progress",
            parentToolUseID="tu3",
            data={
                "type": "agent_progress",
                "agentId": "old1",
                "prompt": "count",
                "message": message,
            },
        )
    t.tool_result(
        "tu3",
        [rs.text(SUBAGENT_ANSWER), rs.text("agentId: old1 (for resuming this agent's work)")],
        meta={"status": "completed", "agentId": "old1"},
    )
    t.response(rs.text(ANSWER), use=rs.usage(5, 12, read=33_000))
    return t


def _interrupted_session(folder: Path) -> rs.Transcript:
    t = rs.session(folder)
    t.prompt("run the migration")
    t.response(rs.tool_use("tu9", "Bash", command="make migrate"), use=rs.usage(2, 9))
    t.tool_result("tu9", "[Request interrupted by user for tool use]", is_error=True)
    t.interrupt(for_tool_use=True)
    return t


@dataclass
class Imported:
    traces: dict[str, Any]  # by the root's prompt
    shown: str  # `traces show` of the review turn


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    """Both sessions through `traces init` and `traces import` into a new local store, read back
    with MLflow's client: once for the module (an import takes a minute on a busy machine)."""
    tmp_path = tmp_path_factory.mktemp("ui")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Test Dev\n\temail = dev@example.com\n")
    with pytest.MonkeyPatch.context() as env:
        for key in list(os.environ):
            if key.startswith(("DATABRICKS_", "MLFLOW_", "CLAUDETRACING_", "GIT_")):
                env.delenv(key)
        env.setenv("HOME", str(home))
        env.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        env.setenv("CLAUDETRACING_HOME", str(tmp_path / "ct-home"))
        env.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
        repo = tmp_path / "widgets"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        folder = tmp_path / "projects"
        for session in (_review_session(folder), _interrupted_session(folder)):
            path = session.save()
            ended = session.clock.timestamp()  # a past session: its last turn is over
            os.utime(path, (ended, ended))
        done = traces("init", "--local", "--yes", "--no-verify", cwd=repo)
        assert done.returncode == 0, done.stderr
        done = traces("import", str(folder), cwd=repo)
        assert done.returncode == 0, done.stderr
        cfg = config_mod.load(repo)
        import mlflow

        client = mlflow.MlflowClient(cfg.tracking_uri)
        found = stored_traces(cfg.tracking_uri, cfg.experiment)
        full = [client.get_trace(t.info.trace_id) for t in found]
        by_prompt = {_root(t).inputs["prompt"]: t for t in full}
        shown = traces("show", by_prompt[TYPED].info.trace_id, cwd=repo)
        assert shown.returncode == 0, shown.stderr
        yield Imported(by_prompt, shown.stdout)


def _root(trace: Any) -> Any:
    return next(s for s in trace.data.spans if s.parent_id is None)


def _llm(trace: Any) -> list[Any]:
    spans = [s for s in trace.data.spans if s.span_type == "LLM"]
    return sorted(spans, key=lambda s: s.start_time_ns)


def test_model_calls_are_anthropic_messages_named_by_what_they_did(imported: Imported) -> None:
    trace = imported.traces[TYPED]
    calls = _llm(trace)
    main = [s for s in calls if s.attributes["anthropic.message_id"] != "msg_sub1"]
    (sub,) = [s for s in calls if s.attributes["anthropic.message_id"] == "msg_sub1"]
    assert [s.name for s in main] == ["→ Read, Edit", "→ Task", "answer"]
    assert sub.name == "→ Glob"
    for span in calls:
        assert span.attributes["mlflow.message.format"] == "anthropic"
        assert span.attributes["mlflow.llm.model"] == rs.MODEL  # the model: an attribute
        assert _chat_accepts_inputs(span.inputs), span.inputs
        assert _chat_accepts_outputs(span.outputs), span.outputs
        assert span.inputs["model"] == rs.MODEL
    first, second, last = main
    # the messages each call added: the prompt as typed, then the tool results since
    assert first.inputs["messages"] == [{"role": "user", "content": TYPED}]
    (results,) = second.inputs["messages"]
    assert [b["tool_use_id"] for b in results["content"]] == ["tu1", "tu2"]
    assert [b["is_error"] for b in results["content"]] == [False, True]
    assert last.inputs["messages"][0]["content"][0]["tool_use_id"] == "tu3"
    # the response: an Anthropic message, thinking kept (its signature not)
    out = first.outputs
    assert (out["type"], out["role"], out["model"]) == ("message", "assistant", rs.MODEL)
    assert [b["type"] for b in out["content"]] == ["thinking", "text", "tool_use", "tool_use"]
    assert out["content"][0] == {"type": "thinking", "thinking": "Read it, then fix the import."}
    assert out["content"][3]["input"]["new_string"] == "b"
    assert out["usage"]["cache_read_input_tokens"] == 32_000
    assert last.outputs["content"] == [{"type": "text", "text": ANSWER}]
    # redacted and capped like every content: the failed Edit's result
    stored = json.dumps([s.inputs for s in calls])
    assert SECRET not in stored
    assert "[truncated by claudetracing" not in stored  # 3 kB is under the cap
    # the request's parameters of issue 14 stay attributes (none recorded before 2.1.3xx)
    assert "anthropic.request.model" not in first.attributes


def test_previews_are_the_prompt_as_typed_and_the_answer(imported: Imported) -> None:
    found = imported.traces
    review, interrupted = found[TYPED], found["run the migration"]
    assert review.info.request_preview == TYPED
    assert review.info.response_preview == ANSWER
    assert interrupted.info.request_preview == "run the migration"
    assert interrupted.info.response_preview == ""  # no answer: empty, not `{"answer": ""}`


def test_failed_tools_and_failed_turns_carry_an_exception_event(imported: Imported) -> None:
    found = imported.traces
    review, interrupted = found[TYPED], found["run the migration"]
    (edit,) = [s for s in review.data.spans if s.name == "Edit"]
    assert edit.status.status_code.value == "ERROR"
    (event,) = edit.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "tool_error"
    message = event.attributes["exception.message"]
    assert message.startswith("Error: token ") and SECRET not in message
    assert len(message) <= 500  # capped
    assert review.info.tags["tools.errors"] == "1"
    assert _root(review).events == []  # answered: the turn itself did not fail
    ok = [s for s in review.data.spans if s.status.status_code.value != "ERROR"]
    assert all(not s.events for s in ok)
    root = _root(interrupted)
    assert root.status.status_code.value == "ERROR"
    (event,) = root.events
    assert (event.name, event.attributes["exception.type"]) == ("exception", "interrupted")
    assert "interrupted by the user" in event.attributes["exception.message"]
    (bash,) = [s for s in interrupted.data.spans if s.name == "Bash"]
    assert [e.name for e in bash.events] == ["exception"]


def test_token_usage_counts_the_cache_as_mlflows_anthropic_autolog_does(imported: Imported) -> None:
    trace = imported.traces[TYPED]
    first = _llm(trace)[0]
    usage = first.attributes["mlflow.chat.tokenUsage"]
    assert usage == {
        "input_tokens": 3 + 32_000 + 700,
        "output_tokens": 40,
        "total_tokens": 3 + 32_000 + 700 + 40,
        "cache_read_input_tokens": 32_000,
        "cache_creation_input_tokens": 700,
        "cache_creation_input_tokens_above_1hr": 0,
    }
    assert first.attributes["anthropic.usage"]["input_tokens"] == 3
    # the trace's aggregate (the UI's Tokens column) counts every cache token once
    cache = 32_000 + 700 + 32_700 + 33_000
    fresh = 3 + 4 + 6 + 5
    assert trace.info.token_usage["input_tokens"] == fresh + cache
    assert trace.info.token_usage["cache_read_input_tokens"] == 32_000 + 32_700 + 33_000
    # our tags keep Anthropic's convention: input without the cache
    assert trace.info.tags["tokens.input"] == str(fresh)
    assert trace.info.tags["tokens.cache_read"] == str(32_000 + 32_700 + 33_000)
    # and our own reading of the spans is unchanged
    assert "in 3 out 40 cache 32,000" in imported.shown


def test_a_subagent_without_its_answer_takes_it_from_the_tool_result(imported: Imported) -> None:
    trace = imported.traces[TYPED]
    (agent,) = [s for s in trace.data.spans if s.name == "subagent:Explore"]
    assert agent.outputs == {"answer": SUBAGENT_ANSWER}  # without Claude Code's agentId note
    assert agent.attributes["subagent.answer_source"] == "tool_result"
