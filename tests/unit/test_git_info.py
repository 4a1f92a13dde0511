"""git state in every shape a repository can be in: no commits, detached, worktree, none."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from claudetracing.core import git_info
from tests.conftest import git


def test_a_normal_repository(repo: Path) -> None:
    git(repo, "remote", "set-url", "origin", "https://dev:s3cret-token@github.com/acme/widgets.git")
    snap = git_info.snapshot(repo / "subdir" if (repo / "subdir").exists() else repo)
    assert snap is not None
    assert snap.commit_id == git(repo, "rev-parse", "HEAD")
    assert snap.branch == "main"
    assert snap.remote_url == "https://github.com/acme/widgets.git"
    assert snap.repo_name == "acme/widgets"
    assert snap.dirty is False
    (repo / "new.txt").write_text("x")
    assert git_info.snapshot(repo).dirty is True  # type: ignore[union-attr]


def test_no_commits_yet(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    snap = git_info.snapshot(tmp_path)
    assert snap is not None
    assert snap.commit_id is None and snap.branch == "trunk"
    assert snap.repo_name == tmp_path.name and snap.remote_url is None


def test_detached_head(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    snap = git_info.snapshot(repo)
    assert snap is not None and snap.branch is None
    assert snap.commit_id == git(repo, "rev-parse", "HEAD")


def test_worktree(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(other))
    snap = git_info.snapshot(other)
    assert snap is not None and snap.branch == "feature"
    assert snap.toplevel == other and snap.repo_name == "acme/widgets"


def test_outside_any_repository(tmp_path: Path) -> None:
    assert git_info.snapshot(tmp_path) is None


def test_scp_like_and_ssh_remotes() -> None:
    assert git_info.repo_name_from_url("git@github.com:acme/widgets.git") == "acme/widgets"
    assert git_info.repo_name_from_url("ssh://git@host:2222/team/repo") == "team/repo"
    assert (
        git_info.strip_credentials("https://x-access-token:ghp_abc@github.com/a/b")
        == "https://github.com/a/b"
    )


def test_head_at_a_past_moment_uses_the_reflog(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    moment = datetime.now(timezone.utc)
    import time

    time.sleep(1.1)
    (repo / "b.txt").write_text("b")
    git(repo, "add", "b.txt")
    git(repo, "commit", "-q", "-m", "second")
    assert git_info.head_at(repo, moment) == first


def test_head_at_reads_the_reflog_as_git_does(repo: Path) -> None:
    """One reading of the reflog answers every moment exactly as `git rev-parse HEAD@{date}`."""
    import time

    for name in ("c.txt", "d.txt", "e.txt"):
        time.sleep(1.05)
        (repo / name).write_text(name)
        git(repo, "add", name)
        git(repo, "commit", "-q", "-m", name)
    times = [
        int(line.split()[1][6:-1])
        for line in git(
            repo, "reflog", "show", "--date=unix", "--format=%H %gd", "HEAD"
        ).splitlines()
    ]
    moments = sorted({t + d for t in times for d in (-1, 0, 1)} | {times[0] + 30})
    for moment in moments:
        when = datetime.fromtimestamp(moment, tz=timezone.utc)
        stamp = when.strftime("%Y-%m-%d %H:%M:%S +0000")
        expected = git(repo, "rev-parse", "--verify", "--quiet", f"HEAD@{{{stamp}}}")
        if moment < times[-1]:
            # Before the reflog begins git answers with its oldest entry: a commit that did
            # not exist yet. head_at names none.
            assert git_info.head_at(repo, when) is None, (moment, times)
        else:
            assert git_info.head_at(repo, when) == expected, (moment, times)
