"""`cost`: the turn's cost in USD from a maintained price library; no tag rather than a guess."""

from __future__ import annotations

from claudetracing import pricing
from claudetracing.enrichment_api import Enrichment, TurnContext


def _enrich(context: TurnContext) -> dict[str, object]:
    total = 0.0
    for call in context.turn.run.walk_llm_calls():
        cost = pricing.price(call.model, call.usage)
        if cost is None:
            return {}  # one unpriced response would make the sum wrong: say nothing
        total += cost.total_usd
    return {"usd": f"{total:.6f}"}


enrichment = Enrichment(
    name="cost",
    description="cost.usd for the turn (genai-prices; 5-minute and 1-hour cache writes apart)",
    enrich=_enrich,
)
