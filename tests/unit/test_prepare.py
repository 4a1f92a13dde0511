"""One call prepares a turn's trace: its redaction count is its own, git is read once per turn."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from claudetracing.core import git_info
from claudetracing.export.prepare import REDACTIONS_TAG, Preparer
from claudetracing.transcript.model import Turn
from claudetracing.transcript.turns import read_session
from tests.conftest import git
from tests.unit.test_redaction import load_secrets
from tests.unit.test_turns import Lines, _u


def _turns(path: Path, prompts: list[str], *, ended_ago_s: float | None = None) -> list[Turn]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = Lines(path)
    for n, text in enumerate(prompts):
        when: dict[str, Any] = {}
        if ended_ago_s is not None:
            moment = datetime.now(timezone.utc) - timedelta(seconds=ended_ago_s - n)
            when = {"timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        lines.prompt(text, **when)
        lines.assistant(
            {"type": "text", "text": "Done."}, mid=f"m{n}", usage=_u(3, 2), stop="end_turn", **when
        )
    return read_session(lines.save(), final=True).turns


def test_each_trace_counts_its_own_redactions(repo: Path, tmp_path: Path) -> None:
    secret = next(r for r in load_secrets() if r["secret"] in r["context"])
    turns = _turns(tmp_path / "sess-1.jsonl", [f"Deploy with\n{secret['context']}", "Thanks."])
    preparer = Preparer(config_mod.load(repo, environ={}))
    first = preparer.prepare(turns[0], "dev@example.com")
    second = preparer.prepare(turns[1], "dev@example.com")
    first_again = preparer.prepare(turns[0], "dev@example.com")
    assert int(first.tags[REDACTIONS_TAG]) >= 1
    assert second.tags[REDACTIONS_TAG] == "0"  # nothing carried over from the turn before
    assert first_again.tags[REDACTIONS_TAG] == first.tags[REDACTIONS_TAG]
    stored = json.dumps([n.inputs for n in first.root.walk()])
    assert secret["secret"] not in stored
    assert {"git.repo_name", "tokens.input", "cost.usd"} <= set(first.tags)


def test_git_is_read_once_per_turn_and_once_for_a_backfill(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    snapshot = git_info.snapshot

    def counted(cwd: Path) -> git_info.GitSnapshot | None:
        reads.append(cwd)
        return snapshot(cwd)

    monkeypatch.setattr(git_info, "snapshot", counted)
    preparer = Preparer(config_mod.load(repo, environ={}))
    head = git(repo, "rev-parse", "HEAD")

    # Turns that just ended: each sees the working tree as it is now, read for it alone.
    live = _turns(tmp_path / "live" / "sess-1.jsonl", ["one", "two", "three"], ended_ago_s=30)
    for turn in live:
        tags = preparer.prepare(turn, "dev@example.com").tags
        assert tags["git.commit_id"] == head and tags["git.dirty"] == "false"
        assert tags["git.repo_name"] == "acme/widgets"
    assert reads == [repo] * len(live)

    # Backfilled turns take their commit from the reflog and their branch from the transcript;
    # what they take from the working tree (remote, name) is read once for all of them.
    reads.clear()
    old = _turns(tmp_path / "old" / "sess-1.jsonl", ["four", "five", "six"])
    for turn in old:
        tags = preparer.prepare(turn, "dev@example.com").tags
        assert tags["git.repo_name"] == "acme/widgets" and "git.dirty" not in tags
        assert tags["git.remote_url"] == "https://github.com/acme/widgets.git"
    assert reads == [repo]
