"""What the figures were measured on: hardware, interpreter, library and tool versions."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

# Where the test harness installs Claude Code (tests/harness/claude_cli.py).
_CI_CLAUDE = "/root/.cache/claudetracing-ci/claude-code-2.1.197/node_modules/.bin/claude"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _claude_version() -> str:
    candidates = [os.environ.get("CLAUDE_BIN"), shutil.which("claude"), _CI_CLAUDE]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            try:
                out = subprocess.run(
                    [candidate, "--version"], capture_output=True, text=True, timeout=20
                )
            except (OSError, subprocess.TimeoutExpired):
                continue
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip().splitlines()[0]
    return "not installed"


def _git_commit(repo: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}" if head else "unknown"


def commit_of(folder: Path) -> str:
    """The commit checked out where `folder` lies (another worktree, for `--before-src`)."""
    return _git_commit(folder)


def load_average() -> str:
    """Other work on the machine skews every figure: say how busy it was."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def describe(repo: Path, tmp: Path, load_at_start: str) -> dict[str, str]:
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": _cpu_model(),
        "cores": f"{cores} ({usable} usable by this process)",
        "RAM": _ram(),
        "OS": platform.platform(),
        "Python": f"{platform.python_version()} ({sys.executable})",
        "mlflow": _version("mlflow"),
        "claudetracing": f"{_version('claudetracing')} (commit {_git_commit(repo)})",
        "sqlite": sqlite3.sqlite_version,
        "Claude Code": _claude_version(),
        "scratch folder": str(tmp),
        "load average 1/5/15 min, at start": load_at_start,
        "load average 1/5/15 min, at end": load_average(),
    }
