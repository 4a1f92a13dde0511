"""`traces import` backfills exactly once; `traces demo` works on a fresh machine."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from claudetracing.core import config as config_mod
from claudetracing.core import paths
from tests.sessions import recorded
from tests.tracing import stored_traces, traces


def _place_sessions(repo: Path, *names: str) -> list[Path]:
    """Put recorded sessions where Claude Code keeps this repository's transcripts."""
    folder = paths.claude_projects_dir() / paths.project_key(repo.resolve())
    placed = []
    for name in names:
        case = recorded(name)
        shutil.copytree(
            case.folder,
            folder,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("*.json", "hooks.jsonl"),
        )
        path = folder / case.transcript.name
        old = time.time() - 3600
        os.utime(path, (old, old))
        placed.append(path)
    return placed


def test_import_backfills_this_repositorys_sessions_exactly_once(
    repo: Path, local_store: Path
) -> None:
    assert traces("init", "--local", "--yes", "--no-verify", cwd=repo).returncode == 0
    _place_sessions(repo, "resume", "subagent")
    other = paths.claude_projects_dir() / "-somewhere-else"
    shutil.copytree(recorded("tool_call").folder, other)
    first = traces("import", cwd=repo)
    assert first.returncode == 0, first.stderr
    assert "2 session(s): 3 turn(s) exported" in first.stderr
    second = traces("import", cwd=repo)
    assert second.returncode == 0
    assert "0 turn(s) exported" in second.stderr
    cfg = config_mod.load(repo)
    assert len(stored_traces(cfg.tracking_uri, cfg.experiment)) == 3


def test_import_respects_claude_config_dir_and_since(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    os.environ["CLAUDE_CONFIG_DIR"] = str(tmp_path / "claude-config")
    try:
        (old,) = _place_sessions(repo, "tool_call")
        done = traces("import", "--since", "10m", cwd=repo)
        assert done.returncode == 0
        assert "no sessions found" in done.stderr
        done = traces("import", "--since", "2h", cwd=repo)
        assert "1 session(s): 1 turn(s) exported" in done.stderr
        assert str(tmp_path / "claude-config") in str(old)
    finally:
        del os.environ["CLAUDE_CONFIG_DIR"]


def test_import_of_given_files_and_a_clear_error_for_missing_ones(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    target = tmp_path / "given"
    shutil.copytree(recorded("failing_bash").folder, target)
    done = traces("import", str(target), cwd=repo)
    assert done.returncode == 0 and "1 turn(s) exported" in done.stderr
    done = traces("import", str(tmp_path / "nope.jsonl"), cwd=repo)
    assert done.returncode == 1
    assert "no such file or folder" in done.stderr and "nope.jsonl" in done.stderr


def test_broken_lines_are_skipped_counted_and_reported(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    source = recorded("tool_call").transcript
    broken = tmp_path / source.name
    lines = source.read_bytes().splitlines(keepends=True)
    broken.write_bytes(b"".join(lines[:3]) + b"{garbage\n" + b"\xff\xfe\n" + b"".join(lines[3:]))
    done = traces("import", str(broken), cwd=repo)
    assert done.returncode == 0
    assert "1 turn(s) exported" in done.stderr
    assert "2 unreadable transcript line(s) skipped" in done.stderr


def test_demo_on_a_fresh_machine(isolated: Path, tmp_path: Path) -> None:
    done = traces("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4 trace(s), one per turn" in done.stdout
    found = stored_traces(paths.local_tracking_uri(), "claude-code/demo")
    assert len(found) == 4
    names = {s.name for t in found for s in t.data.spans}
    assert {"Write", "Edit", "Agent", "subagent:general-purpose", "Bash"} <= names
    errors = [s for t in found for s in t.data.spans if s.status.status_code == "ERROR"]
    assert [s.name for s in errors] == ["Bash"]
    again = traces("demo", cwd=tmp_path)
    assert again.returncode == 0
    assert len(stored_traces(paths.local_tracking_uri(), "claude-code/demo")) == 4
