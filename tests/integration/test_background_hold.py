"""A turn that launched a background subagent waits for it, bounded, and lands once, whole.

Transcripts in Claude Code 2.1.3xx's shape (FACTS.md): the `Agent` result says `isAsync`,
`async_launched` and the agent id; the subagent writes its own file and a meta file whose
`finished` turns true at its end; a `<task-notification>` user line starts a new turn then.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claudetracing.capture import spool
from claudetracing.core import config as config_mod
from claudetracing.export import worker
from claudetracing.export.exporter import SESSION_ENDED, Exporter
from claudetracing.export.prepare import Preparer
from tests import realshape as rs
from tests.tracing import traces

AGENT_ID = "a1f4fcba5ec4f6f95"
TOOL_ID = "toolu_launch"


def _exporter(repo: Path) -> Exporter:
    cfg = config_mod.load(repo, environ={})
    return Exporter(cfg, pipeline=Preparer(cfg))


def _traces(exporter: Exporter) -> list[Any]:
    backend = exporter.backend
    found = backend.client.search_traces(locations=[backend.connect()], max_results=500)
    return sorted(found, key=lambda t: t.info.request_time)


def _root(trace: Any) -> Any:
    return next(s for s in trace.data.spans if s.parent_id is None)


class Session:
    """A 2.1.3xx session whose first turn launches a background subagent."""

    def __init__(self, folder: Path, *, started: datetime | None = None) -> None:
        self.main = rs.session(folder, version="2.1.328")
        # a live session: its turns ended moments ago, well within the wait for background work
        self.main.clock = started or datetime.now(timezone.utc) - timedelta(minutes=2)
        self.main.prompt("Use a subagent to list the files.")
        self.main.response(
            rs.text("Delegating."),
            rs.tool_use(TOOL_ID, "Agent", description="List files", prompt="SLOW: run ls"),
            use=rs.usage(101, 12),
        )
        self.main.tool_result(
            TOOL_ID,
            [rs.text(f"Async agent launched successfully.\nagentId: {AGENT_ID}")],
            meta={
                "isAsync": True,
                "status": "async_launched",
                "agentId": AGENT_ID,
                "description": "List files",
                "prompt": "SLOW: run ls",
            },
        )
        self.main.response(rs.text("Started it."), use=rs.usage(201, 22))
        self.sub = rs.subagent(self.main, AGENT_ID)
        self.sub.clock = self.main.clock - timedelta(seconds=1)
        self.sub.prompt("SLOW: run ls")
        self.sub.response(rs.tool_use("toolu_ls", "Bash", command="ls"), use=rs.usage(1001, 102))
        self.meta_path = self.sub.path.with_name(f"agent-{AGENT_ID}.meta.json")
        self.write_meta(finished=False)

    def write_meta(self, *, finished: bool) -> None:
        meta = {
            "agentType": "general-purpose",
            "description": "List files",
            "toolUseId": TOOL_ID,
            "requestShape": "background",
        }
        if finished:
            meta["finished"] = True
        self.meta_path.parent.mkdir(parents=True, exist_ok=True)
        self.meta_path.write_text(json.dumps(meta))

    def save(self) -> Path:
        self.sub.save()
        return self.main.save()

    def subagent_finishes(self, *, notify: bool = True, meta: bool = True) -> None:
        self.sub.clock = max(self.sub.clock, self.main.clock) + timedelta(seconds=20)
        self.sub.tool_result("toolu_ls", "README.md")
        self.sub.response(rs.text("Found README.md."), use=rs.usage(1101, 112))
        if meta:
            self.write_meta(finished=True)
        if notify:
            self.main.clock = self.sub.clock + timedelta(seconds=1)
            self.main.prompt(
                f"<task-notification>\n<task-id>{AGENT_ID}</task-id>\n"
                f"<tool-use-id>{TOOL_ID}</tool-use-id>\n<status>completed</status>\n"
                '<summary>Agent "List files" finished</summary>\n'
                "<result>Found README.md.</result>\n</task-notification>",
                origin={"kind": "task-notification"},
            )
            self.main.response(rs.text("The subagent found README.md."), use=rs.usage(301, 32))


def _subagent_calls(trace: Any) -> list[Any]:
    spans = {s.span_id: s for s in trace.data.spans}
    agent = next(s for s in spans.values() if s.name.startswith("subagent:"))
    assert spans[agent.parent_id].name == "Agent"
    return [s for s in spans.values() if s.parent_id == agent.span_id and s.span_type == "LLM"]


def test_the_launching_turn_waits_while_later_turns_go_on(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    session = Session(tmp_path / "p")
    session.main.prompt("Meanwhile: say hi.")
    session.main.response(rs.text("hi"), use=rs.usage(401, 42))
    path = session.save()
    exporter = _exporter(repo)

    report = exporter.export_transcript(path, done_hint="hi")
    # the later turn lands, the launching one waits for its subagent
    assert (report.held, len(report.exported)) == (1, 1)
    (later,) = _traces(exporter)
    assert _root(later).inputs == {"prompt": "Meanwhile: say hi."}

    session.subagent_finishes()
    path = session.save()
    report = exporter.export_transcript(path, done_hint="The subagent found README.md.")
    assert (report.held, len(report.exported), report.already) == (0, 2, 1)
    found = _traces(exporter)
    assert len(found) == 3
    launching = next(t for t in found if "Use a subagent" in str(_root(t).inputs))
    # the whole run, both calls, under the Agent call: tokens counted once
    assert len(_subagent_calls(launching)) == 2
    assert launching.info.token_usage["input_tokens"] == 101 + 201 + 1001 + 1101
    assert launching.info.tags["claude_code.background.launched"] == AGENT_ID
    notified = next(t for t in found if "claude_code.background.reports" in t.info.tags)
    assert notified.info.tags["claude_code.background.reports"] == AGENT_ID
    assert _root(notified).inputs == {"prompt": '[background task] Agent "List files" finished'}
    # read again from the start: nothing more, nothing twice
    again = exporter.export_transcript(path, final=True)
    assert (len(again.exported), again.held) == (0, 0)
    assert len(_traces(exporter)) == 3


@pytest.mark.parametrize("signal", ["meta", "notification"])
def test_either_signal_of_the_end_releases_the_turn(
    repo: Path, local_store: Path, tmp_path: Path, signal: str
) -> None:
    session = Session(tmp_path / "p")
    path = session.save()
    exporter = _exporter(repo)
    assert exporter.export_transcript(path, done_hint="Started it.").held == 1
    session.subagent_finishes(notify=signal == "notification", meta=signal == "meta")
    path = session.save()
    report = exporter.export_transcript(path, done_hint="Started it.")
    assert report.held == 0 and len(report.exported) >= 1
    launching = next(t for t in _traces(exporter) if "Use a subagent" in str(_root(t).inputs))
    assert len(_subagent_calls(launching)) == 2


def test_a_session_ended_while_the_subagent_ran_says_so(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    session = Session(tmp_path / "p")
    path = session.save()
    exporter = _exporter(repo)
    report = exporter.export_transcript(path, final=True)
    assert (report.held, len(report.exported)) == (0, 1)
    (trace,) = _traces(exporter)
    assert trace.info.tags["claude_code.background.unfinished"] == "1"
    agent = next(s for s in trace.data.spans if s.name == "Agent")
    assert agent.attributes["subagent.background.unfinished"] == SESSION_ENDED
    assert len(_subagent_calls(trace)) == 1  # what it had done by then, once


def test_the_wait_is_bounded(repo: Path, local_store: Path, tmp_path: Path) -> None:
    session = Session(tmp_path / "p", started=datetime.now(timezone.utc) - timedelta(hours=3))
    path = session.save()
    exporter = _exporter(repo)
    assert exporter.export_transcript(path, done_hint="Started it.", background_wait=4 * 3600).held
    report = exporter.export_transcript(path, done_hint="Started it.", background_wait=3600)
    assert (report.held, len(report.exported)) == (0, 1)
    agent = next(s for s in _traces(exporter)[0].data.spans if s.name == "Agent")
    assert agent.attributes["subagent.background.unfinished"] == (
        "still running 1h after its turn ended"
    )


def test_the_hook_event_stays_in_the_spool_marked_held_until_the_turn_lands(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    session = Session(tmp_path / "p")
    path = session.save()
    stop = {
        "session_id": session.main.session_id,
        "transcript_path": str(path),
        "cwd": str(repo),
        "hook_event_name": "Stop",
        "last_assistant_message": "Started it.",
    }
    spool.append(stop, {"CLAUDE_PROJECT_DIR": str(repo)})
    report = worker.drain()
    assert report.held == 1 and not report.troubled
    (held,) = [spool.load(p) for p in spool.entries()]
    assert held.held and held.last_error is None and held.attempts == 0
    assert held.next_attempt_at > time.time()
    assert "wait for a background subagent" in held.held
    # status tells a held turn from a failing one
    shown = traces("status", "--offline", cwd=repo)  # not set up here: only the spool matters
    assert "1 of this repository's pending wait for a background subagent" in shown.stdout

    session.subagent_finishes()
    path = session.save()
    spool.append(
        {**stop, "last_assistant_message": "The subagent found README.md."},
        {"CLAUDE_PROJECT_DIR": str(repo)},
    )
    report = worker.drain()
    assert (len(report.exported), report.held) == (2, 0)
    assert spool.count(spool.PENDING) == 0  # the held event went with the turn it kept
