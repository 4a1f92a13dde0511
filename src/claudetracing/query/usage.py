"""Where the tokens and the money went: the filtered traces' usage, grouped."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from claudetracing.core.errors import TracesError
from claudetracing.export import reads
from claudetracing.query import billing
from claudetracing.query.model import UsageRow
from claudetracing.trace.stored import Filters, Tokens, Trace

if TYPE_CHECKING:
    from claudetracing.export.backend import MlflowBackend

GROUPS = ("day", "model", "user", "repo", "session")


@dataclass
class _Sum:
    turns: int = 0
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0
    billed_cost_usd: float = 0.0
    billed_turns: int = 0

    def add(self, tokens: Tokens) -> None:
        self.input += tokens.input
        self.output += tokens.output
        self.cache_read += tokens.cache_read
        self.cache_creation += tokens.cache_creation

    def row(self, key: str) -> UsageRow:
        # The running sum has the row's fields, bar its key.
        return UsageRow(key=key, **asdict(self))


def grouped(backend: MlflowBackend, filters: Filters, by: str) -> list[UsageRow]:
    """Tokens and cost over the filtered traces, grouped. `model` reads the LLM spans."""
    if by not in GROUPS:
        raise TracesError(f"cannot group by {by!r}", f"use --by {'|'.join(GROUPS)}")
    sums: dict[str, _Sum] = defaultdict(_Sum)
    for trace in reads.traces(backend, filters, limit=None, include_spans=by == "model"):
        if by == "model":
            _add_models(sums, trace)
            continue
        row = trace.row
        key = {
            "day": row.time[:10],
            "user": row.user or "(unknown)",
            "repo": row.tags.get("git.repo_name") or "(no repository)",
            "session": row.session or "(none)",
        }[by]
        total = sums[key]
        total.turns += 1
        total.add(row.tokens)
        if row.cost_usd is None or row.tags.get("cost.unpriced_calls"):
            total.unpriced += 1  # the turn's cost is missing, or covers only part of it
        if row.cost_usd is not None:
            total.cost_usd += row.cost_usd
        billed = billing.of_row(row)
        if billed.covered:
            total.billed_turns += 1
            total.billed_cost_usd += billed.cost_usd or 0.0
        else:
            total.billed_cost_usd += row.cost_usd or 0.0
    rows = [total.row(key) for key, total in sums.items()]
    return sorted(rows, key=lambda r: r.key if by == "day" else -r.cost_usd)


def _add_models(sums: dict[str, _Sum], trace: Trace) -> None:
    models_in_trace = set()
    billed = billing.of_row(trace.row)
    counted: set[str] = set()
    for model, figure in billed.models.items():
        sums[model].billed_cost_usd += figure
    for span in trace.spans:
        if span.span_type != "LLM" or span.copied:
            continue  # a resumed session's copy: counted in the trace that first had it
        model = span.model or "unknown"  # a model call is named by what it did, not its model
        total = sums[model]
        if model not in models_in_trace:
            total.turns += 1
            models_in_trace.add(model)
        if span.tokens is not None:
            total.add(span.tokens)
        if billed.covered:
            total.billed_turns += model not in counted
            counted.add(model)
        elif span.cost_usd is not None:
            total.billed_cost_usd += span.cost_usd
        if span.cost_usd is not None:
            total.cost_usd += span.cost_usd
        else:
            total.unpriced += 1
