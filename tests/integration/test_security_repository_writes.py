"""Security, issue 16 section 4: our writes stay inside the repository.

A cloned repository is someone else's content: its `.claude/settings.json`, `.claude` folder or
`.gitignore` may be a symbolic link to a file of this machine (the user's own
`~/.claude/settings.json` in the scratch HOME here), a dangling one, or a chain. The real
`traces init` / `disable` / `enrichment add` / `status` run against a second repository set up
so: a link that leads out is refused with exit 1, naming the link and where it leads, and
nothing changes (the outside file byte for byte, the repository file for file). Links that stay
inside the repository keep working."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from tests.conftest import new_repo
from tests.databricks_standin.fixtures import StandinWorkspace
from tests.tracing import TRACES, traces

HOOK = {"type": "command", "command": "traces hook", "timeout": 10}
# The user's own settings, as if an earlier `init` had already merged our entries into them:
# `disable` writing through the link would take them out.
USER_SETTINGS = {
    "model": "opus",
    "env": {"CLAUDETRACING_EXPERIMENT": "claude-code/mine", "FOO": "bar"},
    "hooks": {"Stop": [{"hooks": [HOOK]}], "SessionEnd": [{"hooks": [HOOK]}]},
}
USER_GITIGNORE = (
    "*.swp\n# >>> claudetracing: personal settings, never committed\n"
    ".claude/settings.local.json\n# <<< claudetracing\n"
)


@dataclass
class Link:
    """One hostile link in the cloned repository: the name it has there, where it leads."""

    link: Path
    target: Path  # the file or folder outside the repository (absent for a dangling link)
    watched: Path  # the outside path that must stay as it is (or absent)


def _clone(tmp_path: Path) -> Path:
    """A second repository, as if just cloned: one commit, an origin."""
    return new_repo(tmp_path, "cloned")


def _user_settings(home: Path) -> Path:
    path = home / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(USER_SETTINGS, indent=2) + "\n", encoding="utf-8")
    return path


def _team_to_user_settings(repo: Path, home: Path) -> Link:
    target = _user_settings(home)
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").symlink_to(target)
    return Link(repo / ".claude/settings.json", target, target)


def _personal_to_user_file(repo: Path, home: Path) -> Link:
    target = home / "personal.json"
    target.write_text('{"env": {"CLAUDETRACING_TRACKING_URI": "local"}}\n', encoding="utf-8")
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.local.json").symlink_to(target)
    return Link(repo / ".claude/settings.local.json", target, target)


def _dangling_team_settings(repo: Path, home: Path) -> Link:
    target = home / ".claude" / "settings.json"  # not there yet: init must not create it
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").symlink_to(target)
    return Link(repo / ".claude/settings.json", target, target)


def _relative_dangling_link(repo: Path, home: Path) -> Link:
    target = home / "made-by-traces.json"
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").symlink_to(os.path.relpath(target, repo / ".claude"))
    return Link(repo / ".claude/settings.json", target, target)


def _claude_folder_linked_out(repo: Path, home: Path) -> Link:
    _user_settings(home)
    (repo / ".claude").symlink_to(home / ".claude", target_is_directory=True)
    return Link(repo / ".claude", home / ".claude", home / ".claude/settings.json")


def _gitignore_linked_out(repo: Path, home: Path) -> Link:
    target = home / ".gitignore_global"
    target.write_text(USER_GITIGNORE, encoding="utf-8")
    (repo / ".gitignore").symlink_to(target)
    return Link(repo / ".gitignore", target, target)


def _chain_through_the_repository(repo: Path, home: Path) -> Link:
    """A link to a link inside the repository, which leads out: the end is what counts."""
    target = _user_settings(home)
    (repo / "config").mkdir()
    (repo / "config/claude.json").symlink_to(target)
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").symlink_to("../config/claude.json")
    return Link(repo / ".claude/settings.json", target, target)


def _gitignore_loop(repo: Path, home: Path) -> Link:
    (repo / ".gitignore").symlink_to(".gitignore")
    return Link(repo / ".gitignore", repo / ".gitignore", home / ".gitignore")


CASES: dict[str, Callable[[Path, Path], Link]] = {
    "team settings to the user's settings": _team_to_user_settings,
    "personal settings to a file in HOME": _personal_to_user_file,
    "dangling team settings": _dangling_team_settings,
    "relative dangling link": _relative_dangling_link,
    ".claude folder to ~/.claude": _claude_folder_linked_out,
    ".gitignore to a global one": _gitignore_linked_out,
    "chain of links": _chain_through_the_repository,
    "link loop": _gitignore_loop,
}
# A dangling link or a loop holds nothing of ours: `disable` could not write through it anyway.
DISABLE_CASES = [name for name in CASES if "dangling" not in name and "loop" not in name]


def _tree(root: Path) -> dict[str, str | bytes]:
    """Every name under root (not .git), a link as where it points: any write shows."""
    found: dict[str, str | bytes] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*dirs, *files]:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = f"-> {os.readlink(path)}"
            elif path.is_file():
                found[key] = path.read_bytes()
            else:
                found[key] = "folder"
    return found


def _content(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _assert_refused(done: subprocess.CompletedProcess[str], link: Link) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    error = done.stderr.split("error: ", 1)[1]
    assert str(link.link) in error and str(link.target) in error, done.stderr
    assert "nothing was written" in error
    assert "fix: replace the link" in done.stderr and f"rm {link.link}" in done.stderr


@pytest.fixture
def clone(tmp_path: Path, isolated: Path) -> Path:
    return _clone(tmp_path).resolve()  # as `traces` names it, whatever links lead to tmp


@pytest.fixture
def home(isolated: Path) -> Path:
    return isolated.resolve()


@pytest.mark.parametrize("case", list(CASES))
def test_init_refuses_a_link_that_leads_out_of_the_repository(
    clone: Path, home: Path, local_store: Path, case: str
) -> None:
    link = CASES[case](clone, home)
    outside, inside = _content(link.watched), _tree(clone)
    done = traces("init", "--local", "--yes", cwd=clone)
    _assert_refused(done, link)
    assert _content(link.watched) == outside  # byte-identical, or still not created
    assert _tree(clone) == inside  # no partial write: not the .gitignore, not the other file


@pytest.mark.parametrize(
    "flags",
    [("--tracking-uri", "sqlite:///traces.db"), ("--local", "--dry-run", "--no-verify")],
    ids=["tracking-uri", "dry-run"],
)
def test_every_form_of_init_refuses(clone: Path, home: Path, flags: tuple[str, ...]) -> None:
    link = _claude_folder_linked_out(clone, home)
    outside, inside = _content(link.watched), _tree(clone)
    done = traces("init", *flags, "--yes", cwd=clone)
    _assert_refused(done, link)
    assert _content(link.watched) == outside
    assert _tree(clone) == inside


@pytest.mark.parametrize("case", DISABLE_CASES)
def test_disable_refuses_a_link_that_leads_out_of_the_repository(
    clone: Path, home: Path, case: str
) -> None:
    link = CASES[case](clone, home)
    outside, inside = _content(link.watched), _tree(clone)
    done = traces("disable", cwd=clone)
    _assert_refused(done, link)
    assert _content(link.watched) == outside
    assert _tree(clone) == inside


def test_enrichment_add_refuses_team_settings_linked_out(clone: Path, home: Path) -> None:
    link = _team_to_user_settings(clone, home)
    outside = _content(link.watched)
    done = traces("enrichment", "add", "git", cwd=clone)
    _assert_refused(done, link)
    assert _content(link.watched) == outside


def test_status_reports_a_link_that_leads_out(clone: Path, home: Path) -> None:
    link = _gitignore_linked_out(clone, home)
    done = traces("status", "--offline", cwd=clone)
    assert done.returncode == 1
    problems = [line for line in done.stderr.splitlines() if line.startswith("problem: ")]
    assert any(str(link.link) in p and str(link.target) in p for p in problems), done.stderr
    assert f"rm {link.link}" in done.stderr


def test_the_wizard_refuses_before_its_first_question(clone: Path, home: Path) -> None:
    link = _claude_folder_linked_out(clone, home)
    outside = _content(link.watched)
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200", "LINES": "40"}
    child = pexpect.spawn(
        TRACES,
        ["init"],
        cwd=str(clone),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 200),
    )
    seen = child.expect(["nothing was written", "Where should this repository's traces go?"])
    text = (child.before or "") + str(child.after)
    if seen == 1:
        child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert seen == 0, "the wizard asked its question before refusing the link"
    assert str(link.link) in text and str(link.target) in text
    assert child.exitstatus == 1
    assert _content(link.watched) == outside


@pytest.mark.server
def test_a_workspace_setup_is_refused_before_any_remote_step(
    clone: Path, home: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    link = _team_to_user_settings(clone, home)
    outside = _content(link.watched)
    ws.clear_requests()
    calls = len(ws.cli_calls())
    done = traces("init", "--profile", ws.profile, "--scope", "shared", "--yes", cwd=clone)
    _assert_refused(done, link)
    assert ws.routes() == []  # no folder, no experiment, no sign-in check made
    assert len(ws.cli_calls()) == calls
    assert _content(link.watched) == outside


def test_links_that_stay_inside_the_repository_keep_working(
    clone: Path, home: Path, local_store: Path
) -> None:
    """`.claude` a link to a folder of the repository, `.gitignore` a link to a file in it:
    init writes the targets and keeps the links, disable restores them byte for byte."""
    (clone / "config/claude").mkdir(parents=True)
    (clone / "config/gitignore").write_text("node_modules/\n", encoding="utf-8")
    (clone / ".claude").symlink_to("config/claude", target_is_directory=True)
    (clone / ".gitignore").symlink_to("config/gitignore")
    before = _tree(clone)
    done = traces("init", "--local", "--yes", cwd=clone)
    assert done.returncode == 0, done.stderr
    assert (clone / ".claude").is_symlink() and (clone / ".gitignore").is_symlink()
    team = json.loads((clone / "config/claude/settings.json").read_text(encoding="utf-8"))
    assert "traces hook" in json.dumps(team["hooks"])
    assert (clone / "config/claude/settings.local.json").is_file()
    assert ".claude/settings.local.json" in (clone / "config/gitignore").read_text().splitlines()
    status = traces("status", "--offline", cwd=clone)
    assert "symbolic link" not in status.stderr, status.stderr
    done = traces("disable", cwd=clone)
    assert done.returncode == 0, done.stderr
    assert _tree(clone) == before  # the links, the empty linked folder, the .gitignore's text


def test_a_hard_linked_gitignore_is_replaced_not_written_through(
    clone: Path, home: Path, local_store: Path
) -> None:
    """Writes go to a temporary file beside the target, renamed over it: another name of the
    same file (a hard link) keeps its content."""
    other = home / "gitignore-elsewhere"
    other.write_text("*.log\n", encoding="utf-8")
    os.link(other, clone / ".gitignore")
    done = traces("init", "--local", "--yes", cwd=clone)
    assert done.returncode == 0, done.stderr
    assert other.read_text(encoding="utf-8") == "*.log\n"
    assert "# <<< claudetracing" in (clone / ".gitignore").read_text(encoding="utf-8")


def test_a_folder_outside_git_under_home_is_not_taken_for_home(home: Path) -> None:
    """Outside a git repository, the nearest folder with `.claude/settings.json` used to be the
    project, and under HOME that is HOME itself: `init` merged our hooks into the user's own
    Claude Code settings. `~/.claude` is Claude Code's folder, never a project's."""
    user = _user_settings(home)
    before = user.read_bytes()
    folder = home / "scratch" / "notes"
    folder.mkdir(parents=True)
    done = traces("init", "--local", "--yes", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert user.read_bytes() == before
    assert "hooks" in json.loads((folder / ".claude" / "settings.json").read_text("utf-8"))
