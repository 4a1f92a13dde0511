"""Export the finished turns of a transcript to a destination, each exactly once."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from claudetracing.core import config as config_mod
from claudetracing.core.config import Config
from claudetracing.core.durations import format_duration
from claudetracing.core.identity import current_user
from claudetracing.export import ledger as ledger_mod
from claudetracing.export.accounting import Accounting
from claudetracing.export.backend import MlflowBackend
from claudetracing.export.tally import Tally
from claudetracing.trace.builder import TurnTrace, build_trace, span_count
from claudetracing.transcript.model import Turn
from claudetracing.transcript.turns import read_session

log = logging.getLogger(__name__)
BATCH_TURNS = 50  # turns written in one transaction where the destination batches


class Preparation(Protocol):
    """Makes a turn's trace fit to upload (see `claudetracing.export.prepare.Preparer`)."""

    def prepare(self, turn: Turn, user: str) -> TurnTrace: ...


@dataclass
class _Queued:
    turn: Turn
    trace: TurnTrace
    expected: int  # spans the trace must have when read back
    responses: set[str]  # API responses it is the first to trace


@dataclass
class _Batch:
    """Turns of one transcript prepared and waiting to be written together."""

    ledger: ledger_mod.SessionLedger
    report: Tally
    queued: list[_Queued] = field(default_factory=list)
    offset: int | None = None  # the ledger's offset once the queued turns are stored
    known: dict[str, dict[str, str]] = field(default_factory=dict)  # session -> key -> trace
    accounts: Accounting = field(default_factory=Accounting)  # Claude Code's own figures

    def settled(self, offset: int) -> None:
        """The transcript up to `offset` is dealt with; the ledger learns it once it is true."""
        if self.queued:
            self.offset = offset
        else:
            self.ledger.offset = offset

    def holds(self, turn: Turn, responses: set[str]) -> bool:
        return any(q.turn.key == turn.key or q.responses & responses for q in self.queued)


@dataclass
class Exporter:
    """Exports transcripts to one configured destination."""

    config: Config
    pipeline: Preparation | None = None
    backend: MlflowBackend = field(init=False)
    responses: ledger_mod.ResponseIndex = field(init=False)
    user: str = field(init=False)

    def __post_init__(self) -> None:
        self.backend = MlflowBackend(self.config.tracking_uri, self.config.experiment)
        self.responses = ledger_mod.ResponseIndex(self.config.tracking_uri, self.config.experiment)
        self.user = current_user(self.config.root, self.config.get(config_mod.USER))

    def export_transcript(
        self,
        path: Path,
        *,
        final: bool = False,
        done_hint: str | None = None,
        stopped_at: float | None = None,
        ended_at: float | None = None,
        background_wait: float | None = None,
    ) -> Tally:
        """Export every finished turn not exported yet.

        `final`: the session is over, so an unfinished last turn is exported as it stands
        instead of waiting. `done_hint`: the last answer Claude Code reported at Stop; the last
        turn is finished once it ends with exactly that answer (Claude Code 2.x writes no stop
        reason, so the transcript alone cannot tell a finished answer from one being written).
        `stopped_at`: a Stop arrived then without the answer's text (older versions): a turn
        begun before it that is answered by its shape is finished. `ended_at`: with `final`, when
        the session's end was reported; a turn begun after it belongs to a resumed run appending
        to the same file, and waits for its own Stop instead of being taken as it stands.
        Whether a turn was answered is its shape's business (`Turn.outcome`), not this one's.

        A finished turn whose background subagent still works is held, so that the subagent's
        run lands once, whole, under the call that launched it; later turns go on without it.
        It is released as it stands when the session is over (`final`) or, with
        `background_wait`, once it ended that many seconds ago: the trace then says so.
        """
        report = Tally(sessions=1)
        session_ledger = ledger_mod.open_session(
            self.config.tracking_uri, self.config.experiment, path.stem
        )
        start = session_ledger.offset
        try:
            if start > path.stat().st_size:
                start = 0  # the file was replaced: read it again, the keys keep us exactly once
        except FileNotFoundError:
            start = 0
        session = read_session(path, start_offset=start, final=final)
        report.skipped_lines = session.skipped_lines
        report.repaired_lines = session.repaired_lines
        report.duplicate_lines = session.duplicate_lines
        batch = _Batch(session_ledger, report)
        batch.accounts = Accounting.of_read(path, session, start, self._mark_copies)
        size = BATCH_TURNS if self.backend.batches else 1
        holding = False
        # Where the first turn left for a later run starts (waiting, or held): the ledger's
        # offset never passes it.
        pending_from: int | None = None
        try:
            for turn in session.turns:
                ready = (
                    turn.ended
                    or (final and (ended_at is None or turn.run.start_ns / 1e9 <= ended_at))
                    or (done_hint is not None and _ends_with(turn, done_hint))
                    or (
                        stopped_at is not None
                        and turn.answered
                        and turn.run.start_ns / 1e9 <= stopped_at
                    )
                )
                if not ready:
                    report.pending += 1
                    report.pending_started_ns = turn.run.start_ns
                    if pending_from is None:
                        pending_from = turn.start_offset
                    break
                if turn.background_running:
                    released = _release(turn, final, ended_at, background_wait)
                    if released is None:
                        report.held += 1
                        holding = True  # the ledger's offset stays before it from here on
                        if pending_from is None:
                            pending_from = turn.start_offset
                        continue
                    for tool in turn.background_running:
                        assert tool.background is not None
                        tool.background.released = released
                self._export_turn(turn, batch)
                if not holding:
                    batch.settled(turn.end_offset)
                if len(batch.queued) >= size:
                    self._write(batch)
            self._write(batch)
            batch.accounts.finish(self.backend, session_ledger, pending_from)
        finally:
            session_ledger.save()
        return report

    def _export_turn(self, turn: Turn, batch: _Batch) -> None:
        """Decide the turn's fate: skipped, found already stored, or prepared and queued."""
        session_ledger, report = batch.ledger, batch.report
        if session_ledger.has(turn.key):
            report.already += 1
            return
        calls = turn.run.walk_llm_calls()
        if batch.holds(turn, {c.response_key for c in calls if c.response_key}):
            # It shares responses with a queued turn: whether they are copies is only known
            # once that one is stored.
            self._write(batch)
            if session_ledger.has(turn.key):
                report.already += 1
                return
        responses, copied_from = self._mark_copies(turn)
        api_errors = [n for n in turn.run.notices if n.api_error]
        if not calls and not api_errors:
            report.empty += 1
            return
        if calls and all(call.copied for call in calls):
            # Nothing in it happened now: a resumed session's copy of turns traced before.
            session_ledger.record(turn.key, next(iter(copied_from.values())))
            report.copied += 1
            return
        expected = span_count(turn.run)
        existing = self._stored(turn, batch)
        if existing:
            if self.backend.span_count(existing) == expected:
                session_ledger.record(turn.key, existing)
                self.responses.add(responses, turn.key, existing)
                report.already += 1
                return
            # A trace cut short (exporter killed mid-upload): replace it, keep one per turn.
            log.warning("replacing incomplete trace %s of turn %s", existing, turn.key)
            self.backend.delete([existing])
            report.replaced += 1
        # Saved with the batch, before any of it is written.
        if session_ledger.begin(turn.key, save=False):
            orphans = self.backend.find_orphans(turn.key, turn.run.start_ns, turn.run.end_ns)
            if orphans:
                log.warning("removing %d unfinished upload(s) of turn %s", len(orphans), turn.key)
                self.backend.delete(orphans)
                report.replaced += len(orphans)
        trace = (
            self.pipeline.prepare(turn, self.user)
            if self.pipeline is not None
            else build_trace(turn, self.user)
        )
        trace.tags.update(batch.accounts.tags_for(turn))
        batch.queued.append(_Queued(turn, trace, expected, responses - copied_from.keys()))

    def _stored(self, turn: Turn, batch: _Batch) -> str | None:
        """The trace already stored for this turn, if any (the exactly-once check)."""
        if not self.backend.batches:
            return self.backend.find_turn(turn.key)
        # One search per session instead of one per turn. Nothing else writes meanwhile: every
        # exporter of this machine, `traces import` too, holds the exporter lock.
        known = batch.known.get(turn.session_id)
        if known is None:
            known = batch.known[turn.session_id] = self.backend.session_turns(turn.session_id)
        return known.get(turn.key)

    def _write(self, batch: _Batch) -> None:
        """Store the queued turns, read them back, and only then record them."""
        queued, session_ledger = batch.queued, batch.ledger
        if not queued:
            return
        session_ledger.save()  # the uploads about to begin are noted first (`begin`)
        ids = self.backend.write_many([q.trace for q in queued])
        self.backend.confirm_many(
            {trace_id: (q.turn.key, q.expected) for trace_id, q in zip(ids, queued, strict=True)}
        )
        self.responses.add_many(
            [(q.responses, q.turn.key, trace_id) for trace_id, q in zip(ids, queued, strict=True)]
        )
        for trace_id, q in zip(ids, queued, strict=True):
            session_ledger.record(q.turn.key, trace_id)
            batch.known.get(q.turn.session_id, {})[q.turn.key] = trace_id
            batch.report.exported.append(trace_id)
            log.info("exported turn %s as %s", q.turn.key, trace_id)
        batch.queued = []
        if batch.offset is not None:
            session_ledger.offset, batch.offset = batch.offset, None
        session_ledger.save()

    def _mark_copies(self, turn: Turn) -> tuple[set[str], dict[str, str]]:
        """Mark the turn's responses that another turn traced before. Returns all its responses
        and those copies (response -> trace id). A side run (compaction, warm-up) made only of
        copies was traced with an earlier turn: it is dropped here."""
        calls = turn.run.walk_llm_calls()
        responses = {c.response_key for c in calls if c.response_key}
        copied_from = self.responses.traced_elsewhere(responses, turn.key)
        for call in calls:
            call.copied = call.response_key in copied_from
        turn.run.side_runs = [
            r for r in turn.run.side_runs if not all(x.copied for x in r.walk_llm_calls())
        ]
        return responses, copied_from


SESSION_ENDED = "the session ended while it ran"


def _release(
    turn: Turn, final: bool, ended_at: float | None, background_wait: float | None
) -> str | None:
    """Why a turn held for its background subagents goes now as it stands, or None: it waits."""
    if final and (ended_at is None or turn.run.start_ns / 1e9 <= ended_at):
        return SESSION_ENDED
    if background_wait is not None and time.time() - turn.run.end_ns / 1e9 >= background_wait:
        return f"still running {format_duration(background_wait)} after its turn ended"
    return None


def _ends_with(turn: Turn, answer: str) -> bool:
    finished = all(tool.finished for tool in turn.run.tool_calls)
    return finished and turn.run.final_text.strip() == answer.strip() != ""


def exporter_for(config: Config) -> Exporter:
    """The exporter every command and the worker use: traces prepared as the repository's
    settings say (redaction, content mode, enrichments)."""
    from claudetracing.export.prepare import Preparer

    return Exporter(config, pipeline=Preparer(config))
