"""Issue 16 §1, everything we write is private whatever the umask: the security test module.

Each test runs the real `traces` executable under umask 022 (the common default, which makes
files 0644 and folders 0755) with a scratch HOME, then walks what it wrote: every folder 0700,
no file readable by anyone but its owner; the files MLflow and sqlite create in our store
included. An install written by an earlier version is tightened on the next run, and `traces
status` warns about a store or data folder that others can read."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from claudetracing.core import paths
from tests.integration.test_import_demo import _place_sessions
from tests.sessions import copy_recorded
from tests.tracing import fire_hook, run_exporter, traces, wait_for_exporter


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The `traces` processes a test starts inherit the umask most systems give a user."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _exposed(top: Path) -> list[str]:
    """Every folder from `top` down that is not 0700, every file others may read or write."""
    found = []
    for folder, _, files in os.walk(top):
        for path in [Path(folder)] + [Path(folder) / n for n in files]:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            loose = mode != 0o700 if stat.S_ISDIR(info.st_mode) else bool(mode & 0o077)
            if loose:
                found.append(f"{oct(mode)} {path}")
    return sorted(found)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_fresh_install_under_umask_022_writes_nothing_others_can_read(
    umask_022: None, repo: Path, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default data folder, under a HOME without ~/.local: three levels we create.
    monkeypatch.delenv("CLAUDETRACING_HOME")
    os.chmod(isolated, 0o755)
    data = paths.data_dir()
    assert data == isolated / ".local" / "share" / "claudetracing"
    # init on the local store: its verification writes, reads back and deletes a test trace.
    _ok(traces("init", "--local", "--yes", cwd=repo))
    # A broken payload: the hook logs it and records the failure for status.
    _ok(traces("hook", cwd=repo, input="{not json"))
    assert (data / "logs" / "hook.log").is_file()
    # A real turn: the hook spools it and starts the detached exporter, which exports it.
    transcript = copy_recorded("tool_call", tmp_path / "sessions" / "tool_call")
    _ok(fire_hook("Stop", transcript, repo, spawn=True))
    wait_for_exporter()
    # A turn whose transcript is a folder: `flush` gives it up with a `.reason` beside it.
    folder = tmp_path / "sessions" / "not-a-file.jsonl"
    folder.mkdir()
    _ok(fire_hook("Stop", folder, repo))
    monkeypatch.setenv("CLAUDETRACING_GIVE_UP_UNREADABLE_AFTER", "0s")
    traces("flush", cwd=repo)
    assert list((data / "spool" / "failed").glob("*.reason"))
    # Past sessions imported, and the demo with its own repository and sessions.
    _place_sessions(repo, "subagent")
    assert "1 session(s)" in _ok(traces("import", cwd=repo))
    _ok(traces("demo", cwd=tmp_path))
    traces("status", "--offline", cwd=repo)

    written = {p.relative_to(data).as_posix() for p in data.rglob("*")}
    for expected in (
        "mlflow/mlflow.db",
        "logs/exporter.log",
        "logs/exporter.stderr",
        "spool/exporter.lock",
        "spool/status.json",
        "demo/widgets/.git",
    ):
        assert expected in written, f"{expected} not written: the test lost its subject"
    assert _exposed(isolated / ".local") == []
    assert _mode(isolated) == 0o755, "HOME, which we did not create, was changed"
    # The repository is the user's: what init creates there follows the user's umask.
    assert _mode(repo / ".claude") == 0o755
    assert _mode(repo / ".claude" / "settings.json") == 0o644  # committed, for the team
    # Personal settings are never committed and name this machine's paths: the owner's only.
    assert _mode(repo / ".claude" / "settings.local.json") == 0o600


def _loosen(top: Path) -> None:
    """What an earlier version left under umask 022: folders 0755, files 0644."""
    for folder, _, files in os.walk(top):
        os.chmod(folder, 0o755)
        for name in files:
            if not (Path(folder) / name).is_symlink():
                os.chmod(Path(folder) / name, 0o644)


def _old_install(repo: Path, tmp_path: Path) -> Path:
    """A data folder with a store (the `local_store` fixture's), a spooled turn and the hook's
    log, loosened as an earlier version left it."""
    _ok(traces("init", "--local", "--yes", "--no-verify", cwd=repo))
    transcript = copy_recorded("tool_call", tmp_path / "sessions" / "tool_call")
    _ok(fire_hook("Stop", transcript, repo))
    _ok(traces("hook", cwd=repo, input="[]"))
    data = paths.data_dir()
    _loosen(data)
    return data


@pytest.mark.parametrize("next_run", ["exporter", "flush", "import"])
def test_an_install_others_can_read_is_tightened_on_the_next_run(
    next_run: str, umask_022: None, repo: Path, local_store: Path, tmp_path: Path
) -> None:
    if next_run == "import":
        _place_sessions(repo, "subagent")
    data = _old_install(repo, tmp_path)
    os.chmod(data.parent, 0o755)
    outside = tmp_path / "not-ours.txt"
    outside.write_text("a file of the user's\n", encoding="utf-8")
    os.chmod(outside, 0o644)
    (data / "logs" / "link-out").symlink_to(outside)
    assert _exposed(data), "the old install is not readable by others: nothing to tighten"
    _ok(run_exporter() if next_run == "exporter" else traces(next_run, cwd=repo))
    assert _exposed(data) == []
    assert stat.S_IMODE((data / "mlflow" / "mlflow.db").stat().st_mode) == 0o600
    # Only what is ours: the folder holding the data folder and a linked file stay as they were.
    assert _mode(data.parent) == 0o755
    assert _mode(outside) == 0o644


def _warnings(repo: Path) -> list[dict[str, str]]:
    done = traces("status", "--json", "--offline", cwd=repo)
    report = json.loads(done.stdout)
    return [*report["warnings"], *report["problems"]]


def _about(found: list[dict[str, str]], path: Path) -> list[dict[str, str]]:
    return [w for w in found if str(path) in w["what"]]


def test_status_warns_about_a_user_given_sqlite_store_others_can_read(
    umask_022: None, repo: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    database = shared / "traces.db"
    _ok(traces("init", "--tracking-uri", f"sqlite:///{database}", "--yes", cwd=repo))
    # Created by us: private. Made readable (say by an MLflow server run under umask 022) ...
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert _about(_warnings(repo), database) == []
    os.chmod(database, 0o644)
    (warning,) = _about(_warnings(repo), database)
    assert "other users can read" in warning["what"]
    assert f"chmod 600 {database}" in warning["fix"]
    # ... and a folder anyone may write to, where the store could be swapped.
    os.chmod(database, 0o600)
    os.chmod(shared, 0o777)
    (warning,) = _about(_warnings(repo), shared)
    assert f"chmod go-w {shared}" in warning["fix"]
    # A user's store is never changed by us: only the warning says what to do.
    assert _mode(shared) == 0o777


def test_status_warns_about_our_data_folder_and_store_others_can_read(
    umask_022: None, repo: Path, local_store: Path, tmp_path: Path
) -> None:
    data = _old_install(repo, tmp_path)
    found = _warnings(repo)
    database = data / "mlflow" / "mlflow.db"
    assert _about(found, database), found
    (folder,) = [w for w in found if w["what"].startswith(f"the data folder {data} ")]
    assert "traces flush" in folder["fix"] and f"chmod -R go-rwx {data}" in folder["fix"]
    _ok(traces("flush", cwd=repo))
    found = _warnings(repo)
    assert _about(found, data) == [], found
