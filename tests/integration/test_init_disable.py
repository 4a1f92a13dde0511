"""`traces init` and `traces disable` on real repositories: merge, never clobber, undo exactly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.tracing import TRACES, traces

FOREIGN = {
    "permissions": {"allow": ["Bash(npm test)"]},
    "env": {"FOO": "bar"},
    "hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "./scripts/notify.sh"}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint"}]}],
    },
}


def _init(repo: Path, *extra: str) -> None:
    done = traces("init", "--local", "--yes", *extra, cwd=repo)
    assert done.returncode == 0, done.stderr


def _snapshot(repo: Path) -> dict[str, bytes | None]:
    names = (".claude/settings.json", ".claude/settings.local.json", ".gitignore")
    return {n: (repo / n).read_bytes() if (repo / n).exists() else None for n in names}


def test_init_writes_hooks_team_and_personal_settings_and_gitignore(
    repo: Path, local_store: Path
) -> None:
    _init(repo)
    team = json.loads((repo / ".claude/settings.json").read_text())
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert team["env"] == {"CLAUDETRACING_EXPERIMENT": "claude-code/widgets"}
    assert personal["env"] == {
        "CLAUDETRACING_TRACKING_URI": "local",
        "CLAUDETRACING_EXECUTABLE": TRACES,  # the hook runs it whatever Claude Code's PATH
    }
    for event in ("Stop", "SessionEnd"):
        (group,) = team["hooks"][event]
        assert "traces hook" in group["hooks"][0]["command"]
    assert ".claude/settings.local.json" in (repo / ".gitignore").read_text().splitlines()
    for path in (repo / ".claude/settings.json", repo / ".claude/settings.local.json"):
        assert "token" not in path.read_text().lower()


def test_init_twice_is_byte_identical_and_disable_restores_everything(
    repo: Path, local_store: Path
) -> None:
    (repo / ".claude").mkdir()
    # Someone else's formatting: four spaces, no trailing newline.
    (repo / ".claude/settings.json").write_text(json.dumps(FOREIGN, indent=4))
    (repo / ".gitignore").write_text("node_modules/\n")
    before = _snapshot(repo)
    _init(repo)
    once = _snapshot(repo)
    _init(repo)
    assert _snapshot(repo) == once
    merged = json.loads(once[".claude/settings.json"] or b"")
    assert merged["permissions"] == FOREIGN["permissions"]
    assert merged["env"]["FOO"] == "bar"
    assert merged["hooks"]["PreToolUse"] == FOREIGN["hooks"]["PreToolUse"]
    assert merged["hooks"]["Stop"][0] == FOREIGN["hooks"]["Stop"][0]
    assert len(merged["hooks"]["Stop"]) == 2
    done = traces("disable", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert _snapshot(repo) == before


def test_disable_in_a_fresh_repository_leaves_no_trace_of_init(
    repo: Path, local_store: Path
) -> None:
    _init(repo)
    assert traces("disable", cwd=repo).returncode == 0
    assert not (repo / ".claude").exists()
    assert not (repo / ".gitignore").exists()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\ufeff{]"])
def test_invalid_settings_are_refused_and_left_untouched(repo: Path, content: str) -> None:
    (repo / ".claude").mkdir()
    path = repo / ".claude/settings.json"
    path.write_text(content, encoding="utf-8")
    done = traces("init", "--local", "--yes", cwd=repo)
    assert done.returncode == 1
    assert str(path) in done.stderr and "fix" in done.stderr
    assert path.read_text(encoding="utf-8") == content
    assert not (repo / ".claude/settings.local.json").exists()
    assert not (repo / ".gitignore").exists()


def test_symlinked_settings_stay_symlinks(repo: Path, local_store: Path) -> None:
    # Inside the repository: a link that leads out is refused (test_security_repository_writes).
    shared = repo / "config" / "shared-settings.json"
    shared.parent.mkdir()
    shared.write_text('{"model": "opus"}\n')
    (repo / ".claude").mkdir()
    os.symlink(shared, repo / ".claude/settings.json")
    _init(repo)
    assert (repo / ".claude/settings.json").is_symlink()
    assert "traces hook" in shared.read_text()
    assert json.loads(shared.read_text())["model"] == "opus"


def test_dry_run_writes_nothing_and_shows_the_plan(repo: Path) -> None:
    done = traces("init", "--local", "--dry-run", cwd=repo)
    assert done.returncode == 0
    assert "dry run" in done.stderr and "traces hook" in done.stderr
    assert not (repo / ".claude").exists()


def test_custom_experiment_and_tracking_uri(repo: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    done = traces(
        "init",
        "--tracking-uri",
        uri,
        "--experiment",
        "team/widgets",
        "--yes",
        "--no-verify",
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr
    team = json.loads((repo / ".claude/settings.json").read_text())
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert team["env"]["CLAUDETRACING_EXPERIMENT"] == "team/widgets"
    assert personal["env"]["CLAUDETRACING_TRACKING_URI"] == uri


def test_a_teammate_without_the_package_sees_nothing(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    import subprocess
    import time

    _init(repo)
    command = json.loads((repo / ".claude/settings.json").read_text())["hooks"]["Stop"][0]["hooks"][
        0
    ]["command"]
    started = time.monotonic()
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        input='{"hook_event_name": "Stop"}',
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert time.monotonic() - started < 2


def test_status_reports_sources_and_fails_when_hooks_are_missing(
    repo: Path, local_store: Path
) -> None:
    done = traces("status", "--json", cwd=repo)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert any("hooks missing" in p["what"] for p in report["problems"])
    _init(repo)
    done = traces("status", "--json", cwd=repo)
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["settings"]["CLAUDETRACING_EXPERIMENT"]["source"].startswith("team settings")
    assert report["settings"]["CLAUDETRACING_TRACKING_URI"]["source"].startswith(
        "personal settings"
    )
    assert report["backend_ok"]
