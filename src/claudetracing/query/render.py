"""How traces look in a terminal: tables, the span tree, usage bars, and a compact LLM context."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from claudetracing.query import billing
from claudetracing.query.model import ExperimentRow, UsageRow
from claudetracing.trace.stored import Span, Trace, TraceRow

BAR_WIDTH = 40


def _short(text: str, size: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.4f}"


def _ms(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f}s" if value >= 1000 else f"{value}ms"


def experiments_table(rows: list[ExperimentRow]) -> Table:
    table = _table("experiment", "id", "traces", "last activity (UTC)")
    for row in rows:
        count = f"{row.traces:,}+" if row.capped else f"{row.traces:,}"
        table.add_row(row.name, row.experiment_id, count, row.last_activity or "-")
    return table


def _table(*columns: str) -> Table:
    table = Table()
    for name in columns:
        # One line per row: the last column gives way, never the ids.
        table.add_column(name, no_wrap=True, overflow="ellipsis" if name == "prompt" else "fold")
    return table


def traces_table(rows: list[TraceRow]) -> Table:
    table = _table("time (UTC)", "trace id", "status", "duration", "tokens", "cost", "prompt")
    for row in rows:
        table.add_row(
            row.time.replace("+00:00", ""),
            row.trace_id,
            row.status,
            _ms(row.duration_ms),
            f"{row.tokens.total:,}",
            _money(row.cost_usd),
            _short(row.prompt, 60),
        )
    return table


def traces_json(rows: list[TraceRow]) -> str:
    return json.dumps([row.as_dict() for row in rows], indent=2, ensure_ascii=False)


def _tool_line(span: Span) -> str:
    inputs = span.inputs if isinstance(span.inputs, dict) else {}
    detail = (
        inputs.get("command")
        or inputs.get("file_path")
        or inputs.get("pattern")
        or inputs.get("description")
        or ""
    )
    outcome = "ERROR" if span.status == "ERROR" else "ok"
    line = f"{span.name}({_short(str(detail), 80)}) → {outcome}"
    if outcome == "ERROR":
        line += f": {_short(span.status_message or str(span.outputs), 120)}"
    return line


def _context_lines(trace: Trace, parent: Span, depth: int) -> list[str]:
    lines = []
    for span in trace.children(parent):
        pad = "  " * depth
        if span.span_type == "TOOL":
            lines.append(f"{pad}- {_tool_line(span)}")
            lines.extend(_context_lines(trace, span, depth + 1))
        elif span.span_type == "AGENT":
            prompt = span.inputs.get("prompt", "") if isinstance(span.inputs, dict) else ""
            lines.append(f"{pad}- {span.name}: {_short(str(prompt), 120)}")
            lines.extend(_context_lines(trace, span, depth + 1))
    return lines


def context(traces: list[Trace], budget: int) -> str:
    """The turns as compact text for pasting into an LLM, oldest first, within `budget` chars."""
    blocks: list[str] = []
    used = 0
    ordered = sorted(traces, key=lambda t: t.row.start_ms)
    for index, trace in enumerate(ordered):
        row = trace.row
        root = trace.roots[0] if trace.roots else None
        answer = ""
        if root is not None and isinstance(root.outputs, dict):
            answer = str(root.outputs.get("answer", ""))
        lines = [
            f"## {row.time} · session {row.session} · {row.trace_id} · {row.status} · "
            f"{row.tokens.total:,} tokens · {_money(row.cost_usd)}",
            f"User: {_short(row.prompt, 600)}",
        ]
        if root is not None:
            lines.extend(_context_lines(trace, root, 0))
        lines.append(f"Answer: {_short(answer, 600)}")
        block = "\n".join(lines) + "\n"
        if used + len(block) > budget and blocks:
            blocks.append(
                f"… {len(ordered) - index} more turn(s) left out to stay within "
                f"{budget:,} characters (raise --budget)\n"
            )
            break
        blocks.append(block[: max(0, budget - used)] if not blocks else block)
        used += len(block)
    return "\n".join(blocks)


def span_tree(trace: Trace) -> Tree:
    """`traces show`: tools, subagents, durations, tokens, cost, errors."""
    row = trace.row
    tree = Tree(
        f"[bold]{row.trace_id}[/] {row.time} {row.status} · {_ms(row.duration_ms)} · "
        f"{row.tokens.total:,} tokens · {_money(row.cost_usd)}\n"
        f"prompt: {_short(row.prompt, 100)}"
    )

    def add(node: Tree, span: Span) -> None:
        duration = _ms(span.duration_ms)
        label = f"{span.name} [dim]{span.span_type}[/] {duration}"
        if span.tokens is not None:
            label += (
                f" · in {span.tokens.input:,} out {span.tokens.output:,}"
                f" cache {span.tokens.cache_read:,}"
            )
        if span.cost_usd is not None:
            label += f" · {_money(span.cost_usd)}"
        if span.copied:
            label += " · copy of a response traced before (not counted again)"
        if span.span_type == "TOOL":
            label = f"{_tool_line(span)} [dim]TOOL {duration}[/]"
        if span.status == "ERROR":
            label = f"[red]{label}[/]"
        branch = node.add(label)
        for child in trace.children(span):
            add(branch, child)

    for root in trace.roots:
        for child in trace.children(root):
            add(tree, child)
    for line in billed_lines(row):
        tree.add(escape(line))  # model names in brackets are not markup
    return tree


def _signed(value: object) -> str:
    return f"{value:+,}" if isinstance(value, int) else "-"


def billed_lines(row: TraceRow) -> list[str]:
    """What Claude Code billed beside our figure, and why they differ (cost-state records)."""
    billed = billing.of_row(row)
    if billed.in_turn:
        return [f"billed by Claude Code: counted with turn {billed.in_turn} (same interval)"]
    if billed.cost_usd is None:
        return []
    ours = billed.ours.get("cost_usd")
    ours_text = _money(float(ours)) if isinstance(ours, (int, float)) else "-"
    lines = [
        f"billed by Claude Code: {_money(billed.cost_usd)} for {billed.turns} turn(s)"
        f" · ours {ours_text} · {billed.status or '-'}"
    ]
    for cause in billed.explanation:
        cost = cause.get("cost_usd")
        money = f"${cost:+,.4f}" if isinstance(cost, (int, float)) else "-"
        calls = f", {cause['calls']} call(s)" if "calls" in cause else ""
        lines.append(
            f"  {cause.get('cause')} [{cause.get('model')}]{calls}: {money}, "
            f"input {_signed(cause.get('input_tokens'))}, "
            f"output {_signed(cause.get('output_tokens'))}, "
            f"cache read {_signed(cause.get('cache_read_tokens'))}, "
            f"cache write {_signed(cause.get('cache_creation_tokens'))}"
        )
    if billed.status != "match" and billed.note and not billed.explanation:
        lines.append(f"  {billed.note}")
    return lines


def usage_table(rows: list[UsageRow], by: str) -> Table:
    columns = [by, "turns", "input", "output", "cache read", "cache write", "total", "cost"]
    billed = any(r.billed_turns for r in rows)
    if billed:
        # Claude Code's own figure where its cost-state records exist, ours for the rest.
        columns.append("billed by Claude Code")
    table = _table(*columns)
    for row in rows:
        cost = _money(row.cost_usd) + (f" (+{row.unpriced} unpriced)" if row.unpriced else "")
        extra = []
        if billed:
            share = f" ({row.billed_turns:,}/{row.turns:,} turns)" if row.turns else ""
            extra.append(_money(row.billed_cost_usd) + share)
        table.add_row(
            row.key,
            f"{row.turns:,}",
            f"{row.input:,}",
            f"{row.output:,}",
            f"{row.cache_read:,}",
            f"{row.cache_creation:,}",
            f"{row.total:,}",
            cost,
            *extra,
        )
    return table


def usage_bars(rows: list[UsageRow]) -> str:
    """A bar per group, by cost (or by tokens when nothing is priced)."""
    if not rows:
        return ""
    by_cost = any(r.cost_usd for r in rows)
    values = [r.cost_usd if by_cost else float(r.total) for r in rows]
    top = max(values) or 1.0
    width = max(len(r.key) for r in rows)
    lines = []
    for row, value in zip(rows, values, strict=True):
        bar = "█" * max(1 if value else 0, round(BAR_WIDTH * value / top))
        shown = _money(value) if by_cost else f"{int(value):,} tokens"
        lines.append(f"{row.key.ljust(width)} {bar} {shown}")
    return "\n".join(lines)


def console() -> Console:
    # Wide enough for a trace id and a prompt preview when the output is not a terminal.
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
