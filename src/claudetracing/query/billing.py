"""Claude Code's own figures as a stored trace carries them (tags `claude_code.billed.*`, see
docs/trace-model.md): on the last turn of an interval, with the turns it covers; a pointer to
that turn on the others."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from claudetracing.trace import reconcile
from claudetracing.trace.stored import TraceRow


@dataclass(frozen=True)
class Billed:
    cost_usd: float | None = None  # on the carrier: the interval's figure
    turns: int = 0  # how many turns that figure covers
    in_turn: str | None = None  # on the other turns: the carrier's turn key
    status: str | None = None  # match, differs, not_comparable
    ours: dict[str, object] = field(default_factory=dict)
    models: dict[str, float] = field(default_factory=dict)  # the figure's cost per model
    explanation: list[dict[str, object]] = field(default_factory=list)
    note: str = ""

    @property
    def covered(self) -> bool:
        """The trace's cost is part of a Claude Code figure (here, or on its carrier)."""
        return self.cost_usd is not None or self.in_turn is not None


def _json(text: str | None) -> object:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def of_row(row: TraceRow) -> Billed:
    tags = row.tags
    cost = _float(tags.get(reconcile.COST))
    if cost is None:
        in_turn = tags.get(reconcile.IN_TURN)
        return Billed(in_turn=in_turn) if in_turn else Billed()
    try:
        turns = int(tags.get(reconcile.TURNS) or 1)
    except ValueError:
        turns = 1
    ours = _json(tags.get(reconcile.OURS))
    raw_models = _json(tags.get(reconcile.MODELS))
    models: dict[str, float] = {}
    if isinstance(raw_models, dict):
        for name, body in raw_models.items():
            value = body.get("cost_usd") if isinstance(body, dict) else None
            if isinstance(value, (int, float)):
                models[str(name)] = float(value)
    explanation = _json(tags.get(reconcile.EXPLANATION))
    return Billed(
        cost_usd=cost,
        turns=turns,
        status=tags.get(reconcile.STATUS),
        ours=ours if isinstance(ours, dict) else {},
        models=models,
        explanation=[e for e in explanation if isinstance(e, dict)]
        if isinstance(explanation, list)
        else [],
        note=tags.get(reconcile.NOTE) or "",
    )
