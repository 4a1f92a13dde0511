"""Background subagents with the real Claude Code CLI: each subagent's run lands exactly once,
whole, under the `Agent` call that launched it, however long it outlives its turn.

Claude Code 2.1.3xx runs subagents in the background by default: the `Agent` call returns at
once (`isAsync`, `async_launched`), the launching turn ends (its Stop fires) while the subagent
works on, and a `<task-notification>` starts a new turn when it finishes. `claude -p` waits for
background work before it exits. Older versions run the same scripts synchronously; the traces
must be the same shape either way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from claudetracing.export.exporter import SESSION_ENDED
from tests.harness.claude_cli import (
    ClaudeRun,
    claude_bin,
    claude_env,
    config_dir,
    project_dir_name,
    run_claude,
)
from tests.harness.messages_api import MessagesAPI, Scenario, Step, Subagent, Text, ToolUse, Turn
from tests.tracing import hook_env, stored_traces, traces, wait_for_exporter

pytestmark = pytest.mark.claude

SLOW_MARKER = "SUBAGENT-SLOW"
QUICK_MARKER = "SUBAGENT-QUICK"
LAUNCH_PROMPT = "Use a subagent to list the files, and keep going while it works."
NEXT_PROMPT = "Second prompt: say hi."


def _agent(description: str, prompt: str) -> ToolUse:
    return ToolUse(
        "Agent", {"description": description, "prompt": prompt, "subagent_type": "general-purpose"}
    )


def _subagent(marker: str, command: str, stall: float) -> Subagent:
    """A subagent that thinks `stall` seconds, runs one Bash command, then answers."""
    return Subagent(
        marker,
        (
            Step((ToolUse("Bash", {"command": command, "description": command}),), stall=stall),
            Step((Text(f"{marker} done."),)),
        ),
    )


def _setup(repo: Path) -> config_mod.Config:
    done = traces("init", "--local", "--yes", cwd=repo)
    assert done.returncode == 0, done.stderr
    return config_mod.load(repo)


def _spans_by_id(trace: Any) -> dict[str, Any]:
    return {s.span_id: s for s in trace.data.spans}


def _root(trace: Any) -> Any:
    return next(s for s in trace.data.spans if s.parent_id is None)


def _model_usage_total(run: ClaudeRun) -> dict[str, int]:
    totals = {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0}
    for usage in run.result["modelUsage"].values():
        totals["input"] += usage["inputTokens"]
        totals["output"] += usage["outputTokens"]
        totals["cache_read"] += usage["cacheReadInputTokens"]
        totals["cache_creation"] += usage["cacheCreationInputTokens"]
    return totals


def _stored_total(found: list[Any]) -> dict[str, int]:
    totals = {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0}
    for trace in found:
        usage = trace.info.token_usage
        totals["input"] += usage["input_tokens"]
        totals["output"] += usage["output_tokens"]
        totals["cache_read"] += usage.get("cache_read_input_tokens", 0)
        totals["cache_creation"] += usage.get("cache_creation_input_tokens", 0)
    return totals


def _unrecorded_output(api: MessagesAPI, run: ClaudeRun) -> int:
    """Output tokens the server sent that no transcript line holds: 2.1.197 writes a subagent's
    lines before `message_delta`, with message_start's placeholder count (its last response gets
    the real count back from the Agent result, which needs a foreground call); 2.1.3xx writes the
    final count. Read from the subagent files, independently of our reader."""
    recorded: dict[str, int] = {}
    for lines in run.subagent_transcripts().values():
        for line in lines:
            message = line.get("message") or {}
            if line.get("type") == "assistant" and message.get("id"):
                out = int((message.get("usage") or {}).get("output_tokens") or 0)
                recorded[message["id"]] = max(recorded.get(message["id"], 0), out)
    missing = 0
    for response in api.message_requests():
        sent = response.response
        if sent is not None and sent["id"] in recorded:
            missing += int(sent["usage"]["output_tokens"]) - recorded[sent["id"]]
    return missing


def _sent_response_ids(api: MessagesAPI, thread: str) -> list[str]:
    return [r["id"] for r in api.responses(thread)]


def _traced_message_ids(found: list[Any]) -> list[str]:
    return [
        s.attributes["anthropic.message_id"]
        for t in found
        for s in t.data.spans
        if s.span_type == "LLM"
    ]


def _launching_trace(found: list[Any]) -> Any:
    (trace,) = [t for t in found if _root(t).inputs == {"prompt": LAUNCH_PROMPT}]
    return trace


def _subagent_span(trace: Any, marker: str) -> Any:
    spans = _spans_by_id(trace)
    (agent,) = [
        s
        for s in spans.values()
        if s.span_type == "AGENT" and s.parent_id and marker in str(s.inputs)
    ]
    assert spans[agent.parent_id].name == "Agent", "the subagent hangs under its Agent call"
    return agent


def _children(trace: Any, span: Any) -> list[Any]:
    return sorted(
        (s for s in trace.data.spans if s.parent_id == span.span_id),
        key=lambda s: s.start_time_ns,
    )


def test_a_subagent_slower_than_its_turn_lands_once_under_its_call(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    messages_api.set_scenario(
        Scenario(
            "background_slow",
            turns=(
                Turn(
                    LAUNCH_PROMPT,
                    (
                        Step((Text("Delegating."), _agent("List files", f"{SLOW_MARKER}: ls"))),
                        Step((Text("Started it; I will report when it is done."),)),
                    ),
                ),
                Turn(NEXT_PROMPT, (Step((Text("hi"),)),)),
            ),
            subagents=(_subagent(SLOW_MARKER, "ls", stall=8.0),),
        )
    )
    first = run_claude(
        LAUNCH_PROMPT, git_repo, claude_home, messages_api.base_url, extra_env=hook_env()
    ).check()
    second = run_claude(
        NEXT_PROMPT,
        git_repo,
        claude_home,
        messages_api.base_url,
        resume=first.session_id,
        extra_env=hook_env(),
    ).check()
    wait_for_exporter()
    found = stored_traces(cfg.tracking_uri, cfg.experiment)

    # every API response the scripted server sent is traced exactly once
    sent = sorted(
        _sent_response_ids(messages_api, "main") + _sent_response_ids(messages_api, SLOW_MARKER)
    )
    assert sorted(_traced_message_ids(found)) == sent
    # the subagent's whole run (two calls and its Bash) sits under the launching turn's call
    launching = _launching_trace(found)
    agent = _subagent_span(launching, SLOW_MARKER)
    kinds = [(s.span_type, s.name) for s in _children(launching, agent)]
    assert [k for k, _ in kinds] == ["LLM", "TOOL", "LLM"], kinds
    assert ("TOOL", "Bash") in kinds
    # the second process's modelUsage is cumulative in 2.1.3xx, per run in 2.1.197
    totals = _model_usage_total(second)
    if not second.result.get("modelUsage") or totals == _model_usage_total(first):
        pytest.fail("modelUsage missing from claude's result")
    cumulative = second.result["total_cost_usd"] >= first.result["total_cost_usd"] and all(
        totals[k] >= v for k, v in _model_usage_total(first).items()
    )
    expected = (
        totals
        if cumulative and len(found) > 2
        else {k: v + totals[k] for k, v in _model_usage_total(first).items()}
    )
    stored = _stored_total(found)
    agent_result_output = sum(
        int((line.get("toolUseResult") or {}).get("usage", {}).get("output_tokens") or 0)
        - 1  # the placeholder the Agent result replaces for the subagent's last response
        for line in first.transcript()
        if isinstance(line.get("toolUseResult"), dict)
        and isinstance(line["toolUseResult"].get("usage"), dict)
    )
    expected["output"] -= _unrecorded_output(messages_api, first) - agent_result_output
    assert stored == expected
    async_launch = any(
        isinstance(line.get("toolUseResult"), dict)
        and line["toolUseResult"].get("status") == "async_launched"
        for line in first.transcript()
    )
    tags = launching.info.tags
    if async_launch:
        # the notification's turn says which subagent it reports, the launching turn which ran
        assert tags["claude_code.background.launched"]
        (notified,) = [t for t in found if "claude_code.background.reports" in t.info.tags]
        assert (
            notified.info.tags["claude_code.background.reports"]
            == tags["claude_code.background.launched"]
        )
        assert _root(notified).attributes["claude_code.prompt.task_status"] == "completed"
        assert "claude_code.background.unfinished" not in tags


def test_two_background_subagents_of_different_lengths_each_land_once(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    cfg = _setup(git_repo)
    prompt = "Use two subagents in parallel: one lists files, one prints the date."
    messages_api.set_scenario(
        Scenario(
            "background_parallel",
            turns=(
                Turn(
                    prompt,
                    (
                        Step(
                            (
                                Text("Two at once."),
                                _agent("List files", f"{SLOW_MARKER}: ls"),
                                _agent("Print the date", f"{QUICK_MARKER}: date"),
                            )
                        ),
                        Step((Text("Both started."),)),
                    ),
                ),
            ),
            subagents=(
                _subagent(SLOW_MARKER, "ls", stall=6.0),
                _subagent(QUICK_MARKER, "date", stall=2.0),
            ),
        )
    )
    run = run_claude(prompt, git_repo, claude_home, messages_api.base_url, extra_env=hook_env())
    run.check()
    wait_for_exporter()
    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    sent = [
        *_sent_response_ids(messages_api, "main"),
        *_sent_response_ids(messages_api, SLOW_MARKER),
        *_sent_response_ids(messages_api, QUICK_MARKER),
    ]
    assert sorted(_traced_message_ids(found)) == sorted(sent)
    (launching,) = [t for t in found if _root(t).inputs == {"prompt": prompt}]
    for marker in (SLOW_MARKER, QUICK_MARKER):
        agent = _subagent_span(launching, marker)
        assert [s.span_type for s in _children(launching, agent)] == ["LLM", "TOOL", "LLM"]
    if "claude_code.background.launched" in launching.info.tags:  # 2.1.3xx: in the background
        launched = launching.info.tags["claude_code.background.launched"].split(",")
        reported = sorted(
            t.info.tags["claude_code.background.reports"]
            for t in found
            if "claude_code.background.reports" in t.info.tags
        )
        assert sorted(launched) == reported and len(reported) == 2


def test_a_session_ended_while_its_subagent_ran_lands_what_was_done_and_says_so(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI
) -> None:
    """Ctrl-C on `claude -p` while it waits for background work: SessionEnd fires, the
    subagent's file stops mid-run and its meta file never says `finished`."""
    cfg = _setup(git_repo)
    messages_api.set_scenario(
        Scenario(
            "session_ended_while_running",
            turns=(
                Turn(
                    LAUNCH_PROMPT,
                    (
                        Step((Text("Delegating."), _agent("List files", f"{SLOW_MARKER}: ls"))),
                        Step((Text("Started it."),)),
                    ),
                ),
            ),
            subagents=(
                Subagent(
                    SLOW_MARKER,
                    (
                        Step((ToolUse("Bash", {"command": "ls", "description": "ls"}),)),
                        Step((Text("never sent"),), stall=60.0),
                    ),
                ),
            ),
        )
    )
    cwd = Path(os.path.realpath(git_repo))
    env = claude_env(claude_home, messages_api.base_url, hook_env())
    args = [claude_bin(), "-p", LAUNCH_PROMPT, "--output-format", "json"]
    args += ["--allowedTools", "Bash", "Agent"]
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
    )
    project = config_dir(claude_home, env) / "projects" / project_dir_name(cwd)
    deadline = time.monotonic() + 60
    # the subagent has run its Bash call and waits for its second answer
    while len(messages_api.responses(SLOW_MARKER)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, "the subagent never started"
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    wait_for_exporter()
    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    (launching,) = found
    sent_sub = _sent_response_ids(messages_api, SLOW_MARKER)
    traced = _traced_message_ids(found)
    assert sent_sub[0] in traced and traced.count(sent_sub[0]) == 1
    agent = _subagent_span(launching, SLOW_MARKER)
    assert [s.name for s in _children(launching, agent) if s.span_type == "TOOL"] == ["Bash"]
    call = next(s for s in launching.data.spans if s.name == "Agent")
    if _version(project) >= (2, 1, 300):  # in the background: its turn had ended
        assert launching.info.tags["claude_code.background.unfinished"] == "1"
        assert call.attributes["subagent.background.unfinished"] == SESSION_ENDED


def _version(project: Path) -> tuple[int, ...]:
    for path in project.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            version = json.loads(line).get("version")
            if isinstance(version, str):
                return tuple(int(part) for part in version.split("."))
    raise AssertionError(f"no version in {project}")
