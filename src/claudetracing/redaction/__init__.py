"""Secrets found and replaced in everything we export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from claudetracing.redaction.keys import secret_key_family
from claudetracing.redaction.markers import marker
from claudetracing.redaction.redactor import (
    CUSTOM_RULE_NAME,
    FIELD_RULE_NAME,
    RedactionPatternError,
    Redactor,
)
from claudetracing.redaction.rule import Rule
from claudetracing.redaction.rules import default_rules

__all__ = [
    "CUSTOM_RULE_NAME",
    "DEFAULT_RULES",
    "FIELD_RULE_NAME",
    "RedactionPatternError",
    "Redactor",
    "Rule",
    "marker",
    "secret_key_family",
]

if TYPE_CHECKING:
    DEFAULT_RULES: tuple[Rule, ...]


def __getattr__(name: str) -> Any:
    # Built on first access, as in `rules`: importing the package compiles no rule.
    if name == "DEFAULT_RULES":
        return default_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
