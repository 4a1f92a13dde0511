"""Create small, hermetic git repositories (no system or user git config) for Claude Code runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ORIGIN_URL = "https://github.com/acme/widgets.git"
GIT_USER = ("Harness User", "harness@example.com")
# fixed dates keep the initial commit's hash the same on every run
_FIXED_DATE = "2025-01-01T00:00:00+00:00"


def hermetic_git_env(gitconfig: Path) -> dict[str, str]:
    """Environment that makes git read only ``gitconfig`` (written if missing)."""
    if not gitconfig.exists():
        gitconfig.parent.mkdir(parents=True, exist_ok=True)
        gitconfig.write_text(
            f"[user]\n\tname = {GIT_USER[0]}\n\temail = {GIT_USER[1]}\n"
            "[init]\n\tdefaultBranch = main\n"
        )
    return {"GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str, env: dict[str, str], timeout: float = 30) -> str:
    """Run git in ``repo`` with only ``env``'s config; return stdout."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(repo),
        "GIT_AUTHOR_DATE": _FIXED_DATE,
        "GIT_COMMITTER_DATE": _FIXED_DATE,
        **env,
    }
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=full_env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def make_git_repo(path: Path, gitconfig: Path) -> Path:
    """A repo at ``path`` on branch main with one commit (README.md) and origin = acme/widgets."""
    env = hermetic_git_env(gitconfig)
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main", env=env)
    (path / "README.md").write_text(
        "# widgets\n\nA tiny repository for Claude Code harness runs.\n"
    )
    git(path, "add", "README.md", env=env)
    git(path, "commit", "-q", "-m", "Initial commit", env=env)
    git(path, "remote", "add", "origin", ORIGIN_URL, env=env)
    return path
