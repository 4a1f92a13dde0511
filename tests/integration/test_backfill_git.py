"""Imported turns get the git context they had, not today's: the branch the transcript recorded,
that branch's commit as of the turn's end (never a later one), and a reason when it cannot be
known; a session whose folder does not exist here still gets its files and branch.

Histories are built with explicit commit dates, transcripts with explicit times, and everything
goes through the real `traces import` into a real local store."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from claudetracing.setup.sample_sessions import SessionWriter, usage
from tests.conftest import git
from tests.tracing import stored_traces, traces


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _commit(repo: Path, name: str, when: str, *extra: str) -> str:
    (repo / name).write_text(f"{name} {when}\n", encoding="utf-8")
    stamp = f"{when}+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    subprocess.run(["git", "add", name], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", name, *extra], cwd=repo, check=True, env=env)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(tmp_path: Path, isolated: Path) -> dict[str, Any]:
    """origin: main c1 (Mar 1), c2 (Mar 10), feature f1 (Mar 5, from c1) merged into main on
    Mar 12. The user's checkout is a clone made today: its reflog knows only today."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    c1 = _commit(origin, "a.txt", "2026-03-01T10:00:00")
    git(origin, "checkout", "-q", "-b", "feature")
    f1 = _commit(origin, "f.txt", "2026-03-05T10:00:00")
    git(origin, "checkout", "-q", "main")
    c2 = _commit(origin, "b.txt", "2026-03-10T10:00:00")
    stamp = "2026-03-12T10:00:00+00:00"
    subprocess.run(
        ["git", "merge", "-q", "--no-ff", "-m", "merge feature", "feature"],
        cwd=origin,
        check=True,
        env={**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
    )
    merged = git(origin, "rev-parse", "HEAD")
    checkout = tmp_path / "widgets"
    git(tmp_path, "clone", "-q", str(origin), str(checkout))
    git(checkout, "remote", "set-url", "origin", "https://github.com/acme/widgets.git")
    return {"checkout": checkout, "c1": c1, "c2": c2, "f1": f1, "merged": merged}


def _session(
    folder: Path, sid: str, cwd: str, branch: str, start: str, *, edits: bool = False
) -> None:
    writer = SessionWriter(
        folder / f"{sid}.jsonl", session_id=sid, cwd=cwd, start=_at(start), git_branch=branch
    )
    writer.prompt("Make the change.")
    if edits:
        (write_id,) = writer.respond(
            [{"type": "tool_use", "name": "Write", "input": {"file_path": f"{cwd}/src/app.py"}}],
            usage=usage(1),
            stop_reason="tool_use",
        )
        writer.tool_result(write_id, f"File created successfully at: {cwd}/src/app.py")
        (bash_id,) = writer.respond(
            [{"type": "tool_use", "name": "Bash", "input": {"command": "echo x > notes.txt"}}],
            usage=usage(2),
            stop_reason="tool_use",
        )
        writer.tool_result(bash_id, "")
        (outside_id,) = writer.respond(
            [{"type": "tool_use", "name": "Edit", "input": {"file_path": "/etc/elsewhere.conf"}}],
            usage=usage(3),
            stop_reason="tool_use",
        )
        writer.tool_result(outside_id, "The file /etc/elsewhere.conf has been updated.")
    writer.respond([{"type": "text", "text": "Done."}], usage=usage(4), stop_reason="end_turn")
    writer.save()


def _import(checkout: Path, folder: Path) -> dict[str, Any]:
    """Import the folder's sessions from inside the checkout: each session's trace info."""
    assert traces("init", "--local", "--yes", "--no-verify", cwd=checkout).returncode == 0
    done = traces("import", str(folder), cwd=checkout)
    assert done.returncode == 0, done.stderr
    cfg = config_mod.load(checkout)
    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    return {t.info.tags["claude_code.session_id"]: t.info for t in found}


def test_an_imported_turn_gets_its_branch_and_the_commit_it_had_then(
    history: dict[str, Any], local_store: Path, tmp_path: Path
) -> None:
    checkout, folder = history["checkout"], tmp_path / "transcripts"
    cwd = str(checkout)
    _session(folder, "on-main", cwd, "main", "2026-03-07T12:00:00")
    _session(folder, "on-feature", cwd, "feature", "2026-03-06T12:00:00")
    _session(folder, "after-c2", cwd, "main", "2026-03-11T09:00:00")
    _session(folder, "too-early", cwd, "main", "2026-02-01T12:00:00")
    _session(folder, "gone-branch", cwd, "spike", "2026-03-08T12:00:00")
    info = _import(checkout, folder)
    assert len(info) == 5

    def git_of(sid: str) -> dict[str, str]:
        return {k: v for k, v in info[sid].tags.items() if k.startswith("git.")}

    # main on Mar 7: c1. Not the clone's HEAD (the merge of Mar 12, which did not exist yet),
    # nor f1 (reachable from main today, but merged only on Mar 12).
    assert git_of("on-main")["git.commit_id"] == history["c1"]
    assert git_of("on-main")["git.branch"] == "main"
    assert git_of("after-c2")["git.commit_id"] == history["c2"]
    # A branch only the remote has, as in a colleague's session.
    assert git_of("on-feature")["git.commit_id"] == history["f1"]
    assert git_of("on-feature")["git.branch"] == "feature"
    assert git_of("on-feature")["git.repo_name"] == "acme/widgets"
    # MLflow's own git fields say the same as the tags, not the importing folder's state.
    meta = info["on-feature"].trace_metadata
    assert meta["mlflow.source.git.branch"] == "feature"
    assert meta["mlflow.source.git.commit"] == history["f1"]
    assert meta["mlflow.source.git.repoURL"] == "https://github.com/acme/widgets.git"
    # Unknowable: said so, not guessed.
    early = git_of("too-early")
    assert "git.commit_id" not in early and early["git.branch"] == "main"
    assert early["git.commit_unknown"].startswith(
        "branch 'main' has no commit at or before 2026-02-01T12:00:0"  # the turn's end
    )
    assert info["too-early"].trace_metadata["mlflow.source.git.commit"] == ""
    gone = git_of("gone-branch")
    assert "git.commit_id" not in gone and gone["git.branch"] == "spike"
    assert gone["git.commit_unknown"] == "branch 'spike' is not in this clone"


def test_a_session_whose_folder_does_not_exist_here_keeps_its_files_and_branch(
    history: dict[str, Any], local_store: Path, tmp_path: Path
) -> None:
    checkout, folder = history["checkout"], tmp_path / "transcripts"
    elsewhere = "/home/alice/src/widgets"  # a colleague's checkout, not on this machine
    assert not Path(elsewhere).exists()
    _session(folder, "colleague", elsewhere, "feature", "2026-03-06T12:00:00", edits=True)
    tags = _import(checkout, folder)["colleague"].tags
    assert tags["files.modified"] == '["notes.txt", "src/app.py"]'
    assert tags["files.count"] == "2"
    assert tags["git.branch"] == "feature"
    assert tags["git.commit_id"] == history["f1"]
    assert tags["git.repo_name"] == "acme/widgets"
