"""Claude Code's own figures onto the traces of one export run (see trace/reconcile.py).

A `cost-state` record is written after the turns it closes, often after they were exported
(a `claude -p` process writes it just before SessionEnd, after every Stop). So each export run
looks at the records it reads: a turn about to be written gets its tags in the trace; a turn
stored by an earlier run gets them set on its stored trace."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from claudetracing.trace import reconcile
from claudetracing.transcript import accounting
from claudetracing.transcript.model import SessionRead, Turn
from claudetracing.transcript.turns import read_session

if TYPE_CHECKING:
    from claudetracing.export.backend import MlflowBackend
    from claudetracing.export.ledger import SessionLedger

log = logging.getLogger(__name__)


@dataclass
class Accounting:
    """The intervals closed by the cost-state records of one read, and their tags."""

    intervals: list[accounting.Interval] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)  # every turn at hand, in file order
    mark: Callable[[Turn], object] | None = None  # marks a turn's copied responses
    _tags: dict[str, dict[str, str]] = field(default_factory=dict)
    _done: set[int] = field(default_factory=set)  # intervals whose tags are computed
    applied: set[str] = field(default_factory=set)  # turn keys whose trace got them

    @classmethod
    def of_read(
        cls, path: Path, session: SessionRead, start: int, mark: Callable[[Turn], object]
    ) -> Accounting:
        main = [r for r in session.read.records if not r.data.get("isSidechain")]
        states = accounting.states_in(main, session.read.end_offset)
        if not states:
            return cls()  # older versions write none: today's computation, no new tags
        previous = accounting.previous_state(path, start)
        earlier: list[Turn] = []
        if start > 0:
            # The first interval began before this read: its turns are read again (once).
            since = previous.end_offset if previous is not None else 0
            again = read_session(path, start_offset=since, final=True).turns
            earlier = [t for t in again if t.start_offset < start]
        turns = earlier + session.turns
        for turn in earlier:
            mark(turn)
        return cls(accounting.intervals(turns, states, previous), turns, mark)

    def _interval_of(self, turn: Turn) -> int | None:
        for index, interval in enumerate(self.intervals):
            if any(t.key == turn.key for t in interval.turns):
                return index
        return None

    def _compute(self, index: int) -> None:
        if index in self._done:
            return
        self._done.add(index)
        interval = self.intervals[index]
        if self.mark is not None:
            for turn in interval.turns:
                self.mark(turn)
        others = [t for t in self.turns if t not in interval.turns]
        result = reconcile.reconcile(interval, others)
        self._tags.update(reconcile.tags(result))

    def tags_for(self, turn: Turn) -> dict[str, str]:
        """The tags of a turn about to be written (none when its interval is not closed)."""
        index = self._interval_of(turn)
        if index is None:
            return {}
        interval = self.intervals[index]
        holder = reconcile.carrier(interval)
        if holder is not None and holder.key != turn.key:
            self.applied.add(turn.key)
            return {reconcile.IN_TURN: holder.key}
        self._compute(index)
        found = self._tags.get(turn.key, {})
        if found:
            self.applied.add(turn.key)
        return found

    def finish(
        self, backend: MlflowBackend, ledger: SessionLedger, pending_from: int | None
    ) -> None:
        """Set the tags on stored traces that were written before their interval closed; then
        move the ledger past cost-state records nothing before them waits for, so they are not
        read again. `pending_from`: where the first turn left waiting starts, if any."""
        for index, interval in enumerate(self.intervals):
            self._compute(index)
            for turn in interval.turns:
                if turn.key in self.applied or turn.key not in self._tags:
                    continue
                trace_id = ledger.exported.get(turn.key) or backend.find_turn(turn.key)
                if trace_id is None:
                    continue  # not traced (nothing in it, or waiting): nothing to tag
                backend.set_tags(trace_id, self._tags[turn.key])
                self.applied.add(turn.key)
            state = interval.state
            waiting = pending_from is not None and pending_from < state.offset
            if ledger.offset <= state.offset and not waiting:
                ledger.offset = state.end_offset
