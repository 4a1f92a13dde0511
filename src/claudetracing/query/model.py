"""What queries compute from traces read back: usage sums and experiment rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class UsageRow:
    key: str
    turns: int = 0
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # turns (or responses) without a cost: the sum is a lower bound
    # Claude Code's own figure (cost-state records) where the traces carry it, ours elsewhere;
    # `billed_turns` of `turns` are covered by Claude Code's figure.
    billed_cost_usd: float = 0.0
    billed_turns: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = asdict(self)
        body["total"] = self.total
        body["cost_usd"] = round(self.cost_usd, 6)
        body["billed_cost_usd"] = round(self.billed_cost_usd, 6)
        return body


@dataclass(frozen=True)
class ExperimentRow:
    name: str
    experiment_id: str
    traces: int
    capped: bool  # there are more than `traces`
    last_activity: str | None
    tool_errors: int = 0  # failed tool calls over the traces counted (their `tools.errors`)
    tool_errors_unknown: int = 0  # traces exported before `tools.errors` existed: not counted

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ToolRow:
    """One tool's calls over the traces found (`traces search -f tools`)."""

    tool: str
    calls: int = 0
    errors: int = 0  # calls whose span is ERROR (the tool failed, or never returned)
    traces: int = 0  # traces that call it
    total_ms: int = 0  # time spent in it, summed

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
