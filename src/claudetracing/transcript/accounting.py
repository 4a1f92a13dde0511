"""Claude Code's own accounting: `cost-state` records, and the session cut into the intervals
they close.

Claude Code 2.1.3xx writes a `cost-state` record into the main transcript: its cumulative cost
and per-model token counts for the session (a resumed run's include the runs before it). It has
no timestamp and no uuid. It is written after the last turn of a `claude -p` process, after each
turn of an interactive one; so the difference between two consecutive records is what Claude
Code billed for the turns whose prompts lie between them (one or more): an *interval*. It counts
every API call, subagents' and calls that leave no assistant record included.

This module only reads: it knows nothing of prices or traces (see `trace/reconcile.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claudetracing.core.regular_files import open_regular
from claudetracing.transcript.model import Turn
from claudetracing.transcript.records import Record, load_line, parse_timestamp_ns

COST_STATE = "cost-state"
_MARKER = b'"cost-state"'
_CHUNK = 1 << 16
_TIMESTAMP_LINES = 200  # lines looked at, backwards, for the time a cost-state was written


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one model, as Claude Code counts them (`modelUsage[model]`)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0
    web_search: int = 0
    cost_usd: float = 0.0

    def minus(self, other: Usage) -> Usage:
        return Usage(
            self.input - other.input,
            self.output - other.output,
            self.cache_read - other.cache_read,
            self.cache_creation - other.cache_creation,
            self.cache_creation_5m - other.cache_creation_5m,
            self.cache_creation_1h - other.cache_creation_1h,
            self.web_search - other.web_search,
            self.cost_usd - other.cost_usd,
        )

    def plus(self, other: Usage) -> Usage:
        return self.minus(other.negated())

    def negated(self) -> Usage:
        return Usage().minus(self)

    @property
    def empty(self) -> bool:
        tokens = (self.input, self.output, self.cache_read, self.cache_creation, self.web_search)
        return not any(tokens) and abs(self.cost_usd) < 5e-7


@dataclass(frozen=True)
class CostState:
    """One `cost-state` record, where it is in the file and about when it was written."""

    offset: int  # byte offset of its line
    end_offset: int  # first byte after its line
    total_cost_usd: float
    models: dict[str, Usage]
    session_id: str | None = None
    # The time of the last timestamped main-file record before it: the record has none.
    after_ns: int | None = None


@dataclass
class Interval:
    """The turns between two consecutive cost-state records, and what Claude Code billed for
    them. `previous` is None for a file's first record (billed from zero)."""

    state: CostState
    previous: CostState | None
    turns: list[Turn] = field(default_factory=list)

    @property
    def carrier(self) -> Turn | None:
        """The turn whose trace carries the interval's figure: its last one."""
        return self.turns[-1] if self.turns else None

    @property
    def cost_usd(self) -> float:
        before = self.previous.total_cost_usd if self.previous else 0.0
        return self.state.total_cost_usd - before

    @property
    def models(self) -> dict[str, Usage]:
        """Claude Code's delta per model (models it did not use in the interval left out)."""
        before = self.previous.models if self.previous else {}
        delta = {m: u.minus(before.get(m, Usage())) for m, u in self.state.models.items()}
        return {m: u for m, u in delta.items() if not u.empty}

    @property
    def total(self) -> Usage:
        total = Usage()
        for usage in self.models.values():
            total = total.plus(usage)
        return Usage(
            total.input,
            total.output,
            total.cache_read,
            total.cache_creation,
            total.cache_creation_5m,
            total.cache_creation_1h,
            total.web_search,
            self.cost_usd,
        )

    @property
    def start_ns(self) -> int | None:
        return self.previous.after_ns if self.previous else None

    @property
    def end_ns(self) -> int | None:
        return self.state.after_ns


def _n(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _f(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _usage(body: Any) -> Usage | None:
    if not isinstance(body, dict):
        return None
    return Usage(
        input=_n(body.get("inputTokens")),
        output=_n(body.get("outputTokens")),
        cache_read=_n(body.get("cacheReadInputTokens")),
        cache_creation=_n(body.get("cacheCreationInputTokens")),
        cache_creation_5m=_n(body.get("cacheCreationEphemeral5mInputTokens")),
        cache_creation_1h=_n(body.get("cacheCreationEphemeral1hInputTokens")),
        web_search=_n(body.get("webSearchRequests")),
        cost_usd=_f(body.get("costUSD")),
    )


def parse(
    data: dict[str, Any], offset: int, end_offset: int, after_ns: int | None
) -> CostState | None:
    """A cost-state record as read, or None when it is not one or lacks its total."""
    total = data.get("totalCostUSD")
    if data.get("type") != COST_STATE or not isinstance(total, (int, float)):
        return None
    raw = data.get("modelUsage")
    models: dict[str, Usage] = {}
    if isinstance(raw, dict):
        for name, body in raw.items():
            usage = _usage(body)
            if isinstance(name, str) and usage is not None:
                models[name] = usage
    session = data.get("sessionId")
    return CostState(
        offset=offset,
        end_offset=end_offset,
        total_cost_usd=float(total),
        models=models,
        session_id=session if isinstance(session, str) else None,
        after_ns=after_ns,
    )


def states_in(records: list[Record], end_offset: int) -> list[CostState]:
    """The cost-state records among a read's records (main file, in order)."""
    found = []
    last_ns: int | None = None
    for index, record in enumerate(records):
        if record.data.get("isSidechain"):
            continue
        if record.type == COST_STATE:
            after = records[index + 1].offset if index + 1 < len(records) else end_offset
            state = parse(record.data, record.offset, after, last_ns)
            if state is not None:
                found.append(state)
            continue
        ts = record.timestamp_ns
        if ts is not None:
            last_ns = ts if last_ns is None else max(last_ns, ts)
    return found


def _lines_backwards(path: Path, before: int) -> Iterator[tuple[int, bytes]]:
    """The file's complete lines that end before `before` (a line start), last first, each
    with its offset. Reads 64 KiB at a time from the end: cheap however big the file is."""
    try:
        handle = open_regular(path)
    except OSError:  # gone, or no regular file (a FIFO would block)
        return
    with handle:
        pos = before
        rest = b""  # the start of a line whose head lies in an earlier chunk
        while pos > 0:
            size = min(_CHUNK, pos)
            pos -= size
            handle.seek(pos)
            data = handle.read(size) + rest
            parts = data.split(b"\n")
            starts = [pos]
            for part in parts[:-1]:
                starts.append(starts[-1] + len(part) + 1)
            first = 1 if pos > 0 else 0
            for index in range(len(parts) - 1, first - 1, -1):
                if parts[index].strip():
                    yield starts[index], parts[index]
            rest = parts[0] if pos > 0 else b""


def previous_state(path: Path, before: int) -> CostState | None:
    """The last cost-state record that starts before byte `before`, or None. Scans backwards
    from `before`, so a read that starts mid-file still knows what was billed before it."""
    if before <= 0:
        return None
    lines = _lines_backwards(path, before)
    for offset, raw in lines:
        if _MARKER not in raw:
            continue
        data = _json(raw)
        if data is None or data.get("type") != COST_STATE:
            continue
        after_ns = None
        for _, (_, earlier) in zip(range(_TIMESTAMP_LINES), lines, strict=False):
            if b'"timestamp"' not in earlier:
                continue
            body = _json(earlier)
            if body is not None and not body.get("isSidechain"):
                after_ns = parse_timestamp_ns(body.get("timestamp"))
                if after_ns is not None:
                    break
        return parse(data, offset, offset + len(raw) + 1, after_ns)
    return None


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        data, _ = load_line(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def intervals(
    turns: list[Turn], states: list[CostState], previous: CostState | None
) -> list[Interval]:
    """The closed intervals: each state with the turns whose prompts lie between it and the
    state before it. Turns after the last state are in no interval yet (not billed yet)."""
    found = []
    before = previous
    for state in states:
        low = before.offset if before is not None else -1
        members = [t for t in turns if low < t.start_offset < state.offset]
        found.append(Interval(state=state, previous=before, turns=members))
        before = state
    return found
