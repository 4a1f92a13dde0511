"""Enrichments on real Claude Code sessions: git, files, tokens and cost per turn."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from tests.harness.scenarios import CASES, run_case
from tests.tracing import hook_env, stored_traces, traces, unrecorded_output, wait_for_exporter

# Expectations written for the oldest pinned Claude Code (2.1.197): the canary leaves them out.
pytestmark = [pytest.mark.claude, pytest.mark.oldest_only]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def _traced(name: str, repo: Path, home: Path, api: Any) -> tuple[list[Any], list[Any]]:
    assert traces("init", "--local", "--yes", "--no-verify", cwd=repo).returncode == 0
    runs = run_case(CASES[name], repo, home, api, extra_env=hook_env())
    wait_for_exporter()
    cfg = config_mod.load(repo)
    found = sorted(
        stored_traces(cfg.tracking_uri, cfg.experiment), key=lambda t: t.info.request_time
    )
    return runs, found


def test_git_and_files_tags_on_a_real_session(
    git_repo: Path, claude_home: Path, messages_api: Any
) -> None:
    _git(
        git_repo,
        "remote",
        "set-url",
        "origin",
        "https://dev:ghp_notarealtoken000000000000000000000000@github.com/acme/widgets.git",
    )
    head = _git(git_repo, "rev-parse", "HEAD")
    _, (trace,) = _traced("write_edit", git_repo, claude_home, messages_api)
    tags = trace.info.tags
    assert tags["git.commit_id"] == head
    assert tags["git.branch"] == "main"
    assert tags["git.remote_url"] == "https://github.com/acme/widgets.git"
    assert tags["git.repo_name"] == "acme/widgets"
    assert tags["git.dirty"] == "true"  # notes.txt and .claude/ are new
    assert json.loads(tags["files.modified"]) == ["notes.txt"]
    assert tags["files.count"] == "1"


def test_tokens_and_cost_per_turn_add_up_to_claude_codes_accounting(
    git_repo: Path, claude_home: Path, messages_api: Any
) -> None:
    runs, found = _traced("resume", git_repo, claude_home, messages_api)
    assert len(found) == 2
    for run, trace in zip(runs, found, strict=True):
        usage = run.result["modelUsage"].values()
        tags = trace.info.tags
        assert int(tags["tokens.input"]) == sum(u["inputTokens"] for u in usage)
        assert int(tags["tokens.output"]) == sum(u["outputTokens"] for u in usage)
        assert int(tags["tokens.cache_read"]) == sum(u["cacheReadInputTokens"] for u in usage)
        assert int(tags["tokens.cache_creation"]) == sum(
            u["cacheCreationInputTokens"] for u in usage
        )
        assert int(tags["tokens.total"]) == int(tags["tokens.input"]) + int(tags["tokens.output"])
        assert float(tags["cost.usd"]) == pytest.approx(run.result["total_cost_usd"], abs=0.01)
        llm = [s for s in trace.data.spans if s.span_type == "LLM"]
        span_cost = sum(s.attributes["mlflow.llm.cost"]["total_cost"] for s in llm)
        assert span_cost == pytest.approx(float(tags["cost.usd"]), abs=1e-6)


def test_subagent_session_cost(git_repo: Path, claude_home: Path, messages_api: Any) -> None:
    from claudetracing.trace import pricing

    runs, (trace,) = _traced("parallel_subagents", git_repo, claude_home, messages_api)
    # Claude Code's own total, less the output no transcript records (see unrecorded_output).
    missing = 0.0
    for model, output in unrecorded_output(messages_api, runs):
        cost = pricing.price(model, {"output_tokens": output})
        assert cost is not None
        missing += cost.total_usd
    assert float(trace.info.tags["cost.usd"]) == pytest.approx(
        runs[0].result["total_cost_usd"] - missing, abs=0.001
    )


def test_search_and_usage_on_real_sessions(
    git_repo: Path, claude_home: Path, messages_api: Any
) -> None:
    runs, found = _traced("resume", git_repo, claude_home, messages_api)
    rows = json.loads(traces("search", "--since", "1h", "-f", "json", cwd=git_repo).stdout)
    assert [r["trace_id"] for r in rows] == [t.info.trace_id for t in reversed(found)]
    assert {r["session"] for r in rows} == {runs[0].session_id}
    assert rows[0]["tags"]["git.repo_name"] == "acme/widgets"
    usage = json.loads(
        traces("usage", "--since", "1h", "--by", "session", "-f", "json", cwd=git_repo).stdout
    )
    assert usage[0]["turns"] == 2
    assert usage[0]["cost_usd"] == pytest.approx(
        sum(r.result["total_cost_usd"] for r in runs), abs=0.01
    )
    context = traces("search", "--since", "1h", "-f", "context", cwd=git_repo).stdout
    assert context.count("User: Turn") == 2 and "Bash(" in context
