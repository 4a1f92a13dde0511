"""Export the finished turns of a transcript to a destination, each exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from claudetracing.core import config as config_mod
from claudetracing.core.config import Config
from claudetracing.core.identity import current_user
from claudetracing.export import ledger as ledger_mod
from claudetracing.export.backend import MlflowBackend
from claudetracing.trace.builder import TurnTrace, build_trace, span_count
from claudetracing.transcript.model import Turn
from claudetracing.transcript.turns import read_session

log = logging.getLogger(__name__)


@dataclass
class ExportReport:
    transcript: Path
    exported: list[str] = field(default_factory=list)  # trace ids written now
    already: int = 0  # turns found in the ledger or the backend
    pending: int = 0  # turns not finished yet (left for a later run)
    pending_started_ns: int | None = None  # when the first unfinished turn began
    replaced: int = 0  # incomplete traces found and written again
    empty: int = 0  # turns with no model response (local commands), nothing to trace
    copied: int = 0  # turns made only of responses traced before (a resumed session's copy)
    skipped_lines: int = 0


class Pipeline(Protocol):
    """What a trace goes through before upload (see `claudetracing.export.prepare`)."""

    def scrub(self, value: Any) -> Any: ...

    def finish(self, trace: TurnTrace, turn: Turn) -> TurnTrace: ...


@dataclass
class Exporter:
    """Exports transcripts to one configured destination."""

    config: Config
    pipeline: Pipeline | None = None
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
    ) -> ExportReport:
        """Export every finished turn not exported yet.

        `final`: the session is over, so an unfinished last turn is exported as it stands
        instead of waiting. `done_hint`: the last answer Claude Code reported at Stop; the last
        turn is finished once it ends with exactly that answer (Claude Code 2.x writes no stop
        reason, so the transcript alone cannot tell a finished answer from one being written).
        `stopped_at`: a Stop arrived then without the answer's text (older versions): a turn
        begun before it that is answered by its shape is finished.
        Whether a turn was answered is its shape's business (`Turn.outcome`), not this one's.
        """
        report = ExportReport(transcript=path)
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
        report.skipped_lines = len(session.read.skipped) + session.subagent_lines_skipped
        try:
            for turn in session.turns:
                ready = (
                    turn.ended
                    or final
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
                    break
                self._export_turn(turn, session_ledger, report)
                session_ledger.offset = turn.end_offset
        finally:
            session_ledger.save()
        return report

    def _export_turn(
        self, turn: Turn, session_ledger: ledger_mod.SessionLedger, report: ExportReport
    ) -> None:
        if session_ledger.has(turn.key):
            report.already += 1
            return
        responses, copied_from = self._mark_copies(turn)
        calls = turn.run.walk_llm_calls()
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
        existing = self.backend.find_turn(turn.key)
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
        if session_ledger.begin(turn.key):
            orphans = self.backend.find_orphans(turn.key, turn.run.start_ns, turn.run.end_ns)
            if orphans:
                log.warning("removing %d unfinished upload(s) of turn %s", len(orphans), turn.key)
                self.backend.delete(orphans)
                report.replaced += len(orphans)
        # Built only now, when it will be written: redaction counts belong to this trace alone.
        scrub = self.pipeline.scrub if self.pipeline is not None else None
        trace = build_trace(turn, self.user, scrub=scrub)
        if self.pipeline is not None:
            trace = self.pipeline.finish(trace, turn)
        trace_id = self.backend.write(trace)
        self.backend.confirm(trace_id, expected_spans=expected)
        self.responses.add(responses - copied_from.keys(), turn.key, trace_id)
        session_ledger.record(turn.key, trace_id)
        session_ledger.save()
        report.exported.append(trace_id)
        log.info("exported turn %s as %s", turn.key, trace_id)

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


def _ends_with(turn: Turn, answer: str) -> bool:
    finished = all(tool.finished for tool in turn.run.tool_calls)
    return finished and turn.run.final_text.strip() == answer.strip() != ""
