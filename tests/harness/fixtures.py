"""Pytest fixtures for driving the real Claude Code CLI offline (a plugin: `pytest_plugins`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .claude_cli import INSTALL_HINT
from .claude_cli import claude_bin as _claude_bin
from .gitrepo import make_git_repo
from .messages_api import INSTANT, REAL_LIKE, MessagesAPI
from .versions import MATRIX, ClaudeCode


@pytest.fixture(scope="session")
def claude_bin() -> str:
    """Path of the claude executable; fails (never skips) when it is missing."""
    path = _claude_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"Claude Code CLI not found at {path!r}. Install it with: {INSTALL_HINT}")
    return path


@pytest.fixture(scope="session", params=MATRIX, ids=[c.id for c in MATRIX])
def claude_version(request: pytest.FixtureRequest) -> ClaudeCode:
    """Each Claude Code version of the matrix in turn (ids ``cc2.1.197``, ``cc2.1.328``; just
    $CLAUDE_BIN when that is set). Fails (never skips) when a version is not installed."""
    claude: ClaudeCode = request.param
    if not claude.installed():
        pytest.fail(
            f"Claude Code {claude.version} not found at {claude.path!r}. "
            f"Install it with: {claude.install_hint}"
        )
    return claude


@pytest.fixture
def messages_api() -> Iterator[MessagesAPI]:
    """A started scripted Messages API (set its scenario with set_scenario); stopped afterwards.

    It streams REAL_LIKE, so the transcripts look like real ones: stop_reason null on assistant
    lines, a timestamp per block, and subagent lines that keep a placeholder output count (the
    real one is only in modelUsage). A test that needs speed or exact output counts in subagent
    files sets ``api.streaming = INSTANT`` (or another ``Streaming``) or uses
    ``instant_messages_api``.
    """
    with MessagesAPI(streaming=REAL_LIKE) as api:
        yield api


@pytest.fixture
def instant_messages_api() -> Iterator[MessagesAPI]:
    """Like messages_api, but every response is streamed at once with its real stop_reason."""
    with MessagesAPI(streaming=INSTANT) as api:
        yield api


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    """A scratch HOME for claude: its ~/.claude and ~/.claude.json live here."""
    # not tmp_path/"home": the suite's autouse isolation fixture already owns that folder
    home = tmp_path / "claude-home"
    home.mkdir(exist_ok=True)
    return home


@pytest.fixture
def git_repo(tmp_path: Path, claude_home: Path) -> Path:
    """A real git repo (branch main, one commit, origin github.com/acme/widgets) in tmp_path.

    Its git config is the scratch home's .gitconfig, the same file claude_env() points
    GIT_CONFIG_GLOBAL at, so Claude Code and its tools see the same hermetic config.
    """
    return make_git_repo(tmp_path / "widgets", claude_home / ".gitconfig")
