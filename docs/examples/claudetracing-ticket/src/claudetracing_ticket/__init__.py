"""Tag each turn with the ticket ids found in its branch name and prompt (e.g. WID-42)."""

from __future__ import annotations

import re

from claudetracing.enrichment_api import Enrichment, TurnContext

TICKET = re.compile(r"\b[A-Z][A-Z0-9]{1,9}-\d{1,6}\b")


def enrich(context: TurnContext) -> dict[str, object]:
    """Return plain keys; claudetracing prefixes them with `ticket.` and checks the limits."""
    sources = [context.turn.git_branch or "", context.turn.run.prompt]
    ids = sorted({match for text in sources for match in TICKET.findall(text)})
    if not ids:
        return {}  # no tags is a fine answer
    return {"ids": ids, "primary": ids[0]}


enrichment = Enrichment(
    name="ticket",
    description="ticket.ids (JSON list) and ticket.primary, from the branch name and the prompt",
    enrich=enrich,
)
