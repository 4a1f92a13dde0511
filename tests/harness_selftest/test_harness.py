"""Selftests: drive the real Claude Code CLI through the harness and check what it reports."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.harness.claude_cli import ClaudeRun, project_dir_name
from tests.harness.gitrepo import make_git_repo
from tests.harness.hooks import install_recording_hooks, read_hook_log
from tests.harness.messages_api import (
    AUX_USAGE,
    COMPACT_REQUEST_MARKER,
    COMPACT_SUMMARY_PREFIX,
    COMPACT_TEXT,
    COMPACT_USAGE,
    FORK_BOILERPLATE_MARKER,
    FORK_DIRECTIVE_PREFIX,
    REAL_LIKE,
    ApiError,
    MessagesAPI,
    Scenario,
    Step,
    Streaming,
    Subagent,
    Text,
    ToolUse,
    Turn,
    sse_events,
)
from tests.harness.scenarios import CASES, SUBAGENT_MARKER, run_case
from tests.harness.versions import ClaudeCode

STOP_KEYS = {
    "session_id",
    "transcript_path",
    "cwd",
    "prompt_id",
    "permission_mode",
    "effort",
    "hook_event_name",
    "stop_hook_active",
    "last_assistant_message",
    "background_tasks",
    "session_crons",
}


def _base_model(name: str) -> str:
    """modelUsage keys may carry a context suffix such as "[1m]"; the API model does not."""
    return name.split("[", 1)[0]


def assert_model_usage_matches(run: ClaudeRun, api: MessagesAPI) -> None:
    """modelUsage equals the sum of the usage the server sent, each response counted once."""
    assert run.result is not None
    model_usage = {_base_model(k): v for k, v in run.result["modelUsage"].items()}
    sent = api.usage_totals()
    assert set(model_usage) == set(sent)
    for model, totals in sent.items():
        got = model_usage[model]
        assert got["inputTokens"] == totals["input_tokens"], model
        assert got["outputTokens"] == totals["output_tokens"], model
        assert got["cacheReadInputTokens"] == totals["cache_read_input_tokens"], model
        assert got["cacheCreationInputTokens"] == totals["cache_creation_input_tokens"], model
        assert got["costUSD"] > 0, model


def _assistant_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("type") == "assistant"]


# Cases about what changed between the versions run against each one (the claude_version matrix)
VERSION_CASES = ("background_slow", "background_parallel", "fork", "session_ended_while_running")


@pytest.mark.claude
@pytest.mark.parametrize("name", VERSION_CASES)
def test_version_case_runs_and_verifies(
    name: str,
    claude_version: ClaudeCode,
    messages_api: MessagesAPI,
    claude_home: Path,
    git_repo: Path,
) -> None:
    (run,) = run_case(CASES[name], git_repo, claude_home, messages_api, claude=claude_version)
    assert run.version == claude_version.version
    # every scripted subagent was asked exactly as often as its script says, or (the session
    # ended under it) never got a complete answer
    for sub in CASES[name].build(git_repo).subagents:
        answered = [
            r
            for r in messages_api.message_requests()
            if r.position is not None and r.position.thread == sub.marker and r.completed
        ]
        expected = len(sub.steps)
        if name == "session_ended_while_running" or (
            name == "fork" and not claude_version.fork_subagents
        ):
            expected = 0
        assert len(answered) == expected, (sub.marker, answered)


@pytest.mark.claude
@pytest.mark.parametrize("name", sorted(set(CASES) - set(VERSION_CASES)))
def test_case_runs_and_tools_execute(
    name: str, claude_bin: str, messages_api: MessagesAPI, claude_home: Path, git_repo: Path
) -> None:
    runs = run_case(CASES[name], git_repo, claude_home, messages_api)  # verifies tool effects
    assert all(run.transcript_path == runs[0].transcript_path for run in runs)
    assert _assistant_lines(runs[0].transcript())
    if len(runs) == 1:
        assert_model_usage_matches(runs[0], messages_api)
    else:
        # each invocation's modelUsage covers only its own turn's API calls
        for turn, run in enumerate(runs):
            assert run.result is not None
            (usage,) = run.result["modelUsage"].values()
            sent = [
                r.response["usage"]["input_tokens"]
                for r in messages_api.message_requests()
                if r.position is not None and r.position.turn == turn and r.response
            ]
            assert usage["inputTokens"] == sum(sent)


@pytest.mark.claude
def test_tool_call_transcript_and_tokens(
    claude_bin: str, messages_api: MessagesAPI, claude_home: Path, git_repo: Path
) -> None:
    (run,) = run_case(CASES["tool_call"], git_repo, claude_home, messages_api)
    assistant = _assistant_lines(run.transcript())
    sent = {m["id"]: m for m in messages_api.responses("main")}
    assert len(sent) == 2
    # each API response becomes one line per content block, all sharing message.id and usage
    assert {line["message"]["id"] for line in assistant} == set(sent)
    assert len(assistant) == sum(len(m["content"]) for m in sent.values())
    for line in assistant:
        usage = line["message"]["usage"]
        assert usage["input_tokens"] == sent[line["message"]["id"]]["usage"]["input_tokens"]
        assert line["requestId"].startswith("req_")
    assert_model_usage_matches(run, messages_api)
    # result.usage is the main agent's own usage
    assert run.result is not None
    assert run.result["usage"]["input_tokens"] == sum(
        m["usage"]["input_tokens"] for m in sent.values()
    )


@pytest.mark.claude
@pytest.mark.parametrize(
    ("streaming", "written_stop_reasons"),
    [
        # the fixture's default: lines carry stop_reason null, as in real transcripts
        (REAL_LIKE, [None, None, None]),
        # 2.1.197 holds a line back until message_delta and writes the final stop reason, however
        # slowly the blocks arrive: pacing alone cannot give null (if this changes, FACTS.md must)
        (Streaming(block_pause=0.3), ["tool_use", "tool_use", "end_turn"]),
    ],
    ids=["real_like", "paced_honest"],
)
def test_streamed_response_is_written_as_lines_per_block(
    streaming: Streaming,
    written_stop_reasons: list[str | None],
    claude_bin: str,
    messages_api: MessagesAPI,
    claude_home: Path,
    git_repo: Path,
) -> None:
    messages_api.streaming = streaming
    (run,) = run_case(CASES["tool_call"], git_repo, claude_home, messages_api)
    assistant = _assistant_lines(run.transcript())
    assert [line["message"]["stop_reason"] for line in assistant] == written_stop_reasons
    # text + tool_use of one API response: two lines, one message.id, one requestId
    first, second, final = assistant
    assert [b["type"] for b in first["message"]["content"]] == ["text"]
    assert [b["type"] for b in second["message"]["content"]] == ["tool_use"]
    assert first["message"]["id"] == second["message"]["id"] != final["message"]["id"]
    assert first["requestId"] == second["requestId"]
    # each line is stamped when its block ended: the pause shows between them
    assert first["timestamp"] < second["timestamp"]
    # the scripted responses themselves keep their real stop reasons
    sent = [r["stop_reason"] for r in messages_api.responses("main")]
    assert sent == ["tool_use", "end_turn"]
    assert_model_usage_matches(run, messages_api)


@pytest.mark.claude
def test_paced_subagent_lines_keep_placeholder_output_counts(
    claude_bin: str, messages_api: MessagesAPI, claude_home: Path, git_repo: Path
) -> None:
    """2.1.197 writes a subagent's lines as soon as each block ends (no hold-back there): with a
    real-like stream they keep message_start's placeholder output count, as real transcripts
    sometimes do. Only the Agent tool result's usage has the last response's real figures."""
    assert messages_api.streaming == REAL_LIKE
    (run,) = run_case(CASES["subagent"], git_repo, claude_home, messages_api)
    ((_, lines),) = run.subagent_transcripts().items()
    sub = _assistant_lines(lines)
    sent = messages_api.responses(SUBAGENT_MARKER)
    assert [line["message"]["id"] for line in sub] == [m["id"] for m in sent]
    # Usually the placeholder (1); on a busy machine Claude Code can handle the block's end
    # after message_delta and write the real count: a race, never any other number.
    for line, message in zip(sub, sent, strict=True):
        assert line["message"]["usage"]["output_tokens"] in (1, message["usage"]["output_tokens"])
    for line, message in zip(sub, sent, strict=True):
        assert line["message"]["stop_reason"] in (None, message["stop_reason"])
    # input and cache figures are final from message_start on
    assert [line["message"]["usage"]["input_tokens"] for line in sub] == [
        m["usage"]["input_tokens"] for m in sent
    ]
    (result,) = [line for line in run.transcript() if isinstance(line.get("toolUseResult"), dict)]
    assert result["toolUseResult"]["usage"]["output_tokens"] == sent[-1]["usage"]["output_tokens"]
    # the main thread is held back until message_delta: its output counts are final
    main = _assistant_lines(run.transcript())
    by_id = {m["id"]: m for m in messages_api.responses("main")}
    for line in main:
        sent_usage = by_id[line["message"]["id"]]["usage"]
        assert line["message"]["usage"]["output_tokens"] == sent_usage["output_tokens"]
    assert_model_usage_matches(run, messages_api)  # Claude Code itself counts the real figures


@pytest.mark.claude
def test_subagent_files_and_tokens(
    claude_bin: str, messages_api: MessagesAPI, claude_home: Path, git_repo: Path
) -> None:
    (run,) = run_case(CASES["subagent"], git_repo, claude_home, messages_api)
    ((agent_id, lines),) = run.subagent_transcripts().items()
    assert all(line.get("isSidechain") is True for line in lines if "uuid" in line)
    assert {line.get("agentId") for line in lines if "uuid" in line} == {agent_id}
    meta = run.subagent_metas()[agent_id]
    main = run.transcript()
    agent_calls = [
        block
        for line in _assistant_lines(main)
        for block in line["message"]["content"]
        if block.get("type") == "tool_use" and block.get("name") == "Agent"
    ]
    assert [c["id"] for c in agent_calls] == [meta["toolUseId"]]
    (result_line,) = [line for line in main if isinstance(line.get("toolUseResult"), dict)]
    assert result_line["toolUseResult"]["agentId"] == agent_id
    assert result_line["toolUseResult"]["status"] == "completed"
    # modelUsage counts main + subagent; result.usage only the main agent
    assert_model_usage_matches(run, messages_api)
    assert run.result is not None
    main_input = sum(m["usage"]["input_tokens"] for m in messages_api.responses("main"))
    assert run.result["usage"]["input_tokens"] == main_input
    assert run.result["modelUsage"] and main_input < sum(
        v["inputTokens"] for v in run.result["modelUsage"].values()
    )


@pytest.mark.claude
def test_project_hooks_fire_in_print_mode(
    claude_bin: str, messages_api: MessagesAPI, claude_home: Path, git_repo: Path, tmp_path: Path
) -> None:
    log = tmp_path / "hooks" / "hooks.jsonl"
    install_recording_hooks(
        git_repo,
        log,
        settings_extra={
            "claudetracing": {"experiment": "x"},  # unknown key: must be ignored silently
            "env": {"CT_A": "settings", "CT_B": "settings"},
        },
    )
    (git_repo / ".claude" / "settings.local.json").write_text(
        json.dumps({"env": {"CT_B": "local"}})
    )
    (run,) = run_case(CASES["tool_call"], git_repo, claude_home, messages_api)
    assert run.stderr == ""
    records = read_hook_log(log)
    assert [r["event"] for r in records] == [
        "SessionStart",
        "UserPromptSubmit",
        "Stop",
        "SessionEnd",
    ]
    stop = records[2]["payload"]
    assert set(stop) >= STOP_KEYS
    assert stop["transcript_path"] == str(run.transcript_path)
    assert stop["session_id"] == run.session_id
    assert stop["last_assistant_message"] == "The command printed: hello"
    assert records[2]["env"]["CT_A"] == "settings"
    assert records[2]["env"]["CT_B"] == "local"  # settings.local.json wins
    assert records[3]["payload"]["reason"] == "other"


@pytest.mark.claude
def test_project_dir_name_for_long_path(
    claude_bin: str, messages_api: MessagesAPI, claude_home: Path, tmp_path: Path
) -> None:
    repo = make_git_repo(
        tmp_path / ("dir_\u00fc_\U0001f600_" + "x" * 150) / ("sub-" + "y" * 80),
        claude_home / ".gitconfig",
    )
    assert len(project_dir_name(repo)) > 200
    (run,) = run_case(CASES["tool_call"], repo, claude_home, messages_api)
    assert run.transcript_path.exists()


def _post(api: MessagesAPI, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{api.base_url}/v1/messages?beta=true",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def _post_stream(api: MessagesAPI, body: dict[str, Any]) -> str:
    """POST a streaming request and read the whole event stream."""
    request = urllib.request.Request(
        f"{api.base_url}/v1/messages?beta=true",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode())


def test_server_step_selection_without_cli() -> None:
    scenario = Scenario(
        "unit",
        turns=(
            Turn(
                "first prompt",
                (Step((ToolUse("Bash", {"command": "true"}),)), Step((Text("one"),))),
            ),
            Turn("second prompt", (Step((Text("two"),)),)),
        ),
    )
    tools = [{"name": "Bash", "input_schema": {"type": "object"}}]
    user1 = {"role": "user", "content": [{"type": "text", "text": "ctx\nfirst prompt"}]}
    with MessagesAPI(scenario) as api:
        first = _post(api, {"model": "m", "tools": tools, "messages": [user1]})
        retry = _post(api, {"model": "m", "tools": tools, "messages": [user1]})
        assert first["content"][0]["name"] == retry["content"][0]["name"] == "Bash"
        assert first["content"][0]["id"] != retry["content"][0]["id"]
        assert first["usage"] == retry["usage"] and first["stop_reason"] == "tool_use"
        history = [
            user1,
            {"role": "assistant", "content": first["content"]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "x", "content": ""}],
            },
        ]
        assert (
            _post(api, {"model": "m", "tools": tools, "messages": history})["content"][0]["text"]
            == "one"
        )
        resumed = [
            *history,
            {"role": "assistant", "content": [{"type": "text", "text": "one"}]},
            {"role": "user", "content": "second prompt"},
        ]
        answer = _post(api, {"model": "m", "tools": tools, "messages": resumed})
        assert answer["content"][0]["text"] == "two"
        # no tools offered: a side request (e.g. title generation) gets the generic answer
        aux = _post(api, {"model": "m", "messages": [user1], "tools": []})
        assert aux["usage"]["input_tokens"] == AUX_USAGE["input_tokens"]
        positions = [r.position.thread for r in api.message_requests() if r.position]
        assert positions == ["main", "main", "main", "main", "aux"]


def _post_status(api: MessagesAPI, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    try:
        return 200, _post(api, body)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_server_errors_and_compaction_without_cli() -> None:
    scenario = Scenario(
        "unit",
        turns=(
            Turn("first prompt", (Step((Text("one"),)),)),
            Turn("second prompt", (Step(error=ApiError(400, message="too bad")),)),
        ),
    )
    tools = [{"name": "Bash", "input_schema": {"type": "object"}}]
    user1 = {"role": "user", "content": "first prompt"}
    answered = [user1, {"role": "assistant", "content": [{"type": "text", "text": "one"}]}]
    with MessagesAPI(scenario) as api:
        # a scripted error: Anthropic's error body, the same answer for every retry
        failing = [*answered, {"role": "user", "content": "second prompt"}]
        for _ in range(2):
            status, body = _post_status(api, {"model": "m", "tools": tools, "messages": failing})
            assert status == 400
            assert body == {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "too bad"},
            }
        assert len(api.error_requests()) == 2 and api.message_requests() == []
        # a compaction request (Claude Code may append a role "system" message after it)
        ask = {"role": "user", "content": f"{COMPACT_REQUEST_MARKER} of this conversation."}
        compact = [*answered, ask, {"role": "system", "content": "agent listing"}]
        answer = _post(api, {"model": "m", "tools": tools, "messages": compact})
        assert answer["content"] == [{"type": "text", "text": COMPACT_TEXT}]
        assert answer["usage"]["input_tokens"] == COMPACT_USAGE["input_tokens"]
        # after it the conversation starts with the summary; the main thread is still found
        summary = {"role": "user", "content": f"{COMPACT_SUMMARY_PREFIX}.\n{COMPACT_TEXT}"}
        after = [summary, {"role": "user", "content": "first prompt"}]
        assert _post(api, {"model": "m", "tools": tools, "messages": after})["content"] == [
            {"type": "text", "text": "one"}
        ]
        threads = [r.position.thread for r in api.message_requests() if r.position]
        assert threads == ["compact", "main"]
        assert all(r.completed for r in api.message_requests())


def test_withheld_stop_reason_is_only_on_the_wire() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": dict(AUX_USAGE),
    }
    honest = dict(sse_events(message))
    withheld = dict(sse_events(message, withhold_stop_reason=True))
    assert honest["message_delta"]["delta"]["stop_reason"] == "end_turn"
    assert withheld["message_delta"]["delta"]["stop_reason"] is None
    assert withheld["message_delta"]["usage"] == honest["message_delta"]["usage"]
    assert message["stop_reason"] == "end_turn"


def _fork_conversation(directive: str) -> list[dict[str, Any]]:
    """What Claude Code 2.1.328 sends a fork subagent (shape taken from a dumped request): the
    parent's conversation, then the Agent tool_result and the boilerplate with the directive."""
    agent_call = {"description": "Count files", "prompt": directive, "subagent_type": "fork"}
    return [
        {"role": "user", "content": [{"type": "text", "text": "ctx\nfork yourself"}]},
        {"role": "system", "content": "# Environment"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Agent", "input": agent_call}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "Fork started — that fork is you."}],
                },
                {
                    "type": "text",
                    "text": f"{FORK_BOILERPLATE_MARKER}\nYou are a worker fork.\n"
                    f"</fork-boilerplate>\n\n{FORK_DIRECTIVE_PREFIX} {directive}",
                },
            ],
        },
    ]


def test_fork_requests_are_answered_from_their_subagent_script() -> None:
    scenario = Scenario(
        "unit",
        turns=(
            Turn(
                "fork yourself",
                (Step((ToolUse("Agent", {"prompt": "FORK-X: count"}),)), Step((Text("main"),))),
            ),
        ),
        subagents=(
            Subagent(
                "FORK-X", (Step((ToolUse("Bash", {"command": "ls"}),)), Step((Text("fork"),)))
            ),
        ),
    )
    tools = [{"name": "Bash", "input_schema": {"type": "object"}}]
    fork = _fork_conversation("FORK-X: count")
    with MessagesAPI(scenario) as api:
        first = _post(api, {"model": "m", "tools": tools, "messages": fork})
        assert first["content"][0]["name"] == "Bash"
        # the parent's assistant run before the fork's start does not count as a fork step
        later = [
            *fork,
            {"role": "assistant", "content": first["content"]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x"}]},
        ]
        assert _post(api, {"model": "m", "tools": tools, "messages": later})["content"] == [
            {"type": "text", "text": "fork"}
        ]
        # the parent's own next request (async launch result, no boilerplate) stays main
        parent = [
            *fork[:3],
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "launched"}],
            },
        ]
        main = _post(api, {"model": "m", "tools": tools, "messages": parent})
        assert main["content"] == [{"type": "text", "text": "main"}]
        positions = [
            (r.position.thread, r.position.step) for r in api.message_requests() if r.position
        ]
        assert positions == [("FORK-X", 0), ("FORK-X", 1), ("main", 1)]


def test_subagent_delay_stalls_only_its_first_response() -> None:
    sub = Subagent("SLOW", (Step((Text("a"),)), Step((Text("b"),))), delay=1.5)
    scenario = Scenario("unit", turns=(Turn("go", (Step((Text("main"),)),)),), subagents=(sub,))
    tools = [{"name": "Bash", "input_schema": {"type": "object"}}]
    first = [{"role": "user", "content": "SLOW: work"}]
    second = [*first, {"role": "assistant", "content": "a"}, {"role": "user", "content": "more"}]
    assert sub.step(0) == Step((Text("a"),), stall=1.5) and sub.step(1) == sub.steps[1]
    with MessagesAPI(scenario) as api:
        timings = []
        for messages in (first, second):
            started = time.monotonic()
            body = {"model": "m", "tools": tools, "messages": messages, "stream": True}
            _post_stream(api, body)
            timings.append(time.monotonic() - started)
    assert timings[0] >= 1.5 > timings[1], timings
