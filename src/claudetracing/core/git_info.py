"""The one module that reads git: remote, commit, branch and dirtiness of a working tree."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?([^:/]+):(.+)$")


def strip_credentials(url: str) -> str:
    """Remove `user:password@` (or a token) from a remote URL; scp-like URLs keep no secret."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def repo_name_from_url(url: str) -> str | None:
    """`org/repo` from https, ssh or scp-like remote URLs."""
    if "://" in url:
        path = urlsplit(url).path
    else:
        match = _SCP_LIKE.match(url)
        path = match.group(2) if match else url
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    return "/".join(parts[-2:])


def _repo(root: Path) -> Any:
    try:
        import git
    except ImportError:  # pragma: no cover - gitpython is a dependency
        return None
    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, OSError):
        return None


def user_email(root: Path) -> str | None:
    """git's user.email: the global setting, else the repository's."""
    try:
        import git

        email = git.GitConfigParser(read_only=True).get_value("user", "email", default="")
        if not email:
            repo = _repo(root)
            email = repo.config_reader().get_value("user", "email", default="") if repo else ""
    except Exception:  # no git, no config: the caller falls back
        return None
    return str(email) if email else None


def remote_url(root: Path) -> str | None:
    repo = _repo(root)
    if repo is None:
        return None
    try:
        remotes = {r.name: r for r in repo.remotes}
        remote = remotes.get("origin") or next(iter(remotes.values()), None)
        if remote is None:
            return None
        return strip_credentials(next(iter(remote.urls)))
    except Exception:  # a broken config must not cost a trace
        return None


def remote_repo_name(root: Path) -> str | None:
    url = remote_url(root)
    return repo_name_from_url(url) if url else None


REFLOG_REUSE_S = 60.0  # how long one reading of a repository's history answers for the past
_readings: dict[tuple[str, str], tuple[float, float, list[tuple[int, str]]]] = {}
_REFLOG_TIME = re.compile(r"@\{(\d+)\}$")


def _read(repo: Any, what: str, at: int, args: list[str]) -> list[tuple[int, str]]:
    """`git ARGS` as (unix time, commit) lines, newest first. One `git` run serves a backfill of
    many turns instead of one or two per turn; a reading answers only for moments before it was
    taken (later entries may be missing from it)."""
    key = (str(repo.git_dir), what)
    now = time.monotonic()
    cached = _readings.get(key)
    if cached is not None and now - cached[0] < REFLOG_REUSE_S and at < cached[1]:
        return cached[2]
    taken = time.time()
    try:
        text = repo.git.execute(["git", *args])
    except Exception:
        text = ""
    entries = []
    for line in str(text).splitlines():
        commit, _, when = line.partition(" ")
        found = _REFLOG_TIME.search(when)
        if found:
            when = found.group(1)
        if when.isdigit():
            entries.append((int(when), commit))
    _readings[key] = (now, taken, entries)
    return entries


def _reflog(repo: Any, at: int) -> list[tuple[int, str]]:
    """HEAD's reflog, newest first: (unix time, commit)."""
    args = ["reflog", "show", "--date=unix", "--format=%H %gd", "HEAD"]
    return _read(repo, "reflog HEAD", at, args)


def head_at(cwd: Path, moment: datetime) -> str | None:
    """The commit HEAD pointed at, at `moment`, as this clone's reflog recorded it; None when
    the reflog does not reach back that far (a clone made later, an expired reflog): the
    oldest entry `HEAD@{date}` would name then is a commit that may not have existed yet."""
    repo = _repo(cwd)
    if repo is None:
        return None
    at = int(moment.timestamp())
    entries = _reflog(repo, at)
    if entries and entries[-1][0] <= at:
        # Inside the reflog's time: the newest entry not after the moment, as HEAD@{date} reads.
        return next(commit for when, commit in entries if when <= at)
    return None


def _branch_ref(repo: Any, branch: str, at: int) -> str | None:
    """The branch's ref in this clone: the local branch, else a remote's (a colleague's branch
    never checked out here), origin's first."""
    refs = [
        ref
        for _, ref in _read(
            repo,
            "refs",
            at,
            ["for-each-ref", "--format=%(refname) 0", "refs/heads", "refs/remotes"],
        )
    ]
    wanted = [f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"]
    wanted += sorted(r for r in refs if r.startswith("refs/remotes/") and r.endswith(f"/{branch}"))
    return next((ref for ref in wanted if ref in refs), None)


@dataclass(frozen=True)
class PastCommit:
    """The commit a working tree had at a past moment, or why it cannot be known."""

    commit_id: str | None
    unknown: str | None = None  # the reason, when commit_id is None


def commit_at(cwd: Path, moment: datetime, branch: str | None) -> PastCommit:
    """The commit checked out on `branch` at `moment`: the last commit at or before it on the
    branch's first-parent line (its own history, not that of branches merged into it later).
    Without a branch (detached HEAD, none recorded): HEAD from the reflog, when it reaches back
    that far. Never a commit made after `moment`; when none can be named, the reason."""
    repo = _repo(cwd)
    stamp = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if repo is None:
        return PastCommit(None, f"no git repository at {cwd} to read the history of")
    at = int(moment.timestamp())
    if not branch:
        found = head_at(cwd, moment)
        if found:
            return PastCommit(found)
        return PastCommit(
            None, f"no branch recorded and this clone's reflog does not reach back to {stamp}"
        )
    ref = _branch_ref(repo, branch, at)
    if ref is None:
        return PastCommit(None, f"branch {branch!r} is not in this clone")
    log = _read(repo, f"log {ref}", at, ["log", "--first-parent", "--format=%H %ct", ref])
    found = next((commit for when, commit in log if when <= at), None)
    if found is None:
        return PastCommit(None, f"branch {branch!r} has no commit at or before {stamp}")
    return PastCommit(found)


@dataclass
class GitSnapshot:
    commit_id: str | None
    branch: str | None
    remote_url: str | None
    repo_name: str
    dirty: bool | None
    toplevel: Path | None


def snapshot(cwd: Path) -> GitSnapshot | None:
    """The working tree's state now; None outside any repository."""
    repo = _repo(cwd)
    if repo is None:
        return None
    try:
        toplevel = Path(repo.working_tree_dir) if repo.working_tree_dir else None
    except Exception:
        toplevel = None
    try:
        commit = repo.head.commit.hexsha if repo.head.is_valid() else None
    except Exception:
        commit = None
    try:
        branch = None if repo.head.is_detached else repo.active_branch.name
    except Exception:  # unborn branch: HEAD points at a ref that has no commit yet
        try:
            branch = repo.git.symbolic_ref("--short", "HEAD")
        except Exception:
            branch = None
    try:
        dirty: bool | None = repo.is_dirty(untracked_files=True)
    except Exception:
        dirty = None
    url = remote_url(cwd)
    name = (repo_name_from_url(url) if url else None) or (toplevel or cwd).name
    return GitSnapshot(commit, branch, url, name, dirty, toplevel)


@dataclass(frozen=True)
class DatedCommit:
    when: datetime
    message: str
    files: dict[str, str]  # path relative to the repository → its whole new content


_DEMO_PERSON = ("Demo Dev", "dev@example.com")


def create_repository(root: Path, commits: list[DatedCommit], *, branch: str, remote: str) -> bool:
    """A new repository at `root` with `commits` on `branch`, made with git itself and nothing
    of the user's git configuration (no signing, hooks or templates): the same content, times
    and author give the same commit ids on every machine. False when git cannot run."""
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": _DEMO_PERSON[0],
        "GIT_AUTHOR_EMAIL": _DEMO_PERSON[1],
        "GIT_COMMITTER_NAME": _DEMO_PERSON[0],
        "GIT_COMMITTER_EMAIL": _DEMO_PERSON[1],
    }
    settings = ["-c", "commit.gpgsign=false", "-c", f"core.hooksPath={os.devnull}"]

    def run(*args: str, when: datetime | None = None) -> None:
        stamp = when.isoformat() if when else None
        dates = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp} if stamp else {}
        subprocess.run(
            ["git", *settings, *args],
            cwd=root,
            env={**env, **dates},
            check=True,
            capture_output=True,
            timeout=30,
        )

    root.mkdir(parents=True, exist_ok=True)
    try:
        run("init", "-q")
        run("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        run("remote", "add", "origin", remote)
        for commit in commits:
            for name, text in commit.files.items():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_text(text, encoding="utf-8")
            run("add", "--", *commit.files)
            run("commit", "-q", "--no-verify", "-m", commit.message, when=commit.when)
    except (OSError, subprocess.SubprocessError):
        return False
    return True
