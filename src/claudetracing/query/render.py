"""How traces look in a terminal: tables, the span tree, usage bars, and a compact LLM context."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from claudetracing.query import billing, tools
from claudetracing.query.fit import Column, Fitted, fit
from claudetracing.query.model import ExperimentRow, ToolRow, UsageRow
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


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def experiments_table(rows: list[ExperimentRow], width: int) -> Fitted:
    """Names and ids whole (they are what `--experiment`/`--experiment-id` take)."""
    return fit(
        [
            Column("experiment", [r.name for r in rows]),
            Column("id", [r.experiment_id for r in rows]),
            Column(
                "traces",
                [f"{r.traces:,}+" if r.capped else f"{r.traces:,}" for r in rows],
                drop=2,
                justify="right",
            ),
            Column("tool errors", [f"{r.tool_errors:,}" for r in rows], drop=1, justify="right"),
            Column("last activity (UTC)", [r.last_activity or "-" for r in rows], drop=3),
        ],
        width,
    )


def traces_table(traces: list[Trace], width: int) -> Fitted:
    """One line per trace; the trace id is always whole (it is what `traces show` takes)."""
    rows = [t.row for t in traces]
    return fit(
        [
            Column("time (UTC)", [r.time.replace("+00:00", "") for r in rows], drop=3),
            Column("trace id", [r.trace_id for r in rows]),
            Column("status", [r.status for r in rows]),
            Column(
                "tool errors",
                [_count(tools.tool_errors(t)) for t in traces],
                drop=1,
                justify="right",
            ),
            Column("duration", [_ms(r.duration_ms) for r in rows], drop=6, justify="right"),
            Column("tokens", [f"{r.tokens.total:,}" for r in rows], drop=5, justify="right"),
            Column("cost", [_money(r.cost_usd) for r in rows], drop=4, justify="right"),
            Column("prompt", [_short(r.prompt, 60) for r in rows], drop=2, cut=True),
        ],
        width,
    )


def traces_json(traces: list[Trace]) -> str:
    """`search -f json`: each row's stable shape, and its failed tool calls (null: unknown)."""
    body = [{**t.row.as_dict(), "tool_errors": tools.tool_errors(t)} for t in traces]
    return json.dumps(body, indent=2, ensure_ascii=False)


def tools_table(rows: list[ToolRow], width: int) -> Fitted:
    """`search -f tools`: each tool's calls over the traces found."""
    return fit(
        [
            Column("tool", [r.tool for r in rows]),
            Column("calls", [f"{r.calls:,}" for r in rows], justify="right"),
            Column("errors", [f"{r.errors:,}" for r in rows], justify="right"),
            Column("traces", [f"{r.traces:,}" for r in rows], drop=2, justify="right"),
            Column("time", [_ms(r.total_ms) for r in rows], drop=1, justify="right"),
        ],
        width,
    )


def left_out_note(fitted: Fitted, width: int) -> str | None:
    """What a narrow terminal hid, for stderr."""
    if not fitted.left_out:
        return None
    return (
        f"left out to fit {width} columns: {', '.join(fitted.left_out)}; "
        "a wider terminal shows them, -f json has everything"
    )


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
        failed = tools.tool_errors(trace)
        status = row.status + (f" · {failed} tool error(s)" if failed else "")
        lines = [
            f"## {row.time} · session {row.session} · {row.trace_id} · {status} · "
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
        name = span.name
        if span.model and span.model != name:  # a model call is named by what it did
            name = f"{name} · {escape(span.model)}"
        label = f"{name} [dim]{span.span_type}[/] {duration}"
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


def usage_table(rows: list[UsageRow], by: str, width: int) -> Fitted:
    """Every number whole: columns are left out (cache first), never cropped."""
    columns = [
        Column(by, [r.key for r in rows]),
        Column("turns", [f"{r.turns:,}" for r in rows], drop=4, justify="right"),
        Column("input", [f"{r.input:,}" for r in rows], drop=6, justify="right"),
        Column("output", [f"{r.output:,}" for r in rows], drop=5, justify="right"),
        Column("cache read", [f"{r.cache_read:,}" for r in rows], drop=8, justify="right"),
        Column("cache write", [f"{r.cache_creation:,}" for r in rows], drop=7, justify="right"),
        Column("total", [f"{r.total:,}" for r in rows], drop=2, justify="right"),
        Column(
            "cost",
            [
                _money(r.cost_usd) + (f" (+{r.unpriced} unpriced)" if r.unpriced else "")
                for r in rows
            ],
            drop=1,
            justify="right",
        ),
    ]
    if any(r.billed_turns for r in rows):
        # Claude Code's own figure where its cost-state records exist, ours for the rest.
        billed = [
            _money(r.billed_cost_usd)
            + (f" ({r.billed_turns:,}/{r.turns:,} turns)" if r.turns else "")
            for r in rows
        ]
        columns.append(Column("billed by Claude Code", billed, drop=3, justify="right"))
    return fit(columns, width)


def usage_bars(rows: list[UsageRow], width: int = 200) -> str:
    """A bar per group, by cost (or by tokens when nothing is priced); the bars shrink to fit
    `width`, the figures never do."""
    if not rows:
        return ""
    by_cost = any(r.cost_usd for r in rows)
    values = [r.cost_usd if by_cost else float(r.total) for r in rows]
    shown = [_money(v) if by_cost else f"{int(v):,} tokens" for v in values]
    top = max(values) or 1.0
    key_width = max(len(r.key) for r in rows)
    bar_width = max(1, min(BAR_WIDTH, width - key_width - max(len(s) for s in shown) - 2))
    lines = []
    for row, value, figure in zip(rows, values, shown, strict=True):
        bar = "█" * max(1 if value else 0, round(bar_width * value / top))
        lines.append(f"{row.key.ljust(key_width)} {bar.ljust(bar_width)} {figure}")
    return "\n".join(lines)


def console() -> Console:
    # Wide enough for a trace id and a prompt preview when the output is not a terminal.
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
