"""`traces init` against the stand-in workspace: scripted flags, refusals with the fixing
command, fast failures, reuse, a teammate's clone, and a trace through databricks://."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.databricks_standin.fixtures import StandinWorkspace
from tests.sessions import copy_recorded, recorded
from tests.tracing import TRACES, fire_hook, run_exporter, settings_env, traces

pytestmark = pytest.mark.server


def _settings(repo: Path) -> tuple[dict, dict]:  # type: ignore[type-arg]
    team = json.loads((repo / ".claude/settings.json").read_text())
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    return team, personal


def _experiment_exists(ws: StandinWorkspace, path: str) -> bool:
    from databricks.sdk import WorkspaceClient

    client = WorkspaceClient(profile=ws.profile)
    try:
        client.api_client.do(
            "GET", "/api/2.0/mlflow/experiments/get-by-name", query={"experiment_name": path}
        )
    except Exception:
        return False
    return True


def test_scripted_shared_setup_creates_folder_and_experiment(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    done = traces("init", "--profile", ws.profile, "--scope", "shared", "--yes", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stderr and f"signed in as {ws.user}" in done.stderr
    team, personal = _settings(repo)
    assert team["env"]["CLAUDETRACING_EXPERIMENT"] == "/Shared/claude-code/widgets"
    assert personal["env"] == {
        "CLAUDETRACING_TRACKING_URI": f"databricks://{ws.profile}",
        "CLAUDETRACING_EXECUTABLE": TRACES,
        "CLAUDETRACING_PROFILE": ws.profile,
        "CLAUDETRACING_USER": ws.user,
    }
    assert _experiment_exists(ws, "/Shared/claude-code/widgets")
    for path in (
        repo / ".claude/settings.json",
        repo / ".claude/settings.local.json",
        repo / ".gitignore",
    ):
        assert ws.token not in path.read_text()
    again = traces("init", "--profile", ws.profile, "--scope", "shared", "--yes", cwd=repo)
    assert again.returncode == 0 and "nothing to change" in again.stderr


def test_personal_scope_keeps_the_path_out_of_the_team_file(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    done = traces(
        "init", "--profile", ws.profile, "--scope", "personal", "--yes", "--no-verify", cwd=repo
    )
    assert done.returncode == 0, done.stderr
    team, personal = _settings(repo)
    assert "CLAUDETRACING_EXPERIMENT" not in team.get("env", {})
    expected = f"/Users/{ws.user}/claude-code/widgets"
    assert personal["env"]["CLAUDETRACING_EXPERIMENT"] == expected
    assert _experiment_exists(ws, expected)


def test_custom_paths_inside_allowed_folders_only(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    done = traces(
        "init",
        "--profile",
        ws.profile,
        "--experiment",
        "/Workspace//Shared/team-a/agents/",
        "--yes",
        "--no-verify",
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr
    assert _settings(repo)[0]["env"]["CLAUDETRACING_EXPERIMENT"] == "/Shared/team-a/agents"
    refused = traces(
        "init", "--profile", ws.profile, "--experiment", "/Users/bob@x.com/mine", "--yes", cwd=repo
    )
    assert refused.returncode == 1 and "outside /Shared and your folder" in refused.stderr
    relative = traces("init", "--profile", ws.profile, "--experiment", "widgets", "--yes", cwd=repo)
    assert relative.returncode == 1 and "not absolute" in relative.stderr


def test_pat_profile_is_refused_with_the_login_command(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    token = ws.add_pat_profile("legacy")
    done = traces("init", "--profile", "legacy", "--yes", cwd=repo)
    assert done.returncode == 1
    assert "personal access token" in done.stderr
    assert f"databricks auth login --host {ws.host} --profile legacy" in done.stderr
    assert token not in done.stderr + done.stdout
    assert not (repo / ".claude").exists()


def test_logged_out_profile_fails_fast_with_the_fix(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    ws.log_out()
    started = time.monotonic()
    done = traces("init", "--profile", ws.profile, "--yes", cwd=repo)
    assert time.monotonic() - started < 30
    assert done.returncode == 1
    assert "not logged in" in done.stderr
    assert f"databricks auth login --host {ws.host} --profile {ws.profile}" in done.stderr
    assert not (repo / ".claude").exists()


def test_unreachable_host_fails_within_seconds(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    ws.stop()
    started = time.monotonic()
    done = traces("init", "--profile", ws.profile, "--yes", cwd=repo, timeout=120)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert "cannot reach" in done.stderr
    assert elapsed < 45, f"took {elapsed:.0f}s"
    assert not (repo / ".claude").exists()


def test_missing_cli_and_overriding_variables_are_reported(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    env = {**os.environ, "DATABRICKS_CLI_PATH": "", "PATH": "/usr/bin:/bin"}
    done = traces("init", "--profile", ws.profile, "--yes", cwd=repo, env=env)
    assert done.returncode == 1 and "Databricks CLI is not installed" in done.stderr
    env = {**os.environ, "DATABRICKS_HOST": "https://elsewhere.example.com"}
    done = traces("init", "--profile", ws.profile, "--yes", "--dry-run", cwd=repo, env=env)
    assert "DATABRICKS_HOST is set and overrides profile" in done.stderr


def test_a_teammate_reuses_the_committed_experiment(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    assert (
        traces(
            "init", "--profile", ws.profile, "--scope", "shared", "--yes", "--no-verify", cwd=repo
        ).returncode
        == 0
    )
    subprocess.run(["git", "add", ".claude/settings.json", ".gitignore"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "tracing"], cwd=repo, check=True)
    clone = tmp_path / "clone" / "widgets"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    ws.add_oauth_profile("bob")
    before = (clone / ".claude/settings.json").read_bytes()
    done = traces("init", "--profile", "bob", "--yes", cwd=clone)
    assert done.returncode == 0, done.stderr
    assert "comes from the team's .claude/settings.json" in done.stderr
    assert (clone / ".claude/settings.json").read_bytes() == before
    personal = json.loads((clone / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_TRACKING_URI"] == "databricks://bob"


def test_traces_exported_through_databricks_are_found_by_search(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    assert traces("init", "--profile", ws.profile, "--yes", "--no-verify", cwd=repo).returncode == 0
    path = copy_recorded("subagent", tmp_path / "s")
    assert fire_hook("Stop", path, repo).returncode == 0
    assert run_exporter(settings_env(repo)).returncode == 0
    found = json.loads(traces("search", "--since", "30d", "-f", "json", cwd=repo).stdout)
    assert len(found) == 1
    assert found[0]["session"] == recorded("subagent").case["session_id"]
    assert found[0]["user"] == ws.user
    assert found[0]["tags"]["claudetracing.redactions"] == "0"
    shown = traces("show", found[0]["trace_id"], cwd=repo)
    assert shown.returncode == 0 and "subagent:general-purpose" in shown.stdout
    usage = json.loads(traces("usage", "--since", "30d", "-f", "json", cwd=repo).stdout)
    assert usage[0]["turns"] == 1
    listed = json.loads(traces("list", "--json", cwd=repo).stdout)
    assert [r["name"] for r in listed] == ["/Shared/claude-code/widgets"]


def test_an_expired_login_waits_in_the_spool_and_status_says_how_to_fix_it(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    assert traces("init", "--profile", ws.profile, "--yes", "--no-verify", cwd=repo).returncode == 0
    ws.log_out()
    path = copy_recorded("tool_call", tmp_path / "s")
    assert fire_hook("Stop", path, repo).returncode == 0
    assert run_exporter(settings_env(repo)).returncode == 0
    status = traces("status", "--json", cwd=repo)
    report = json.loads(status.stdout)
    assert status.returncode == 1 and report["pending"] == 1
    assert f"databricks auth login --profile {ws.profile}" in json.dumps(report)
    ws.log_in()
    flushed = traces("flush", cwd=repo)
    assert flushed.returncode == 0, flushed.stderr
    assert "1 turn(s) exported" in flushed.stderr


def test_what_mlflows_ui_reads_survives_the_databricks_path(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    """Issue 17 on databricks://: the workspace's trace UI is the same front end as `traces ui`,
    and reads the same attributes, from what the upload stored."""
    import mlflow

    ws = databricks_workspace
    assert traces("init", "--profile", ws.profile, "--yes", "--no-verify", cwd=repo).returncode == 0
    for name in ("failing_bash", "subagent"):
        assert fire_hook("Stop", copy_recorded(name, tmp_path / name), repo).returncode == 0
    assert run_exporter(settings_env(repo)).returncode == 0
    found = json.loads(traces("search", "--since", "30d", "-f", "json", cwd=repo).stdout)
    client = mlflow.MlflowClient(tracking_uri=f"databricks://{ws.profile}")
    by_prompt = {}
    for row in found:
        trace = client.get_trace(row["trace_id"])
        by_prompt[trace.info.request_preview] = trace
        # what the workspace keeps: the uploaded trace data, read by its UI
        stored = json.loads(ws.blob(row["trace_id"]).read_text())
        assert any(
            s["attributes"].get("mlflow.message.format") == '"anthropic"' for s in stored["spans"]
        )
    failing = by_prompt["Run a command that fails with exit code 3."]  # plain previews
    assert failing.info.response_preview == "The command failed with exit code 3."
    subagent = by_prompt["Use a subagent to list the files in this repository."]
    assert subagent.info.response_preview == "The subagent found README.md."
    (bash,) = [s for s in failing.data.spans if s.name == "Bash"]
    assert [e.name for e in bash.events] == ["exception"]
    assert bash.events[0].attributes["exception.type"] == "tool_error"
    calls = [s for s in subagent.data.spans if s.span_type == "LLM"]
    assert {s.name for s in calls} == {"→ Agent", "→ Bash", "answer"}
    for span in calls:
        assert span.attributes["mlflow.message.format"] == "anthropic"
        assert span.inputs["messages"] and span.outputs["type"] == "message"
        usage, own = span.attributes["mlflow.chat.tokenUsage"], span.attributes["anthropic.usage"]
        cached = usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
        assert usage["input_tokens"] == own["input_tokens"] + cached
    tags = subagent.info.tags
    cache = int(tags["tokens.cache_read"]) + int(tags["tokens.cache_creation"])
    assert cache > 0
    assert subagent.info.token_usage["input_tokens"] == int(tags["tokens.input"]) + cache
