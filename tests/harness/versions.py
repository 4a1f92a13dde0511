"""The Claude Code versions the end-to-end tests run against, and where each one is installed.

``ci/claude-code/versions`` names them (first line: the oldest we support; second: the newest
known good); each is installed from its committed npm lock by ``scripts/install-claude-code``
into ``<cache>/claude-code-<version>``. ``scripts/test`` exports ``CLAUDE_CODE_MATRIX``
(``"2.1.197=/path/claude 2.1.328=/path/claude"``); without it the default cache paths are used.
``CLAUDE_BIN`` overrides the whole matrix with one executable (a one-off run, the canary).

Everything here is read once, at import (collection), before any test's isolation fixture
replaces HOME or scrubs the environment.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = ROOT / "ci" / "claude-code" / "versions"
DEFAULT_CACHE = Path.home() / ".cache" / "claudetracing-ci"

# Behaviour that changed between the two pins. The exact release that changed it lies somewhere
# between them; we only claim what we ran: the oldest pin has the old behaviour, the newest (and
# anything later, e.g. the canary's) the new one.
BACKGROUND_AGENTS_SINCE = (2, 1, 328)  # Agent subagents run in the background by default
FORK_SUBAGENTS_SINCE = (2, 1, 328)  # subagent_type "fork" (on by default since 2.1.302)
# subagent lines are written with the response's real output count, not message_start's 1
SUBAGENT_REAL_OUTPUT_SINCE = (2, 1, 328)
# `claude -p --resume`: modelUsage and total_cost_usd cover the whole session, not the run
CUMULATIVE_RESUME_USAGE_SINCE = (2, 1, 328)


def parse_version(text: str) -> tuple[int, ...]:
    """(2, 1, 328) from "2.1.328" or "2.1.328 (Claude Code)"; () when there is no version."""
    match = re.search(r"\d+(?:\.\d+)+", text)
    return tuple(int(p) for p in match.group(0).split(".")) if match else ()


@dataclass(frozen=True)
class ClaudeCode:
    """One installed Claude Code: its version and executable."""

    version: str
    path: str

    @property
    def id(self) -> str:
        """The pytest id: ``cc2.1.328``."""
        return f"cc{self.version}"

    @property
    def key(self) -> tuple[int, ...]:
        return parse_version(self.version)

    @property
    def background_agents(self) -> bool:
        """Agent subagents run in the background: Stop may fire before they end."""
        return self.key >= BACKGROUND_AGENTS_SINCE

    @property
    def fork_subagents(self) -> bool:
        return self.key >= FORK_SUBAGENTS_SINCE

    @property
    def subagent_placeholder_output(self) -> bool:
        """Paced subagent lines keep message_start's placeholder output count (1)."""
        return self.key < SUBAGENT_REAL_OUTPUT_SINCE

    @property
    def cumulative_resume_usage(self) -> bool:
        """A resumed run's result reports the session's usage so far, not its own."""
        return self.key >= CUMULATIVE_RESUME_USAGE_SINCE

    def installed(self) -> bool:
        return os.path.isfile(self.path) and os.access(self.path, os.X_OK)

    @property
    def install_hint(self) -> str:
        return (
            f"scripts/install-claude-code {self.version} (or run scripts/test, which installs it)"
        )


def pinned_versions() -> list[str]:
    """The versions ci/claude-code/versions names, oldest supported first."""
    lines = VERSIONS_FILE.read_text(encoding="utf-8").splitlines()
    return [s for line in lines if (s := line.split("#", 1)[0].strip())]


def _cache() -> Path:
    return Path(os.environ.get("CLAUDETRACING_CI_CACHE") or DEFAULT_CACHE)


def default_path(version: str) -> str:
    return str(_cache() / f"claude-code-{version}" / "node_modules" / ".bin" / "claude")


def _version_of(path: str) -> str:
    """What ``claude --version`` says, or "unknown" when it cannot run."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except OSError:
        return "unknown"
    key = parse_version(out.stdout)
    return ".".join(map(str, key)) if key else "unknown"


def matrix() -> list[ClaudeCode]:
    """The versions to test: $CLAUDE_BIN alone, else $CLAUDE_CODE_MATRIX, else the pinned ones."""
    override = os.environ.get("CLAUDE_BIN")
    if override:
        return [ClaudeCode(_version_of(override), override)]
    exported = os.environ.get("CLAUDE_CODE_MATRIX", "").split()
    if exported:
        pairs = [entry.split("=", 1) for entry in exported]
        return [ClaudeCode(version, path) for version, path in pairs]
    return [ClaudeCode(v, default_path(v)) for v in pinned_versions()]


MATRIX = matrix()
# Tests that run one version only (not parametrized) get the oldest supported one, or CLAUDE_BIN.
DEFAULT = MATRIX[0]


def current() -> ClaudeCode:
    """The version for a test that is not parametrized: $CLAUDE_BIN as set now, else DEFAULT."""
    override = os.environ.get("CLAUDE_BIN")
    if override and override != DEFAULT.path:
        return ClaudeCode(_version_of(override), override)
    return DEFAULT


__all__ = [
    "BACKGROUND_AGENTS_SINCE",
    "DEFAULT",
    "FORK_SUBAGENTS_SINCE",
    "MATRIX",
    "ClaudeCode",
    "current",
    "default_path",
    "matrix",
    "parse_version",
    "pinned_versions",
]
