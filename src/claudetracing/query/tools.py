"""Tool calls across traces: how many failed in each trace, and each tool's use."""

from __future__ import annotations

from claudetracing.query.model import ToolRow
from claudetracing.trace.builder import TOOL_ERRORS_TAG
from claudetracing.trace.stored import Span, Trace


def _failed(span: Span) -> bool:
    return span.span_type == "TOOL" and span.status == "ERROR"


def tool_errors(trace: Trace) -> int | None:
    """Failed tool calls in the trace: its `tools.errors` tag, or, for a trace exported before
    that tag existed, its ERROR tool spans when it was read with them; None when unknown."""
    tag = trace.row.tags.get(TOOL_ERRORS_TAG)
    if tag is not None:
        try:
            return max(0, int(tag))
        except ValueError:
            pass
    if trace.spans:
        return sum(1 for span in trace.spans if _failed(span))
    return None


def usage(traces: list[Trace]) -> list[ToolRow]:
    """Each tool's calls, failures, traces and time over the traces (read with their spans),
    most called first."""
    rows: dict[str, ToolRow] = {}
    for trace in traces:
        seen: set[str] = set()
        for span in trace.spans:
            if span.span_type != "TOOL":
                continue
            row = rows.get(span.name) or ToolRow(span.name)
            rows[span.name] = ToolRow(
                tool=span.name,
                calls=row.calls + 1,
                errors=row.errors + _failed(span),
                traces=row.traces + (span.name not in seen),
                total_ms=row.total_ms + (span.duration_ms or 0),
            )
            seen.add(span.name)
    return sorted(rows.values(), key=lambda r: (-r.calls, r.tool))
