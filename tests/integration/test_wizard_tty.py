"""The `traces init` wizard in a real terminal (pexpect): answer it, or Ctrl-C out of it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pexpect
import pytest

from tests.databricks_standin.fixtures import StandinWorkspace
from tests.tracing import TRACES

pytestmark = pytest.mark.server
DOWN = "\x1b[B"


def _spawn(repo: Path) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40"}
    return pexpect.spawn(
        TRACES, ["init"], cwd=str(repo), env=env, encoding="utf-8", timeout=60, dimensions=(40, 120)
    )


def test_the_wizard_end_to_end(repo: Path, databricks_workspace: StandinWorkspace) -> None:
    ws = databricks_workspace
    ws.add_pat_profile("legacy")
    child = _spawn(repo)
    child.expect("Where should this repository's traces go?")
    child.expect("personal access token: refused")  # shown, and not selectable
    child.send("\r")  # the first profile: dev
    child.expect("Which experiment?")
    child.expect("/Shared/claude-code/widgets")
    child.send(DOWN)  # only mine
    child.send("\r")
    child.expect(f"/Users/{ws.user}/claude-code/widgets")
    child.expect("Apply this plan?")
    assert not (repo / ".claude").exists()  # nothing written before the yes
    child.sendline("y")
    child.expect("verified")
    child.expect("Tracing is on")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_EXPERIMENT"] == f"/Users/{ws.user}/claude-code/widgets"


@pytest.mark.parametrize("stop_at", ["Where should", "Which experiment?", "Apply this plan?"])
def test_ctrl_c_at_any_question_leaves_nothing_behind(
    repo: Path, databricks_workspace: StandinWorkspace, stop_at: str
) -> None:
    before = sorted(p.name for p in repo.iterdir())
    child = _spawn(repo)
    for question in ("Where should", "Which experiment?", "Apply this plan?"):
        child.expect(question)
        if question == stop_at:
            child.sendcontrol("c")
            break
        child.send("\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert sorted(p.name for p in repo.iterdir()) == before


def test_add_a_workspace_runs_the_databricks_login(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    child = _spawn(repo)
    child.expect("Where should this repository's traces go?")
    child.send(DOWN)  # past the `dev` profile
    child.send("\r")  # "Add a workspace"
    child.expect("Workspace URL")
    time.sleep(0.5)  # let the prompt take keystrokes before typing into it
    child.send(ws.host)
    child.send("\r")
    child.expect("Name for this profile")
    time.sleep(0.5)
    child.send("\x7f" * 10)  # clear the DEFAULT suggestion
    child.send("team\r")
    child.expect("Which experiment?")
    child.send("\r")
    child.expect("Apply this plan?")
    child.sendline("y")
    child.expect("Tracing is on")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "[team]" in ws.config_file.read_text()
    assert ["auth", "login", "--host", ws.host, "--profile", "team"] in ws.cli_calls()
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_TRACKING_URI"] == "databricks://team"


def _oauth_profile(home: Path, name: str = "dev") -> None:
    (home / ".databrickscfg").write_text(
        f"[{name}]\nhost = https://dbc-1.cloud.databricks.com\nauth_type = databricks-cli\n"
    )


def test_a_missing_databricks_cli_is_said_first_and_local_is_the_default(
    repo: Path, isolated: Path, local_store: Path
) -> None:
    _oauth_profile(isolated)  # a profile from an earlier install, but no CLI on this machine
    env = {
        **os.environ,
        "TERM": "xterm",
        "COLUMNS": "120",
        "LINES": "40",
        "DATABRICKS_CLI_PATH": str(repo / "no-such-databricks"),
    }
    child = pexpect.spawn(
        TRACES, ["init"], cwd=str(repo), env=env, encoding="utf-8", timeout=60, dimensions=(40, 120)
    )
    child.expect("Databricks CLI is not installed")
    before_question = child.before + child.after
    child.expect("Where should this repository's traces go?")
    assert "Where should" not in before_question  # said before any question
    child.expect("needs the Databricks CLI")  # the profile is shown, and not selectable
    child.send("\r")  # the default choice
    child.expect("Apply this plan?")
    child.sendline("y")
    child.expect("Tracing is on")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_TRACKING_URI"] == "local"


def test_the_default_is_the_first_logged_in_profile(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    databricks_workspace.add_pat_profile("aaa-legacy")  # listed first, refused
    child = _spawn(repo)
    child.expect("Where should this repository's traces go?")
    child.send("\r")  # the default choice
    child.expect("Which experiment?")  # a workspace was chosen: the logged-in profile
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
