"""The one module that reads git: remote, commit, branch and dirtiness of a working tree."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
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


REFLOG_REUSE_S = 60.0  # how long one reading of a repository's reflog answers `head_at`
_reflogs: dict[str, tuple[float, float, list[tuple[int, str]]]] = {}
_REFLOG_TIME = re.compile(r"@\{(\d+)\}$")


def _reflog(repo: Any, at: int) -> list[tuple[int, str]]:
    """HEAD's reflog, newest first: (unix time, commit). One `git` run serves a backfill of
    many turns instead of one or two per turn; a reading answers only for moments before it was
    taken (later entries may be missing from it)."""
    key = str(repo.git_dir)
    now = time.monotonic()
    cached = _reflogs.get(key)
    if cached is not None and now - cached[0] < REFLOG_REUSE_S and at < cached[1]:
        return cached[2]
    taken = time.time()
    try:
        text = repo.git.execute(["git", "reflog", "show", "--date=unix", "--format=%H %gd", "HEAD"])
    except Exception:
        text = ""
    entries = []
    for line in str(text).splitlines():
        commit, _, ref = line.partition(" ")
        found = _REFLOG_TIME.search(ref)
        if found:
            entries.append((int(found.group(1)), commit))
    _reflogs[key] = (now, taken, entries)
    return entries


def head_at(cwd: Path, moment: datetime) -> str | None:
    """The commit HEAD pointed at, at `moment`: from the reflog, else the last commit before."""
    repo = _repo(cwd)
    if repo is None:
        return None
    at = int(moment.timestamp())
    entries = _reflog(repo, at)
    if entries and entries[-1][0] <= at:
        # Inside the reflog's time: the newest entry not after the moment, as HEAD@{date} reads.
        return next(commit for when, commit in entries if when <= at)
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S +0000")
    for args in (
        ("rev-parse", "--verify", "--quiet", f"HEAD@{{{stamp}}}"),
        ("rev-list", "-1", f"--before={stamp}", "HEAD"),
    ):
        try:
            found = repo.git.execute(["git", *args]).strip()
        except Exception:
            continue
        if found:
            return str(found)
    return None


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
