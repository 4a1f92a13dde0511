"""The enrichment plugin contract at its published address (see `claudetracing.enrichments.api`).

Plugins import `claudetracing.enrichment_api`; the contract itself lives with the registry."""

from __future__ import annotations

from claudetracing.enrichments.api import NAME, Enrichment, TurnContext

__all__ = ["NAME", "Enrichment", "TurnContext"]
