"""`traces init --user` with the real Claude Code CLI: the hooks and destination in the user
settings alone trace every repository, each into its own experiment; a repository that also
has our project hooks gets each turn once (Claude Code runs an identical command once)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import paths
from claudetracing.trace.builder import TURN_KEY_TAG
from tests.harness.claude_cli import run_claude
from tests.harness.gitrepo import git, hermetic_git_env, make_git_repo
from tests.harness.messages_api import Scenario, Step, Text, Turn
from tests.harness.versions import ClaudeCode
from tests.tracing import stored_traces, traces, wait_for_exporter

pytestmark = pytest.mark.claude

PROMPT = "Say hello for the roll-out test"


def test_user_settings_alone_trace_two_repositories_into_two_experiments(
    tmp_path: Path, claude_home: Path, messages_api: Any, claude_version: ClaudeCode
) -> None:
    as_claude_user = {**os.environ, "HOME": str(claude_home)}
    done = traces("init", "--user", "--local", "--yes", cwd=tmp_path, env=as_claude_user)
    assert done.returncode == 0, done.stderr
    assert "verified" not in done.stderr  # --user checks the store, creates no experiment
    gitconfig = claude_home / ".gitconfig"
    alpha = make_git_repo(tmp_path / "alpha", gitconfig)
    beta = make_git_repo(tmp_path / "beta", gitconfig)
    for repo in (alpha, beta):  # the convention names a repository after its remote
        url = f"https://github.com/acme/{repo.name}.git"
        git(repo, "remote", "set-url", "origin", url, env=hermetic_git_env(gitconfig))
    # beta also has our hooks in its project settings (a teammate committed them)
    both = traces("init", "--local", "--yes", "--no-verify", cwd=beta, env=as_claude_user)
    assert both.returncode == 0, both.stderr
    messages_api.set_scenario(Scenario("hello", (Turn(PROMPT, (Step((Text("Hello."),)),)),)))
    # Only what Claude Code itself needs: no `traces` on its PATH, our data folder for the test.
    extra = {"CLAUDETRACING_HOME": os.environ["CLAUDETRACING_HOME"]}
    runs = [
        run_claude(
            PROMPT, repo, claude_home, messages_api.base_url, extra_env=extra, claude=claude_version
        ).check()
        for repo in (alpha, beta, alpha)
    ]
    wait_for_exporter()
    uri = paths.local_tracking_uri()
    in_alpha = stored_traces(uri, "claude-code/alpha")
    in_beta = stored_traces(uri, "claude-code/beta")
    sessions = {t.info.trace_metadata["mlflow.trace.session"] for t in in_alpha}
    assert sessions == {runs[0].session_id, runs[2].session_id}
    assert len(in_alpha) == 2
    (only,) = in_beta  # one turn, once, though both scopes hold the hook
    assert only.info.trace_metadata["mlflow.trace.session"] == runs[1].session_id
    assert len({t.info.tags[TURN_KEY_TAG] for t in in_alpha + in_beta}) == 3
    assert not (alpha / ".claude").exists()  # nothing written into the user-scope repository
    report = json.loads(
        traces("status", "--json", "--offline", cwd=beta, env=as_claude_user).stdout
    )
    assert set(report["hook_scopes"]) == {"user", "project"}
    assert report["ok"], report["problems"]
