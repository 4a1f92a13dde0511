"""Situations real sessions have, produced by the real Claude Code CLI (2.1.197) with the project's
hooks: continued and resumed sessions, compaction, an API error, an image, a slash command, a
background task's notification and an interrupted turn.

What 2.1.197 writes in each (checked while writing these tests):

- ``--continue`` and ``--resume`` append to the same session file (same ``sessionId``); each run's
  ``modelUsage`` covers only that run's API calls.
- ``/compact`` in ``-p`` mode needs at least two API rounds before it. It writes, in this order,
  a ``system`` ``compact_boundary`` record (``compactMetadata``: ``trigger``, ``preTokens``,
  ``postTokens``, ``durationMs``; no usage), the ``isCompactSummary`` user line, a
  ``<local-command-caveat>`` meta line, the ``<command-name>/compact`` line (its timestamp is
  earlier than the boundary's), a ``<local-command-stdout>`` echo; all share one ``promptId``.
  No Stop hook fires for it (PreCompact, SubagentStop with an empty ``agent_type`` and SessionStart
  ``source: compact`` do). The compaction call runs with ``skipTranscript``: no
  ``subagents/agent-acompact-*.jsonl`` is written (SubagentStop names a file that never appears),
  so its tokens are in ``modelUsage`` but in no transcript. Automatic compaction looks the same
  (``trigger: auto``), written before the prompt's first response.
- A 400 answer is not retried: an assistant line with model ``<synthetic>``, a UUID as message
  id, ``stop_reason: "stop_sequence"``, zero usage, ``isApiErrorMessage: true``,
  ``apiErrorStatus: 400``, ``error: "unknown"`` and text ``API Error: 400 <message>``; the
  StopFailure hook fires instead of Stop; ``claude -p`` exits 1 with ``is_error: true``.
- ``Read`` of a PNG: the ``tool_result`` content is an ``image`` block (base64) and
  ``toolUseResult`` repeats the base64 under ``file.base64``.
- ``/hello world`` (a project command) is written as a user line
  ``<command-message>hello</command-message><command-name>/hello</command-name>
  <command-args>world</command-args>`` followed by an ``isMeta`` user line with the expanded body.
- A ``Bash`` call with ``run_in_background: true``: ``claude -p`` waits for it; when it finishes a
  user line ``<task-notification>…`` (with ``origin``) starts a second turn (its own
  UserPromptSubmit and Stop) in the same run.
- Esc in the interactive UI writes ``[Request interrupted by user for tool use]`` (during a tool)
  or ``[Request interrupted by user]`` (while a response streams), with ``interruptedMessageId``;
  no Stop hook fires for the interrupted turn.
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pexpect
import pytest

from claudetracing.core import config as config_mod
from tests.harness.claude_cli import ClaudeRun, claude_bin, claude_env, run_claude
from tests.harness.gitrepo import git, hermetic_git_env
from tests.harness.messages_api import (
    COMPACT_USAGE,
    ApiError,
    MessagesAPI,
    Scenario,
    Step,
    Text,
    ToolUse,
    Turn,
)
from tests.tracing import anthropic_usage, hook_env, stored_traces, traces, wait_for_exporter

# Expectations written for the oldest pinned Claude Code (2.1.197): the canary leaves them out.
pytestmark = [pytest.mark.claude, pytest.mark.oldest_only]

TOKEN_KEYS = {
    "input": ("input_tokens", "inputTokens"),
    "output": ("output_tokens", "outputTokens"),
    "cache_read": ("cache_read_input_tokens", "cacheReadInputTokens"),
    "cache_creation": ("cache_creation_input_tokens", "cacheCreationInputTokens"),
}


# -- helpers -------------------------------------------------------------------------------------
def _setup(repo: Path) -> config_mod.Config:
    done = traces("init", "--local", "--yes", cwd=repo)
    assert done.returncode == 0, done.stderr
    return config_mod.load(repo)


def _stored(cfg: config_mod.Config) -> list[Any]:
    wait_for_exporter()
    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    return sorted(found, key=lambda t: t.info.request_time)


def _describe(found: list[Any]) -> str:
    """What was stored, for assertion messages."""
    lines = []
    for t in found:
        outcome = _root(t).attributes.get("claude_code.outcome")
        spans = [(s.name, s.span_type, s.status.status_code) for s in t.data.spans]
        lines.append(f"{_prompt(t)!r}: {t.info.state} {outcome} {t.info.token_usage} {spans}")
    return "\n".join(lines)


def _root(trace: Any) -> Any:
    return next(s for s in trace.data.spans if s.parent_id is None)


def _prompt(trace: Any) -> Any:
    return (_root(trace).inputs or {}).get("prompt")


def _assert_answered(trace: Any) -> None:
    root = _root(trace)
    assert trace.info.state == "OK", (_prompt(trace), root.status)
    assert root.attributes.get("claude_code.outcome") == "answered", _prompt(trace)


def _traced_tokens(found: list[Any]) -> dict[str, int]:
    totals = dict.fromkeys(TOKEN_KEYS, 0)
    for trace in found:
        usage = anthropic_usage(trace.info.token_usage or {})
        for name, (key, _) in TOKEN_KEYS.items():
            totals[name] += int(usage.get(key, 0))
    return totals


def _model_usage(runs: list[ClaudeRun]) -> dict[str, int]:
    """Claude Code's own accounting, summed over runs (2.1.197 reports each run's calls)."""
    totals = dict.fromkeys(TOKEN_KEYS, 0)
    for run in runs:
        assert run.result is not None
        for usage in run.result["modelUsage"].values():
            for name, (_, key) in TOKEN_KEYS.items():
                totals[name] += int(usage[key])
    return totals


def _minus(totals: dict[str, int], usage: Mapping[str, Any]) -> dict[str, int]:
    return {name: totals[name] - int(usage.get(key, 0)) for name, (key, _) in TOKEN_KEYS.items()}


def _sent_tokens(api: MessagesAPI) -> dict[str, int]:
    """What the scripted API sent and Claude Code received in full (all models, no side calls)."""
    totals = dict.fromkeys(TOKEN_KEYS, 0)
    for usage in api.usage_totals(include_aux=False).values():
        for name, (key, _) in TOKEN_KEYS.items():
            totals[name] += usage[key]
    return totals


def _spans(trace: Any, *, name: str | None = None, kind: str | None = None) -> list[Any]:
    return [
        s
        for s in trace.data.spans
        if (name is None or s.name == name) and (kind is None or s.span_type == kind)
    ]


def _bash(command: str, description: str, **extra: Any) -> ToolUse:
    return ToolUse("Bash", {"command": command, "description": description, **extra})


def _run(prompt: str, repo: Path, home: Path, api: MessagesAPI, **kwargs: Any) -> ClaudeRun:
    return run_claude(prompt, repo, home, api.base_url, extra_env=hook_env(), **kwargs).check()


# -- a) --continue and --resume ------------------------------------------------------------------
P_FIRST = "First run: print one."
P_CONTINUE = "Second run, continued: print two."
P_RESUME = "Third run, resumed: say done."


def test_continue_and_resume_add_one_trace_per_prompt(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    messages_api.set_scenario(
        Scenario(
            "continue_resume",
            turns=(
                Turn(P_FIRST, (Step((_bash("echo one", "Print one"),)), Step((Text("one"),)))),
                Turn(
                    P_CONTINUE,
                    (
                        Step((Text("Printing."), _bash("echo two", "Print two"))),
                        Step((Text("two"),)),
                    ),
                ),
                Turn(P_RESUME, (Step((Text("done"),)),)),
            ),
        )
    )
    first = _run(P_FIRST, git_repo, claude_home, messages_api)
    second = _run(P_CONTINUE, git_repo, claude_home, messages_api, extra_args=["--continue"])
    third = _run(P_RESUME, git_repo, claude_home, messages_api, resume=first.session_id)
    runs = [first, second, third]
    found = _stored(cfg)

    # 2.1.197 appends both to the first session's file
    assert {run.session_id for run in runs} == {first.session_id}
    assert [_prompt(t) for t in found] == [P_FIRST, P_CONTINUE, P_RESUME]
    assert [_root(t).outputs for t in found] == [{"answer": a} for a in ("one", "two", "done")]
    assert {t.info.trace_metadata["mlflow.trace.session"] for t in found} == {first.session_id}
    for trace in found:
        _assert_answered(trace)
    assert _traced_tokens(found) == _model_usage(runs)


# -- b) compaction -------------------------------------------------------------------------------
P_BEFORE_COMPACT = "Before compacting: print hi."


def test_manual_compact_in_2_1_197_leaves_no_call_to_trace(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    messages_api.set_scenario(
        Scenario(
            "compact",
            turns=(
                Turn(
                    P_BEFORE_COMPACT,
                    (
                        Step((Text("Printing."), _bash("echo hi", "Print hi"))),
                        Step((Text("It printed hi."),)),
                    ),
                ),
            ),
        )
    )
    first = _run(P_BEFORE_COMPACT, git_repo, claude_home, messages_api)
    compact = _run("/compact", git_repo, claude_home, messages_api, resume=first.session_id)
    assert len(messages_api.responses("compact")) == 1  # one compaction call, in the second run
    lines = compact.transcript()
    assert any(line.get("isCompactSummary") for line in lines)
    assert any(line.get("subtype") == "compact_boundary" for line in lines)
    # 2.1.197 runs the compaction call with skipTranscript: no agent-acompact file (older and
    # newer versions write one, and it becomes a `compaction` span: tests/integration).
    assert not list(compact.project_dir.rglob("agent-acompact-*.jsonl"))
    found = _stored(cfg)

    # No call of `/compact` is recorded, so no trace is invented for it; the turn before is
    # traced once and answered, and the traces hold everything but the compaction, exactly.
    assert [_prompt(t) for t in found] == [P_BEFORE_COMPACT], _describe(found)
    _assert_answered(found[0])
    assert _traced_tokens(found) == _minus(_model_usage([first, compact]), COMPACT_USAGE)


P_BIG = "Large context: print big."
P_AFTER = "After the context filled up: print small."
# 60k tokens of context on a 100k window with a 50 % threshold: the next run compacts first.
BIG_USAGE = {
    "input_tokens": 50,
    "output_tokens": 20,
    "cache_read_input_tokens": 60000,
    "cache_creation_input_tokens": 0,
}
AUTO_COMPACT_ENV = {
    "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "50",
    "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "100000",
}


def test_automatic_compaction_in_2_1_197_costs_only_its_own_unrecorded_call(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    messages_api.set_scenario(
        Scenario(
            "auto_compact",
            turns=(
                Turn(
                    P_BIG,
                    (
                        Step((Text("Printing."), _bash("echo big", "Print big")), usage=BIG_USAGE),
                        Step((Text("big"),), usage=BIG_USAGE),
                    ),
                ),
                Turn(
                    P_AFTER,
                    (
                        Step((Text("Printing."), _bash("echo small", "Print small"))),
                        Step((Text("small"),)),
                    ),
                ),
            ),
        )
    )
    env = {**hook_env(), **AUTO_COMPACT_ENV}
    first = run_claude(P_BIG, git_repo, claude_home, messages_api.base_url, extra_env=env).check()
    after = run_claude(
        P_AFTER,
        git_repo,
        claude_home,
        messages_api.base_url,
        resume=first.session_id,
        extra_env=env,
    ).check()
    assert len(messages_api.responses("compact")) == 1
    boundary = [line for line in after.transcript() if line.get("subtype") == "compact_boundary"]
    assert [b["compactMetadata"]["trigger"] for b in boundary] == ["auto"]
    found = _stored(cfg)

    assert not list(after.project_dir.rglob("agent-acompact-*.jsonl"))  # skipTranscript

    # The compaction splits no turn and costs no answer its status; only its own call, which
    # 2.1.197 records nowhere but modelUsage, is missing from the traces.
    assert [_prompt(t) for t in found] == [P_BIG, P_AFTER]
    for trace in found:
        _assert_answered(trace)
    assert _traced_tokens(found) == _minus(_model_usage([first, after]), COMPACT_USAGE)


# -- c) an API error -----------------------------------------------------------------------------
P_ERROR = "Print hi, then the API fails."


def test_api_error_turn_is_an_error_trace_without_a_synthetic_llm_span(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    messages_api.set_scenario(
        Scenario(
            "api_error",
            turns=(
                Turn(
                    P_ERROR,
                    (
                        Step((Text("Printing."), _bash("echo hi", "Print hi"))),
                        Step(error=ApiError(400, "invalid_request_error", "Scripted refusal")),
                    ),
                ),
            ),
        )
    )
    run = run_claude(P_ERROR, git_repo, claude_home, messages_api.base_url, extra_env=hook_env())
    assert run.returncode == 1 and run.result is not None and run.result["is_error"] is True
    assert run.result["result"] == "API Error: 400 Scripted refusal"
    assert len(messages_api.error_requests()) == 1  # not retried
    (notice,) = [
        line
        for line in run.transcript()
        if line.get("type") == "assistant" and line["message"]["model"] == "<synthetic>"
    ]
    assert notice["isApiErrorMessage"] is True and notice["apiErrorStatus"] == 400
    (trace,) = _stored(cfg)

    root = _root(trace)
    assert trace.info.state == "ERROR"
    assert root.attributes.get("claude_code.outcome") == "api_error"
    (message,) = _spans(trace, name="claude_code_message")
    assert message.status.status_code == "ERROR"
    (llm,) = _spans(trace, kind="LLM")  # the one real response; the notice is no API call
    assert "<synthetic>" not in json.dumps(llm.attributes)
    assert _traced_tokens([trace]) == _model_usage([run])


# -- d) an image ---------------------------------------------------------------------------------
P_IMAGE = "Look at pixels.png and describe it."


def _png(width: int, height: int) -> bytes:
    """A valid RGB PNG of pseudo-random pixels (they do not compress: the base64 stays long)."""
    seed, rows = 12345, []
    for _ in range(height):
        row = bytearray([0])  # filter type: none
        for _ in range(width * 3):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            row.append(seed >> 16 & 0xFF)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def test_image_read_by_a_tool_is_cut_from_the_trace(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    import base64

    image = git_repo / "pixels.png"
    image.write_bytes(_png(24, 24))
    env = hermetic_git_env(claude_home / ".gitconfig")
    git(git_repo, "add", "pixels.png", env=env)
    git(git_repo, "commit", "-q", "-m", "Add pixels.png", env=env)
    encoded = base64.b64encode(image.read_bytes()).decode()
    assert len(encoded) > 2000
    cfg = _setup(git_repo)
    messages_api.set_scenario(
        Scenario(
            "image",
            turns=(
                Turn(
                    P_IMAGE,
                    (
                        Step((ToolUse("Read", {"file_path": str(image)}),)),
                        Step((Text("A square of coloured noise."),)),
                    ),
                ),
            ),
        )
    )
    run = _run(P_IMAGE, git_repo, claude_home, messages_api)
    result_line = next(line for line in run.transcript() if "toolUseResult" in line)
    assert result_line["toolUseResult"]["file"]["base64"] == encoded  # what the product must cut
    (trace,) = _stored(cfg)

    _assert_answered(trace)
    (read,) = _spans(trace, name="Read")
    assert read.status.status_code == "OK"
    assert read.outputs and encoded not in json.dumps(read.outputs)
    for span in trace.data.spans:  # nowhere else either (LLM inputs, attributes)
        assert encoded[:400] not in json.dumps(
            [span.inputs, span.outputs, span.attributes], default=str
        ), span.name
    assert _traced_tokens([trace]) == _model_usage([run])


# -- e) a slash command --------------------------------------------------------------------------
COMMAND_BODY = "Say a friendly hello to $ARGUMENTS."


def test_slash_command_prompt_is_shown_as_typed(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    commands = git_repo / ".claude" / "commands"
    commands.mkdir(parents=True, exist_ok=True)
    (commands / "hello.md").write_text(f"---\ndescription: Greet someone\n---\n{COMMAND_BODY}\n")
    # the API sees the expanded body, never "/hello"
    expanded = COMMAND_BODY.replace("$ARGUMENTS", "world")
    messages_api.set_scenario(
        Scenario("command", turns=(Turn(expanded, (Step((Text("Hello, world!"),)),)),))
    )
    run = _run("/hello world", git_repo, claude_home, messages_api)
    (typed,) = [
        line
        for line in run.transcript()
        if line.get("type") == "user" and "<command-name>/hello" in str(line["message"]["content"])
    ]
    assert "<command-args>world</command-args>" in typed["message"]["content"]
    (trace,) = _stored(cfg)

    _assert_answered(trace)
    root = _root(trace)
    assert root.inputs == {"prompt": "/hello world"}
    assert root.attributes.get("claude_code.prompt.command") == "/hello"
    assert "<command" not in (trace.info.request_preview or "")
    assert _traced_tokens([trace]) == _model_usage([run])


# -- f) a background task whose notification starts a turn ---------------------------------------
P_BACKGROUND = "Start a slow command in the background."


def test_background_task_notification_is_its_own_turn(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    messages_api.set_scenario(
        Scenario(
            "background",
            turns=(
                Turn(
                    P_BACKGROUND,
                    (
                        Step(
                            (
                                Text("Starting it."),
                                _bash("sleep 2; echo finished", "Slow", run_in_background=True),
                            )
                        ),
                        Step((Text("It runs in the background."),)),
                    ),
                ),
                # the notification is a user message of its own: the second scripted turn
                Turn("<task-notification>", (Step((Text("The background command finished."),)),)),
            ),
        )
    )
    run = _run(P_BACKGROUND, git_repo, claude_home, messages_api)
    assert run.result is not None and run.result["result"] == "The background command finished."
    notifications = [
        line
        for line in run.transcript()
        if line.get("type") == "user"
        and str(line["message"]["content"]).startswith("<task-notification>")
    ]
    assert len(notifications) == 1
    found = _stored(cfg)

    assert len(found) == 2
    started, notified = found
    assert _prompt(started) == P_BACKGROUND
    assert _root(started).outputs == {"answer": "It runs in the background."}
    assert _root(notified).outputs == {"answer": "The background command finished."}
    # Claude Code's notification reads as what it is, with the task kept as attributes.
    assert _prompt(notified).startswith("[background task] ")
    assert "<" not in notified.info.request_preview
    assert _root(notified).attributes["claude_code.prompt.task_status"] == "completed"
    (bash,) = _spans(started, name="Bash")
    assert bash.status.status_code == "OK"
    for trace in found:
        _assert_answered(trace)
    assert _traced_tokens(found) == _model_usage([run])


# -- g) an interrupted turn (interactive UI, Esc) ------------------------------------------------
P_INTERRUPTED = "Do something slow."
P_NEXT = "Now answer quickly."
API_KEY = "sk-ant-scripted-0123456789abcdefghij"


@contextmanager
def _interactive(repo: Path, home: Path, api: MessagesAPI) -> Iterator[pexpect.spawn]:
    """The interactive UI in a pseudo-terminal, past onboarding, trust and API-key prompts."""
    repo = Path(os.path.realpath(repo))
    state = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
        "projects": {str(repo): {"hasTrustDialogAccepted": True}},
    }
    (home / ".claude.json").write_text(json.dumps(state))
    env = claude_env(home, api.base_url, {**hook_env(), "ANTHROPIC_API_KEY": API_KEY})
    env["TERM"] = "xterm-256color"
    child = pexpect.spawn(
        claude_bin(),
        ["--allowedTools", "Bash"],
        cwd=str(repo),
        env=env,
        encoding="utf-8",
        dimensions=(40, 140),
        timeout=30,
    )
    try:
        child.expect("shortcuts")  # the prompt box is ready
        yield child
    finally:
        if child.isalive():
            child.sendcontrol("d")
            _drain(child, 0.5)
            child.sendcontrol("d")
            try:
                child.expect(pexpect.EOF, timeout=15)
            except pexpect.TIMEOUT:
                child.terminate(force=True)


def _type(child: pexpect.spawn, text: str) -> None:
    child.send(text)
    _drain(child, 0.3)  # let the UI take the text before Enter
    child.send("\r")


def _drain(child: pexpect.spawn, seconds: float) -> None:
    """Read the UI's output for a while: a full pseudo-terminal would block Claude Code."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        with suppress(pexpect.TIMEOUT, pexpect.EOF):
            child.read_nonblocking(size=65536, timeout=min(0.1, left))


def _until(child: pexpect.spawn, check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        _drain(child, 0.1)


def _transcript_lines(home: Path) -> list[dict[str, Any]]:
    return [
        line for path in (home / ".claude" / "projects").glob("*/*.jsonl") for line in _read(path)
    ]


def _main_requests(api: MessagesAPI) -> int:
    return sum(1 for r in api.message_requests() if r.position and r.position.thread == "main")


@pytest.mark.parametrize("during", ["tool", "response"])
def test_interrupted_turn_is_an_error_and_the_next_turn_is_answered(
    during: str, git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    flag = git_repo / "started.flag"
    if during == "tool":  # Esc while a tool runs
        slow = (
            Step((Text("Working."), _bash(f"touch {flag}; sleep 30", "Slow"))),
            Step((Text("never sent"),)),
        )
        started = flag.exists
    else:  # Esc while a response streams (after a quick tool call)
        slow = (
            Step((Text("Working."), _bash("echo quick", "Quick"))),
            Step((Text("never finished"),), stall=30),
        )

        def started() -> bool:
            return _main_requests(messages_api) >= 2

    messages_api.set_scenario(
        Scenario(
            "interrupt",
            turns=(Turn(P_INTERRUPTED, slow), Turn(P_NEXT, (Step((Text("Quick answer."),)),))),
        )
    )

    def answered() -> bool:
        return any(
            line.get("type") == "assistant" and "Quick answer." in json.dumps(line)
            for line in _transcript_lines(claude_home)
        )

    with _interactive(git_repo, claude_home, messages_api) as child:
        _type(child, P_INTERRUPTED)
        _until(child, started, "the slow part")
        _drain(child, 0.5)
        child.send("\x1b")  # Esc
        _drain(child, 1.5)
        _type(child, P_NEXT)
        _until(child, answered, "the second answer in the transcript")
        _drain(child, 1.0)  # the Stop hook
    markers = [
        line["message"]["content"][0]["text"]
        for line in _transcript_lines(claude_home)
        if line.get("type") == "user"
        and isinstance(line["message"]["content"], list)
        and str(line["message"]["content"][0].get("text", "")).startswith("[Request interrupted")
    ]
    expected_marker = {
        "tool": "[Request interrupted by user for tool use]",
        "response": "[Request interrupted by user]",
    }[during]
    assert markers == [expected_marker]
    found = _stored(cfg)

    assert [_prompt(t) for t in found] == [P_INTERRUPTED, P_NEXT]
    interrupted, answered = found
    assert interrupted.info.state == "ERROR"
    assert _root(interrupted).attributes.get("claude_code.outcome") == "interrupted"
    _assert_answered(answered)
    # no modelUsage in the interactive UI: compare with what the API sent in full
    assert _traced_tokens(found) == _sent_tokens(messages_api)


def _read(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # a line being written
    return lines
