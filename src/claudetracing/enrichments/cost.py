"""`cost`: the turn's cost in USD from a maintained price library; what it cannot price is named,
never guessed, and never costs the price of the rest."""

from __future__ import annotations

import json

from claudetracing.enrichments.api import Enrichment, TurnContext
from claudetracing.trace import pricing


def _enrich(context: TurnContext) -> dict[str, object]:
    total = 0.0
    priced = 0
    unpriced: dict[str, int] = {}
    for call in context.turn.run.walk_llm_calls():
        if call.copied:
            continue  # a resumed session's copy: paid for, and traced, once before
        cost = pricing.price(call.model, call.usage)
        if cost is None:
            name = call.model or "unknown"
            unpriced[name] = unpriced.get(name, 0) + 1
            continue
        priced += 1
        total += cost.total_usd
    tags: dict[str, object] = {}
    if priced:
        tags["usd"] = f"{total:.6f}"
    if unpriced:
        # cost.usd then covers only the priced calls: say which were left out, and how many.
        tags["unpriced_calls"] = sum(unpriced.values())
        tags["unpriced_models"] = json.dumps(sorted(unpriced))
    return tags


enrichment = Enrichment(
    name="cost",
    description=(
        "cost.usd for the turn (genai-prices; 5-minute and 1-hour cache writes apart); "
        "cost.unpriced_calls and cost.unpriced_models when a model has no known price"
    ),
    enrich=_enrich,
)
