"""`tokens`: the turn's token counts, once per API response, subagents included."""

from __future__ import annotations

from claudetracing.enrichments.api import Enrichment, TurnContext


def _enrich(context: TurnContext) -> dict[str, object]:
    t = context.tokens
    return {
        "input": t.input,
        "output": t.output,
        "cache_read": t.cache_read,
        "cache_creation": t.cache_creation,
        "total": t.total,
    }


enrichment = Enrichment(
    name="tokens",
    description="tokens.input, .output, .cache_read, .cache_creation, .total (input + output)",
    enrich=_enrich,
)
