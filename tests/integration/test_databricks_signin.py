"""One Databricks sign-in per process (ADR 15), and no silent trace cap, against the stand-in
workspace with the real `traces` CLI and exporter: the fake CLI logs every `auth token` run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.databricks_standin.fixtures import StandinWorkspace
from tests.sessions import copy_recorded
from tests.tracing import fire_hook, run_exporter, settings_env, traces

pytestmark = pytest.mark.server

# Six recorded sessions, seven turns (`resume` has two).
CASES = ("tool_call", "subagent", "write_edit", "failing_bash", "parallel_subagents", "resume")
TURNS = 7


def _init(ws: StandinWorkspace, repo: Path) -> None:
    done = traces("init", "--profile", ws.profile, "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr


def _spool(repo: Path, tmp_path: Path, cases: tuple[str, ...]) -> None:
    for name in cases:
        assert fire_hook("Stop", copy_recorded(name, tmp_path / name), repo).returncode == 0


def _searched(repo: Path) -> list[dict[str, object]]:
    found = traces("search", "--since", "30d", "-f", "json", cwd=repo)
    assert found.returncode == 0, found.stderr
    rows: list[dict[str, object]] = json.loads(found.stdout)
    return rows


def _spying_git(folder: Path) -> tuple[Path, Path]:
    """A `git` first on PATH that records the environment it was started with, then runs the
    real git: what every git subprocess of the exporter (enrichments, git info) can see."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "git-env.jsonl"
    real = shutil.which("git")
    assert real
    script = folder / "git"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as out:\n"
        "    out.write(json.dumps(dict(os.environ)) + '\\n')\n"
        f"os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return folder, log


def _files_holding(root: Path, secret: str) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and secret.encode() in p.read_bytes()  # logs, status, spool, ledgers
    ]


def test_one_exporter_run_signs_in_once_and_no_child_sees_the_token(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    """Seven turns of six sessions, one exporter run: one `databricks auth token` (MLflow's own
    path ran it 45 times for the same run); the token reaches no git subprocess and no file."""
    ws = databricks_workspace
    _init(ws, repo)
    _spool(repo, tmp_path, CASES)
    spy, log = _spying_git(tmp_path / "spy")
    ws.clear_cli_calls()
    env = {**settings_env(repo), "PATH": f"{spy}{os.pathsep}{os.environ['PATH']}"}
    done = run_exporter(env)
    assert done.returncode == 0, done.stderr
    assert ws.sign_ins() == 1, ws.cli_calls()
    assert len(_searched(repo)) == TURNS
    # the exporter ran git for every turn, and none of those processes got the token
    seen = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert seen, "the exporter ran no git: the spy proves nothing"
    for environ in seen:
        assert not any(ws.token in value for value in environ.values())
        assert "DATABRICKS_TOKEN" not in environ
    assert not _files_holding(Path(os.environ["CLAUDETRACING_HOME"]), ws.token)
    assert ws.token not in done.stdout + done.stderr


def test_flush_and_the_query_commands_sign_in_at_most_once_each(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    _init(ws, repo)
    _spool(repo, tmp_path, CASES)
    ws.clear_cli_calls()
    flushed = traces("flush", cwd=repo, env={**os.environ, **settings_env(repo)})
    assert flushed.returncode == 0, flushed.stderr
    assert f"{TURNS} turn(s) exported" in flushed.stderr
    assert ws.sign_ins() == 1, ws.cli_calls()
    for command in (
        ("search", "--hours", "24"),
        ("list",),
        ("usage", "--since", "1d"),
        ("status",),
    ):
        ws.clear_cli_calls()
        done = traces(*command, cwd=repo)
        assert done.returncode == 0, (command, done.stderr)
        assert ws.sign_ins() <= 1, (command, ws.cli_calls())
        assert ws.token not in done.stdout + done.stderr
    trace_id = str(_searched(repo)[0]["trace_id"])
    ws.clear_cli_calls()
    shown = traces("show", trace_id, cwd=repo)
    assert shown.returncode == 0, shown.stderr
    assert ws.sign_ins() <= 1


def _cut_answer(transcript: Path) -> tuple[str, str]:
    """Take the final answer out of a transcript (as if Claude Code had not written it yet);
    (the answer's text, the lines taken out)."""
    lines = transcript.read_text(encoding="utf-8").splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if json.loads(line).get("type") == "assistant")
    answer = json.loads(lines[last])["message"]["content"][0]["text"]
    transcript.write_text("".join(lines[:last]), encoding="utf-8")
    return answer, "".join(lines[last:])


def test_a_token_that_expires_mid_run_is_refreshed(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    """The login's tokens live 6 s and the workspace refuses them after that. The exporter
    signs in for the first session, then waits for the second one's answer to reach its
    transcript (as for a Stop that arrives before the file is written); the answer comes
    after the token expired, and the second trace still goes out, on a refreshed token."""
    ws = databricks_workspace
    _init(ws, repo)
    _spool(repo, tmp_path, ("subagent",))
    late = copy_recorded("tool_call", tmp_path / "late")
    answer, rest = _cut_answer(late)
    assert fire_hook("Stop", late, repo, last_message=answer).returncode == 0
    lifetime = 6.0
    ws.short_lived_tokens(lifetime)
    ws.clear_cli_calls()
    ws.clear_requests()
    exporter = subprocess.Popen(
        [sys.executable, "-m", "claudetracing.export.worker"],
        env={**os.environ, **settings_env(repo)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ws.sign_ins() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ws.sign_ins() >= 1, "the exporter did not sign in"
        time.sleep(lifetime + 2)  # the first token has expired by now
        with late.open("a", encoding="utf-8") as out:
            out.write(rest)
        _, err = exporter.communicate(timeout=120)
    finally:
        if exporter.poll() is None:
            exporter.kill()
    assert exporter.returncode == 0, err
    assert not [r for r in ws.requests() if r["status"] == 401], "an expired token was sent"
    assert ws.sign_ins() >= 2, "the token was not refreshed"
    assert len(_searched(repo)) == 2
    assert not list((Path(os.environ["CLAUDETRACING_HOME"]) / "spool" / "pending").glob("*"))


def test_a_logged_out_profile_keeps_the_turn_and_names_the_login_command(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    _init(ws, repo)
    ws.log_out()
    _spool(repo, tmp_path, ("tool_call",))
    ws.clear_cli_calls()
    assert run_exporter(settings_env(repo)).returncode == 0
    assert ws.sign_ins() == 1  # tried once, not once per call
    status = traces("status", "--json", cwd=repo)
    report = json.loads(status.stdout)
    assert status.returncode == 1 and report["pending"] == 1
    assert f"run `databricks auth login --profile {ws.profile}`" in json.dumps(report)
    searched = traces("search", "--hours", "24", cwd=repo)
    assert searched.returncode == 1
    assert f"databricks auth login --profile {ws.profile}" in searched.stderr


def test_a_full_experiment_keeps_the_turn_and_status_names_both_ways_out(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    """The workspace holds 3 traces an experiment (its cap, lowered); the fourth turn is
    refused and waits in the spool; status counts the traces, warns, and says what to do."""
    ws = databricks_workspace
    ws.stop()
    ws.max_traces = 3
    ws.start()
    _init(ws, repo)
    env = {**os.environ, "CLAUDETRACING_TRACE_CAP": "3"}
    _spool(repo, tmp_path, ("tool_call", "subagent"))
    assert run_exporter(settings_env(repo)).returncode == 0
    near = traces("status", "--json", cwd=repo, env=env)
    report = json.loads(near.stdout)
    assert report["experiment_traces"] == 2 and report["trace_cap"] == 3
    assert near.returncode == 0, near.stdout  # 67%: no warning yet
    assert not [w for w in report["warnings"] if "traces a workspace experiment" in w["what"]]
    _spool(repo, tmp_path, ("write_edit", "failing_bash"))
    assert run_exporter(settings_env(repo)).returncode == 0
    assert len(_searched(repo)) == 3
    pending = list((Path(os.environ["CLAUDETRACING_HOME"]) / "spool" / "pending").glob("*.json"))
    assert len(pending) == 1  # the fourth turn is kept, not dropped
    status = traces("status", "--json", cwd=repo, env=env)
    report = json.loads(status.stdout)
    assert status.returncode == 1
    assert report["experiment_traces"] == 3 and report["pending"] == 1
    said = json.dumps(report)
    assert "holds the most traces a Databricks workspace experiment may hold" in said
    assert "is full: it holds 3 traces" in said
    assert "traces init --uc CATALOG.SCHEMA --warehouse ID" in said
    rollover = f"traces init --profile {ws.profile} --experiment /Shared/claude-code/widgets+2"
    assert rollover in said
    text = traces("status", cwd=repo, env=env)
    assert "is full" in text.stdout + text.stderr and rollover in text.stdout + text.stderr
    # rolling over as told: the next turns go to the new experiment; the one already waiting
    # keeps the experiment its hook named (it goes once that experiment has room again)
    moved = traces(
        "init",
        "--profile",
        ws.profile,
        "--experiment",
        "/Shared/claude-code/widgets+2",
        "--yes",
        "--no-verify",
        cwd=repo,
    )
    assert moved.returncode == 0, moved.stderr
    _spool(repo, tmp_path, ("parallel_subagents",))
    flushed = traces("flush", cwd=repo, env={**os.environ, **settings_env(repo)})
    assert "1 turn(s) exported" in flushed.stderr, flushed.stderr
    assert "still pending" in flushed.stderr and "holds the most traces" in flushed.stderr
