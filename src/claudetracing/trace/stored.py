"""Traces as a destination holds them, read back: rows, span trees, experiments, and filters.

Backend-neutral like the span tree we write: `export/reads.py` fills it from MLflow, `query/`
searches, sums and renders it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TypeAlias

from claudetracing.core.errors import TracesError

# Span inputs, outputs and attributes come back as decoded JSON.
JSON: TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"

STATUSES = ("OK", "ERROR", "IN_PROGRESS")


def utc_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Filters:
    """Which traces to read; the destination applies all of them."""

    since_ms: int | None = None
    until_ms: int | None = None
    session: str | None = None
    user: str | None = None
    repo: str | None = None
    branch: str | None = None
    status: str | None = None  # any case: `ok` means OK

    def __post_init__(self) -> None:
        if self.status and self.status.upper() not in STATUSES:
            raise TracesError(
                f"unknown status {self.status!r}", f"use one of {', '.join(STATUSES)}"
            )


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0
    # Cache reads and writes are counted apart, not in the total.
    total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", self.input + self.output)


@dataclass(frozen=True)
class TraceRow:
    """One trace without its spans: what `traces search` lists."""

    trace_id: str
    start_ms: int
    duration_ms: int | None
    status: str
    session: str | None
    user: str | None
    prompt: str
    tokens: Tokens
    cost_usd: float | None
    tags: Mapping[str, str] = field(default_factory=dict)  # ours, sorted by name

    @property
    def time(self) -> str:
        return utc_iso(self.start_ms)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON shape of one trace in `traces search -f json`."""
        return {
            "trace_id": self.trace_id,
            "session": self.session,
            "user": self.user,
            "time": self.time,
            "duration_ms": self.duration_ms,
            "status": self.status,
            "prompt": self.prompt,
            "tokens": asdict(self.tokens),
            "cost_usd": self.cost_usd,
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class Span:
    """One span as read back, with the LLM fields queries use already typed."""

    span_id: str
    parent_id: str | None
    name: str
    span_type: str | None  # LLM, TOOL, AGENT, …; None on spans without one
    start_ns: int
    end_ns: int | None  # None while the span is still open
    status: str  # OK, ERROR or UNSET
    status_message: str
    inputs: JSON
    outputs: JSON
    attributes: Mapping[str, JSON]
    model: str | None = None
    tokens: Tokens | None = None
    cost_usd: float | None = None
    copied: bool = False  # a resumed session's copy of a response traced before

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_ns is None else (self.end_ns - self.start_ns) // 1_000_000


@dataclass(frozen=True)
class Trace:
    """A trace with its span tree (no spans when it was read without them)."""

    row: TraceRow
    spans: tuple[Span, ...] = ()

    @cached_property
    def _by_parent(self) -> dict[str | None, list[Span]]:
        found: dict[str | None, list[Span]] = {}
        for span in self.spans:
            found.setdefault(span.parent_id, []).append(span)
        return found

    @property
    def roots(self) -> list[Span]:
        """Spans without a parent, in the order the destination returned them."""
        return self._by_parent.get(None, [])

    def children(self, span: Span) -> list[Span]:
        """The span's children, earliest first."""
        return sorted(self._by_parent.get(span.span_id, []), key=lambda s: s.start_ns)


@dataclass(frozen=True)
class Experiment:
    name: str
    experiment_id: str
