"""Issue 18 end to end: the real Claude Code CLI in a repository set up with `traces init --uc`
against the stand-in workspace. Each turn lands in the Unity Catalog location as ONE OTLP
request with its whole span tree, every exporter run signs in at most once, and
`traces search --hours 24` finds the turns."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import paths
from claudetracing.trace.builder import TURN_KEY_TAG
from tests.databricks_standin.fixtures import StandinWorkspace
from tests.harness.scenarios import CASES, run_case
from tests.harness.versions import ClaudeCode
from tests.tracing import hook_env, traces, wait_for_exporter

pytestmark = [pytest.mark.claude, pytest.mark.server]

LOCATION = "main.traces.widgets"


def _claude_env(ws: StandinWorkspace, claude_home: Path) -> dict[str, str]:
    """What Claude Code (and so its hooks and our exporter) needs to reach the workspace:
    the profile file, the CLI, and the CLI's login cache in Claude's own HOME."""
    shutil.copytree(ws.home / ".databricks", claude_home / ".databricks", dirs_exist_ok=True)
    env = hook_env()
    env["PATH"] = f"{ws.cli_path.parent}{os.pathsep}{env['PATH']}"
    env["DATABRICKS_CONFIG_FILE"] = str(ws.config_file)
    env["DATABRICKS_CLI_PATH"] = str(ws.cli_path)
    return env


def _exporter_runs() -> int:
    """Exporter runs that held the lock (a run that found another one busy signs in not)."""
    log = paths.data_dir() / "logs" / "exporter.log"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return sum(1 for line in lines if " drain: " in line and "another exporter" not in line)


def test_real_sessions_land_in_unity_catalog_one_request_per_turn(
    git_repo: Path,
    claude_home: Path,
    messages_api: Any,
    claude_version: ClaudeCode,
    databricks_workspace: StandinWorkspace,
) -> None:
    ws = databricks_workspace
    ws.add_catalog("main", {ws.user: ["USE_CATALOG"]})
    ws.add_schema("main", "traces", {ws.user: ["USE_SCHEMA", "CREATE_TABLE", "MODIFY", "SELECT"]})
    ws.add_warehouse("wh0001", "Starter Warehouse", "STOPPED", serverless=True)
    done = traces(
        "init", "--profile", ws.profile, "--uc", LOCATION, "--warehouse", "auto", "--yes",
        cwd=git_repo,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = _claude_env(ws, claude_home)
    ws.clear_cli_calls()
    before = ws.otel_requests()
    runs = [
        *run_case(CASES["subagent"], git_repo, claude_home, messages_api, extra_env=env,
                  claude=claude_version),
        *run_case(CASES["resume"], git_repo, claude_home, messages_api, extra_env=env,
                  claude=claude_version),
    ]  # fmt: skip
    wait_for_exporter(timeout=120)

    infos = ws.uc_trace_infos(LOCATION)
    sessions = {
        info.get("trace_metadata", {}).get("mlflow.trace.session") for info in infos.values()
    }
    assert sessions == {run.session_id for run in runs}
    # one trace per turn, exactly once (2.1.3xx adds a turn for a subagent's notification)
    keys = [info["tags"][TURN_KEY_TAG] for info in infos.values()]
    assert len(keys) == len(set(keys)) >= len(runs)
    # one OTLP request per turn, carrying all of that turn's spans
    written = [r for r in ws.otel_requests()[len(before) :] if r.get("status") == 200]
    assert len(written) == len(infos)
    rows = ws.uc_spans(LOCATION)
    for request in written:
        (trace_hex,) = request["traces"]
        assert request["spans"] == sum(1 for row in rows if row["trace"] == trace_hex)
    # the subagent's turn keeps its tree: spans whose parent is not the root exist
    assert max(r["spans"] for r in written) >= 5
    # at most one sign-in per exporter run (MLflow alone: several per trace)
    assert 1 <= ws.sign_ins() <= _exporter_runs()

    status = traces("status", "--json", cwd=git_repo)
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["unity_catalog"]["location"] == LOCATION
    assert report["unity_catalog"]["warehouse_state"] == "RUNNING"  # auto started it

    found = traces("search", "--hours", "24", "-f", "json", cwd=git_repo)
    assert found.returncode == 0, found.stderr
    listed = json.loads(found.stdout)
    assert len(listed) == len(infos)
    assert {row["session"] for row in listed} == {run.session_id for run in runs}
    assert all(row["trace_id"].startswith(f"trace:/{LOCATION}/") for row in listed)
