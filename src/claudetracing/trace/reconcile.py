"""Our figures beside Claude Code's own, per interval between two `cost-state` records, and the
tags that put both on the traces (named in docs/trace-model.md).

One interval can cover several turns (a `claude -p` process writes one record, after its last
turn). The interval's figure is carried by its last traced turn, with the number of turns it
covers; the other turns point to that turn. So summing `claude_code.billed.*` over a session's
traces gives Claude Code's session total, each interval once.

When ours differs from Claude Code's by more than 1% (cost or any token kind), the carrier says
why, with amounts per cause where they can be computed (`Cause`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from claudetracing.trace import pricing
from claudetracing.transcript.accounting import Interval, Usage
from claudetracing.transcript.model import LlmCall, Turn

PREFIX = "claude_code.billed."
COST = PREFIX + "cost_usd"
INPUT = PREFIX + "input_tokens"
OUTPUT = PREFIX + "output_tokens"
CACHE_READ = PREFIX + "cache_read_tokens"
CACHE_CREATION = PREFIX + "cache_creation_tokens"
TURNS = PREFIX + "turns"  # how many turns the figure covers
MODELS = PREFIX + "models"  # JSON: the figure per model
STATUS = PREFIX + "status"  # match, differs, not_comparable
OURS = PREFIX + "ours"  # JSON: our figure over the same turns
EXPLANATION = PREFIX + "explanation"  # JSON: causes with amounts, when it differs
NOTE = PREFIX + "note"  # one sentence, when it differs or cannot be compared
IN_TURN = PREFIX + "in_turn"  # on the other turns of an interval: the carrier's turn key

MATCH = "match"
DIFFERS = "differs"
NOT_COMPARABLE = "not_comparable"
TOLERANCE = 0.01
PLACEHOLDER_MAX = 10  # output counts a single-line response can keep as a placeholder

# Causes of a difference (`Cause.cause`).
NO_ASSISTANT_RECORD = "no_assistant_record"  # a model we never saw: calls the transcript omits
NO_ASSISTANT_RECORD_RESIDUAL = "no_assistant_record_residual"  # more billed than we saw
PLACEHOLDER_OUTPUT = "placeholder_output"  # recorded output counts that are placeholders
AFTER_INTERVAL = "background_calls_after_interval"  # ours, billed in a later interval
FROM_EARLIER_TURN = "background_calls_of_earlier_turn"  # billed here, traced with an earlier turn
UNPRICED = "unpriced"  # our price library does not know the model: our cost is a lower bound
UNEXPLAINED = "unexplained"  # ours exceeds Claude Code's for no reason we can name


@dataclass(frozen=True)
class Cause:
    cause: str
    model: str
    amount: Usage  # Claude Code's minus ours that this cause accounts for (signed)
    calls: int | None = None

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"cause": self.cause, "model": self.model}
        if self.calls is not None:
            body["calls"] = self.calls
        body.update(_figures(self.amount))
        return body


@dataclass
class Reconciliation:
    interval: Interval
    ours: dict[str, Usage]
    status: str
    causes: list[Cause] = field(default_factory=list)
    note: str = ""
    unpriced_calls: int = 0

    @property
    def ours_total(self) -> Usage:
        return _sum(self.ours.values())


def _figures(usage: Usage) -> dict[str, object]:
    return {
        "cost_usd": round(usage.cost_usd, 6),
        "input_tokens": usage.input,
        "output_tokens": usage.output,
        "cache_read_tokens": usage.cache_read,
        "cache_creation_tokens": usage.cache_creation,
    }


def _sum(usages: Iterable[Usage]) -> Usage:
    total = Usage()
    for usage in usages:
        total = total.plus(usage)
    return total


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def call_usage(call: LlmCall) -> tuple[Usage, bool]:
    """One response as a `Usage`, priced by us; and whether it could be priced."""
    usage = call.usage
    split = usage.get("cache_creation")
    split = split if isinstance(split, dict) else {}
    cost = pricing.price(call.model, usage)
    return (
        Usage(
            input=_int(usage.get("input_tokens")),
            output=_int(usage.get("output_tokens")),
            cache_read=_int(usage.get("cache_read_input_tokens")),
            cache_creation=_int(usage.get("cache_creation_input_tokens")),
            cache_creation_5m=_int(split.get("ephemeral_5m_input_tokens")),
            cache_creation_1h=_int(split.get("ephemeral_1h_input_tokens")),
            cost_usd=cost.total_usd if cost else 0.0,
        ),
        cost is not None,
    )


def _counted(turns: list[Turn]) -> list[LlmCall]:
    """The responses our traces count for these turns: each once, copies left out."""
    return [c for t in turns for c in t.run.walk_llm_calls() if not c.copied]


def _by_model(calls: list[LlmCall]) -> tuple[dict[str, Usage], int]:
    found: dict[str, Usage] = {}
    unpriced = 0
    for call in calls:
        usage, priced = call_usage(call)
        unpriced += not priced
        name = call.model or "unknown"
        found[name] = found.get(name, Usage()).plus(usage)
    return found, unpriced


def ours(turns: list[Turn]) -> tuple[dict[str, Usage], int]:
    """Our figure for the turns, per model (what the builder and the cost enrichment count),
    and how many responses we could not price."""
    return _by_model(_counted(turns))


def close(ours_value: float, billed: float) -> bool:
    """Within 1% of Claude Code's figure (exactly equal when that is zero)."""
    if billed == 0:
        return abs(ours_value) < 5e-7
    return abs(ours_value - billed) <= TOLERANCE * abs(billed)


def _close(ours_usage: Usage, billed: Usage) -> bool:
    pairs = (
        (ours_usage.input, billed.input),
        (ours_usage.output, billed.output),
        (ours_usage.cache_read, billed.cache_read),
        (ours_usage.cache_creation, billed.cache_creation),
        (ours_usage.cost_usd, billed.cost_usd),
    )
    return all(close(o, b) for o, b in pairs)


def comparable(interval: Interval) -> bool:
    """False for a file's first record when the file starts with another session's history:
    Claude Code's figure then includes what it billed in that session."""
    if interval.previous is not None:
        return True
    return not any(c.copied for t in interval.turns for c in t.run.walk_llm_calls())


def reconcile(interval: Interval, others: list[Turn]) -> Reconciliation:
    """Compare the interval's turns with Claude Code's delta. `others`: turns outside the
    interval that are at hand (earlier ones may have background calls made during it)."""
    mine, unpriced = ours(interval.turns)
    if not comparable(interval):
        return Reconciliation(
            interval,
            mine,
            NOT_COMPARABLE,
            note=(
                "not compared: this is the file's first cost-state record and the file starts "
                "with history copied from another session, which Claude Code's figure includes"
            ),
            unpriced_calls=unpriced,
        )
    billed = interval.models
    same = _close(_sum(mine.values()), interval.total) and all(
        _close(mine.get(m, Usage()), b) for m, b in billed.items()
    )
    if same:
        return Reconciliation(interval, mine, MATCH, unpriced_calls=unpriced)
    causes = _causes(interval, others, mine)
    if unpriced:
        names = sorted({c.model or "unknown" for c in _counted(interval.turns)})
        causes.append(Cause(UNPRICED, ",".join(names), Usage(), calls=unpriced))
    note = "ours differs from Claude Code's by more than 1%"
    if causes:
        note += ": " + "; ".join(_sentence(c) for c in causes)
    return Reconciliation(interval, mine, DIFFERS, causes, note, unpriced)


def _causes(interval: Interval, others: list[Turn], mine: dict[str, Usage]) -> list[Cause]:
    billed = interval.models
    inside = _counted(interval.turns)
    end, start = interval.end_ns, interval.start_ns
    after = [c for c in inside if end is not None and c.end_ns > end]
    first = interval.turns[0].start_offset if interval.turns else -1
    earlier = [t for t in others if t.start_offset < first]
    before: list[LlmCall] = []
    if start is not None and end is not None:
        before = [c for c in _counted(earlier) if start < c.end_ns <= end]
    after_by, _ = _by_model(after)
    before_by, _ = _by_model(before)
    causes: list[Cause] = []
    for model in sorted(set(billed) | set(mine) | set(before_by)):
        b = billed.get(model, Usage())
        o = mine.get(model, Usage())
        if model not in mine and model not in before_by:
            causes.append(Cause(NO_ASSISTANT_RECORD, model, b))
            continue
        moved_out = after_by.get(model, Usage())
        moved_in = before_by.get(model, Usage())
        if not moved_out.empty:
            count = sum(1 for c in after if (c.model or "unknown") == model)
            causes.append(Cause(AFTER_INTERVAL, model, moved_out.negated(), calls=count))
        if not moved_in.empty:
            count = sum(1 for c in before if (c.model or "unknown") == model)
            causes.append(Cause(FROM_EARLIER_TURN, model, moved_in, calls=count))
        expected = o.minus(moved_out).plus(moved_in)
        rest = b.minus(expected)
        if _close(expected, b):
            continue
        placeholders = [
            c
            for c in inside
            if (c.model or "unknown") == model
            and not c.output_from_result
            and _int(c.usage.get("output_tokens")) <= PLACEHOLDER_MAX
        ]
        same_input = all(
            close(e, x)
            for e, x in (
                (expected.input, b.input),
                (expected.cache_read, b.cache_read),
                (expected.cache_creation, b.cache_creation),
            )
        )
        if same_input and rest.output > 0 and placeholders:
            amount = Usage(output=rest.output, cost_usd=rest.cost_usd)
            causes.append(Cause(PLACEHOLDER_OUTPUT, model, amount, calls=len(placeholders)))
        elif rest.input > 0 or rest.cache_read > 0 or rest.cache_creation > 0 or rest.output > 0:
            causes.append(Cause(NO_ASSISTANT_RECORD_RESIDUAL, model, rest))
        else:
            causes.append(Cause(UNEXPLAINED, model, rest))
    return causes


_WHAT = {
    NO_ASSISTANT_RECORD: "calls with no assistant record in the transcript",
    NO_ASSISTANT_RECORD_RESIDUAL: "more billed than recorded: calls with no assistant record",
    PLACEHOLDER_OUTPUT: "output counts recorded as placeholders",
    AFTER_INTERVAL: "background calls made after Claude Code closed this interval "
    "(billed in a later one)",
    FROM_EARLIER_TURN: "background calls of an earlier turn made during this interval "
    "(traced with that turn)",
    UNPRICED: "models our price library does not know (our cost leaves them out)",
    UNEXPLAINED: "ours exceeds Claude Code's for no reason found",
}


def _sentence(cause: Cause) -> str:
    a = cause.amount
    calls = f"{cause.calls} call(s), " if cause.calls is not None else ""
    if cause.cause == UNPRICED:
        return f"{_WHAT[cause.cause]}: {cause.model} ({cause.calls} call(s))"
    return (
        f"{_WHAT[cause.cause]} [{cause.model}]: {calls}${a.cost_usd:+.6f}, "
        f"input {a.input:+,}, output {a.output:+,}, cache read {a.cache_read:+,}, "
        f"cache write {a.cache_creation:+,}"
    )


def carrier(interval: Interval) -> Turn | None:
    """The turn whose trace carries the figure: the last one with a response of its own (or
    an API error notice), so turns that get no trace (empty, all copies) never hold it."""
    for turn in reversed(interval.turns):
        calls = turn.run.walk_llm_calls()
        if any(not c.copied for c in calls) or any(n.api_error for n in turn.run.notices):
            return turn
    return interval.turns[-1] if interval.turns else None


def tags(result: Reconciliation) -> dict[str, dict[str, str]]:
    """Tags per turn key: the figure on the carrier, a pointer to it on the others."""
    interval = result.interval
    holder = carrier(interval)
    if holder is None:
        return {}
    total = interval.total
    models = {m: _figures(u) for m, u in sorted(interval.models.items())}
    body = {
        COST: f"{total.cost_usd:.6f}",
        INPUT: str(total.input),
        OUTPUT: str(total.output),
        CACHE_READ: str(total.cache_read),
        CACHE_CREATION: str(total.cache_creation),
        TURNS: str(len(interval.turns)),
        MODELS: json.dumps(models, sort_keys=True),
        STATUS: result.status,
        OURS: json.dumps(
            {**_figures(result.ours_total), "unpriced_calls": result.unpriced_calls},
            sort_keys=True,
        ),
    }
    if result.causes and result.status == DIFFERS:
        body[EXPLANATION] = json.dumps([c.as_dict() for c in result.causes])
    if result.note:
        body[NOTE] = result.note[:4000]
    found = {holder.key: body}
    for turn in interval.turns:
        if turn is not holder:
            found[turn.key] = {IN_TURN: holder.key}
    return found
