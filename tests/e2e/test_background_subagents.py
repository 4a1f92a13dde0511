"""Background and fork subagents with the real Claude Code CLI, at every pinned version: each
subagent's run lands exactly once, whole, under the `Agent` call that launched it, however long
it outlives its turn (ADR 12).

Claude Code 2.1.3xx runs subagents in the background by default: the `Agent` call returns at
once (`isAsync`, `async_launched`), the launching turn ends (its Stop fires) while the subagent
works on, and a `<task-notification>` starts a new turn when it finishes. `claude -p` waits for
background work before it exits. 2.1.197 runs the same scripts in the foreground; the traces
must have the same shape either way. The scenarios, and what each version writes for them, are
in tests/harness/scenarios.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from claudetracing.export.exporter import SESSION_ENDED
from tests.harness.claude_cli import ClaudeRun
from tests.harness.messages_api import MessagesAPI
from tests.harness.scenarios import (
    ALPHA_MARKER,
    BETA_MARKER,
    CASES,
    ENDED_MARKER,
    FORK_MARKER,
    QUICK_MARKER,
    SLOW_MARKER,
    SLOWER_MARKER,
    run_case,
)
from tests.harness.versions import ClaudeCode
from tests.tracing import anthropic_usage, hook_env, stored_traces, traces, wait_for_exporter

pytestmark = pytest.mark.claude

MARKERS = {
    "background_slow": (SLOW_MARKER,),
    "background_parallel": (QUICK_MARKER, SLOWER_MARKER),
    "parallel_subagents": (ALPHA_MARKER, BETA_MARKER),  # both quick: notified together
    "fork": (FORK_MARKER,),
    "session_ended_while_running": (ENDED_MARKER,),
}


def _root(trace: Any) -> Any:
    return next(s for s in trace.data.spans if s.parent_id is None)


def _children(trace: Any, span: Any) -> list[Any]:
    return sorted(
        (s for s in trace.data.spans if s.parent_id == span.span_id),
        key=lambda s: s.start_time_ns,
    )


def _subagent_span(found: list[Any], marker: str) -> tuple[Any, Any, Any]:
    """(trace, the subagent's AGENT span, the Agent call it hangs under), found once."""
    hits = [
        (trace, span)
        for trace in found
        for span in trace.data.spans
        if span.span_type == "AGENT" and span.parent_id and marker in str(span.inputs)
    ]
    assert len(hits) == 1, f"{marker}: {len(hits)} subagent spans"
    trace, agent = hits[0]
    call = next(s for s in trace.data.spans if s.span_id == agent.parent_id)
    assert call.name == "Agent" and call.span_type == "TOOL"
    return trace, agent, call


def _totals(usages: list[dict[str, int]]) -> dict[str, int]:
    keys = ("input_tokens", "output_tokens", "cache_read_input_tokens")
    return {k: sum(u.get(k, 0) for u in usages) for k in keys}


def _recorded_output(runs: list[ClaudeRun]) -> dict[str, int]:
    """The largest output count any line records for each message id, read from the files
    (independently of our reader): what "as recorded" means for a response."""
    recorded: dict[str, int] = {}
    for run in runs:
        files = [run.transcript(), *run.subagent_transcripts().values()]
        for lines in files:
            for line in lines:
                message = line.get("message") or {}
                if line.get("type") == "assistant" and message.get("id"):
                    out = int((message.get("usage") or {}).get("output_tokens") or 0)
                    recorded[message["id"]] = max(recorded.get(message["id"], 0), out)
        for line in run.transcript():
            meta = line.get("toolUseResult")
            usage = meta.get("usage") if isinstance(meta, dict) else None
            if isinstance(usage, dict):  # a foreground subagent's last response, real count
                recorded[f"result:{usage.get('input_tokens')}"] = int(usage["output_tokens"])
    return recorded


def _expected_tokens(api: MessagesAPI, runs: list[ClaudeRun]) -> dict[str, int]:
    """What the server sent for every response the transcripts hold, each once, with output
    as recorded: the oracle is the server, not the transcript reader."""
    recorded = _recorded_output(runs)
    usages = []
    for request in api.message_requests():
        sent = request.response
        if sent is None or sent["id"] not in recorded or not request.completed:
            continue
        usage = dict(sent["usage"])
        by_result = recorded.get(f"result:{usage['input_tokens']}")
        usage["output_tokens"] = by_result or recorded[sent["id"]]
        usages.append(usage)
    return _totals(usages)


def _traced(case: str, repo: Path, home: Path, api: MessagesAPI, claude: ClaudeCode) -> Any:
    done = traces("init", "--local", "--yes", cwd=repo)
    assert done.returncode == 0, done.stderr
    cfg = config_mod.load(repo)
    runs = run_case(CASES[case], repo, home, api, extra_env=hook_env(), claude=claude)
    wait_for_exporter()
    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    # every response the transcripts hold is traced exactly once, and nothing else
    sent = sorted(
        r["id"]
        for thread in ("main", *MARKERS[case])
        for r in api.responses(thread)
        if r["id"] in _recorded_output(runs)
    )
    traced = sorted(
        s.attributes["anthropic.message_id"]
        for t in found
        for s in t.data.spans
        if s.span_type == "LLM"
    )
    assert traced == sent
    stored = [anthropic_usage(t.info.token_usage) for t in found]
    assert _totals(stored) == _expected_tokens(api, runs)
    return runs, found


@pytest.mark.parametrize(
    "case", ["background_slow", "background_parallel", "parallel_subagents", "fork"]
)
def test_each_subagent_lands_once_under_its_call(
    case: str,
    git_repo: Path,
    claude_home: Path,
    messages_api: MessagesAPI,
    claude_version: ClaudeCode,
) -> None:
    if case == "fork" and not claude_version.fork_subagents:
        # 2.1.197 has no forks: the call fails; the turn is still traced, once
        _, found = _traced(case, git_repo, claude_home, messages_api, claude_version)
        (trace,) = found
        call = next(s for s in trace.data.spans if s.name == "Agent")
        assert call.status.status_code.value == "ERROR"
        return
    _, found = _traced(case, git_repo, claude_home, messages_api, claude_version)
    launching = None
    for marker in MARKERS[case]:
        trace, agent, call = _subagent_span(found, marker)
        assert launching in (None, trace), "both subagents sit in the turn that launched them"
        launching = trace
        # its whole run: a call that asks for a tool (Bash or Read), the tool, the answer
        kinds = [(s.span_type, s.name) for s in _children(trace, agent)]
        assert [k for k, _ in kinds] == ["LLM", "TOOL", "LLM"], kinds
        assert kinds[1][1] in ("Bash", "Read")
        assert call.end_time_ns >= agent.end_time_ns  # the call spans the subagent's work
    assert launching is not None
    tags = launching.info.tags
    if claude_version.background_agents:
        launched = tags["claude_code.background.launched"].split(",")
        reports = [  # notifications answered together are one turn: "id1,id2"
            agent_id
            for t in found
            if "claude_code.background.reports" in t.info.tags
            for agent_id in t.info.tags["claude_code.background.reports"].split(",")
        ]
        assert sorted(launched) == sorted(reports) and len(reports) == len(MARKERS[case])
        assert "claude_code.background.unfinished" not in tags
    else:
        assert "claude_code.background.launched" not in tags
        assert len(found) == 1


def test_a_session_ended_while_its_subagent_ran_says_so(
    git_repo: Path, claude_home: Path, messages_api: MessagesAPI, claude_version: ClaudeCode
) -> None:
    """Ctrl-C on `claude -p` while the subagent waits for its model: SessionEnd fires, the
    subagent's file stops at its request and its meta file never says `finished`."""
    _, found = _traced(
        "session_ended_while_running", git_repo, claude_home, messages_api, claude_version
    )
    if not claude_version.background_agents:
        # In the foreground the interrupt aborts the turn itself. Whether 2.1.197 has written
        # the response that launched the subagent by then is a race (seen both ways under
        # load); `_traced` has checked that whatever it wrote is traced once. When it is
        # there, the trace marks the call failed and shows the subagent never answered.
        assert len(found) <= 1
        for trace in found:
            call = next(s for s in trace.data.spans if s.name == "Agent")
            # no result, or the rejection 2.1.197 writes for a call cut off by the interrupt
            assert call.status.status_code.value == "ERROR"
            assert any(
                text in call.status.description
                for text in ("no tool result", "The user doesn't want to proceed")
            ), call.status.description
            subagents = [s for s in trace.data.spans if s.parent_id == call.span_id]
            assert all(_children(trace, agent) == [] for agent in subagents)
        return
    (trace,) = found
    call = next(s for s in trace.data.spans if s.name == "Agent")
    # its turn had ended, answered: the trace says the subagent was cut off, not the turn
    assert trace.info.state.value == "OK"
    assert trace.info.tags["claude_code.background.unfinished"] == "1"
    assert call.attributes["subagent.background.unfinished"] == SESSION_ENDED
