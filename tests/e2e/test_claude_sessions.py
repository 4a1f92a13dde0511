"""The real Claude Code CLI, real hooks, a repository set up with `traces init --local`.

Each case runs `claude -p` against the scripted Messages API; the committed hooks spool the
events and a detached exporter writes the traces into the embedded local store.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from claudetracing.core import paths
from tests.harness.scenarios import CASES, run_case
from tests.harness.versions import ClaudeCode
from tests.tracing import (
    anthropic_usage,
    hook_env,
    stored_traces,
    traces,
    unrecorded_output,
    wait_for_exporter,
)

pytestmark = pytest.mark.claude


def _setup(repo: Path) -> config_mod.Config:
    done = traces("init", "--local", "--yes", cwd=repo)
    assert done.returncode == 0, done.stderr
    settings = json.loads((repo / ".claude" / "settings.json").read_text())
    assert {"Stop", "SessionEnd"} <= set(settings["hooks"])
    return config_mod.load(repo)


def _spans(trace: Any) -> dict[str, Any]:
    return {s.span_id: s for s in trace.data.spans}


def _root(trace: Any) -> Any:
    return next(s for s in trace.data.spans if s.parent_id is None)


def _tokens(traces_: list[Any]) -> dict[str, int]:
    totals = {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0}
    for trace in traces_:
        usage = anthropic_usage(trace.info.token_usage)
        totals["input"] += usage["input_tokens"]
        totals["output"] += usage["output_tokens"]
        totals["cache_read"] += usage.get("cache_read_input_tokens", 0)
        totals["cache_creation"] += usage.get("cache_creation_input_tokens", 0)
    return totals


def _model_usage(runs: list[Any]) -> dict[str, int]:
    totals = {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0}
    # 2.1.328 reports a resumed session's modelUsage for the whole session, 2.1.197 per run
    if runs and runs[-1].claude.cumulative_resume_usage:
        runs = runs[-1:]
    for run in runs:
        for usage in run.result["modelUsage"].values():
            totals["input"] += usage["inputTokens"]
            totals["output"] += usage["outputTokens"]
            totals["cache_read"] += usage["cacheReadInputTokens"]
            totals["cache_creation"] += usage["cacheCreationInputTokens"]
    return totals


def _run(
    name: str, git_repo: Path, claude_home: Path, messages_api: Any, claude: ClaudeCode
) -> tuple[list[Any], list[Any]]:
    cfg = _setup(git_repo)
    runs = run_case(
        CASES[name], git_repo, claude_home, messages_api, extra_env=hook_env(), claude=claude
    )
    wait_for_exporter()
    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    expected = _model_usage(runs)
    expected["output"] -= sum(out for _, out in unrecorded_output(messages_api, runs, claude))
    assert _tokens(found) == expected, "token totals differ from Claude Code's own"
    return runs, sorted(found, key=lambda t: t.info.request_time)


def _agent_trace(found: list[Any], claude: ClaudeCode, notifications: int = 1) -> Any:
    """The trace of the turn that launched the subagents. Where subagents run in the background
    (2.1.328) each one's end starts a `<task-notification>` turn of its own (or one for
    several that end together); the launching turn stays the first trace."""
    first, *later = found
    if claude.background_agents:
        assert 1 <= len(later) <= notifications, [_root(t).inputs for t in found]
        assert all("[background task]" in str(_root(t).inputs) for t in later)
    else:
        assert later == []
    return first


def _check_times(trace: Any) -> None:
    spans = _spans(trace)
    for span in spans.values():
        assert span.start_time_ns <= span.end_time_ns
        if span.parent_id:
            parent = spans[span.parent_id]
            assert (
                parent.start_time_ns <= span.start_time_ns <= span.end_time_ns <= parent.end_time_ns
            )


def test_tool_call(
    git_repo: Path, claude_home: Path, messages_api: Any, claude_version: ClaudeCode
) -> None:
    runs, (trace,) = _run("tool_call", git_repo, claude_home, messages_api, claude_version)
    root = _root(trace)
    assert root.inputs == {"prompt": CASES["tool_call"].build(git_repo).turns[0].prompt}
    assert root.outputs == {"answer": runs[0].result["result"]}
    kinds = [s.span_type for s in sorted(trace.data.spans, key=lambda s: s.start_time_ns)]
    assert kinds == ["AGENT", "LLM", "TOOL", "LLM"]
    bash = next(s for s in trace.data.spans if s.span_type == "TOOL")
    assert bash.name == "Bash" and "hello" in str(bash.outputs)
    assert trace.info.trace_metadata["mlflow.trace.session"] == runs[0].session_id
    _check_times(trace)
    # Real timestamps: within the run, not the export's clock.
    started = root.start_time_ns / 1e9
    assert time.time() - 300 < started < time.time()


def test_subagent_that_calls_a_tool_nests_under_the_agent_span(
    git_repo: Path, claude_home: Path, messages_api: Any, claude_version: ClaudeCode
) -> None:
    _, found = _run("subagent", git_repo, claude_home, messages_api, claude_version)
    trace = _agent_trace(found, claude_version)
    spans = _spans(trace)
    bash = next(s for s in spans.values() if s.name == "Bash")
    parent = spans[bash.parent_id]
    assert parent.name.startswith("subagent:") and parent.span_type == "AGENT"
    assert spans[parent.parent_id].name == "Agent"
    sub_llm = [s for s in spans.values() if s.parent_id == parent.span_id and s.span_type == "LLM"]
    assert len(sub_llm) == 2
    _check_times(trace)


def test_parallel_subagents(
    git_repo: Path, claude_home: Path, messages_api: Any, claude_version: ClaudeCode
) -> None:
    _, found = _run("parallel_subagents", git_repo, claude_home, messages_api, claude_version)
    trace = _agent_trace(found, claude_version, notifications=2)
    spans = _spans(trace)
    agents = [s for s in spans.values() if s.name == "Agent"]
    assert len(agents) == 2
    for agent in agents:
        (child,) = [s for s in spans.values() if s.parent_id == agent.span_id]
        assert child.span_type == "AGENT"
    _check_times(trace)


def test_write_and_edit(
    git_repo: Path, claude_home: Path, messages_api: Any, claude_version: ClaudeCode
) -> None:
    _, (trace,) = _run("write_edit", git_repo, claude_home, messages_api, claude_version)
    tools = [
        s.name
        for s in sorted(trace.data.spans, key=lambda s: s.start_time_ns)
        if s.span_type == "TOOL"
    ]
    assert tools == ["Write", "Edit"]
    assert (git_repo / "notes.txt").exists()


def test_failing_bash_is_an_error_span(
    git_repo: Path, claude_home: Path, messages_api: Any, claude_version: ClaudeCode
) -> None:
    _, (trace,) = _run("failing_bash", git_repo, claude_home, messages_api, claude_version)
    bash = next(s for s in trace.data.spans if s.name == "Bash")
    assert bash.status.status_code == "ERROR"
    assert "3" in bash.status.description
    assert _root(trace).status.status_code == "OK"


def test_two_turns_via_resume_share_the_session(
    git_repo: Path, claude_home: Path, messages_api: Any, claude_version: ClaudeCode
) -> None:
    runs, found = _run("resume", git_repo, claude_home, messages_api, claude_version)
    assert len(found) == 2
    sessions = {t.info.trace_metadata["mlflow.trace.session"] for t in found}
    assert sessions == {runs[0].session_id}
    first, second = found
    assert _root(first).end_time_ns <= _root(second).start_time_ns
    prompts = [_root(t).inputs["prompt"] for t in found]
    assert prompts == [turn.prompt for turn in CASES["resume"].build(git_repo).turns]


def test_claude_returns_before_the_export_and_the_trace_still_lands(
    git_repo: Path, claude_home: Path, messages_api: Any, tmp_path: Path, claude_version: ClaudeCode
) -> None:
    """Behind a tracking server that answers nothing until the test lets it, `claude -p` still
    returns: the hook never waits for the export. Once the store answers, the trace lands.
    (A gate, not a delay: what is asserted is an order of events, which load cannot change.)"""
    import threading

    from tests.servers import MlflowServer, Proxy

    with MlflowServer(tmp_path / "server") as server, Proxy(server.url) as proxy:
        done = traces("init", "--tracking-uri", proxy.url, "--yes", "--no-verify", cwd=git_repo)
        assert done.returncode == 0, done.stderr
        proxy.gate = threading.Event()
        runs = run_case(
            CASES["tool_call"],
            git_repo,
            claude_home,
            messages_api,
            extra_env=hook_env(),
            claude=claude_version,
        )  # raises TimeoutExpired if the hook waited on the held store
        cfg = config_mod.load(git_repo)
        assert stored_traces(server.url, cfg.experiment) == []  # still on its way
        proxy.gate.set()
        wait_for_exporter(timeout=240)
        (trace,) = stored_traces(server.url, cfg.experiment)
        assert trace.info.trace_metadata["mlflow.trace.session"] == runs[0].session_id
        assert proxy.requests, "the export went through the held store"


def test_local_store_is_under_the_data_folder(git_repo: Path) -> None:
    cfg = _setup(git_repo)
    assert cfg.tracking_uri == paths.local_tracking_uri()
    assert Path(os.environ["CLAUDETRACING_HOME"]) in paths.local_store_dir().parents


def test_a_claude_started_outside_the_venv_is_traced(
    git_repo: Path, claude_home: Path, messages_api: Any, claude_version: ClaudeCode
) -> None:
    """The usual case: `claude` runs with a PATH that lacks our venv. The hook still runs, by the
    absolute path `init` wrote into the personal settings (Claude Code hands their `env` over)."""
    cfg = _setup(git_repo)
    bare = "/usr/bin:/bin"
    assert not any(Path(d, "traces").exists() for d in bare.split(":"))
    env = {**hook_env(), "PATH": bare}
    case, version = CASES["tool_call"], claude_version
    (run,) = run_case(case, git_repo, claude_home, messages_api, extra_env=env, claude=version)
    wait_for_exporter()
    (trace,) = stored_traces(cfg.tracking_uri, cfg.experiment)
    assert trace.info.trace_metadata["mlflow.trace.session"] == run.session_id
