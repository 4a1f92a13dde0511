"""The Redactor: built-in rules and team patterns applied to text and to structured data."""

# Every finding is replaced by a visible marker that keeps no part of the secret. All rules
# report spans; the spans are merged once and the text is rebuilt once, so one secret found by
# two rules counts once and markers are never matched again (redacting twice changes nothing).

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from claudetracing.core.errors import TracesError
from claudetracing.redaction.judge import field_secret, name_value_secret
from claudetracing.redaction.markers import MARKER_PREFIX, marker, outside_markers
from claudetracing.redaction.rule import BuiltinRule, Rule, char_offsets
from claudetracing.redaction.rules import default_rules, trigger

__all__ = ["CUSTOM_RULE_NAME", "FIELD_RULE_NAME", "RedactionPatternError", "Redactor"]

CUSTOM_RULE_NAME = "custom"  # the name of every team-provided pattern
FIELD_RULE_NAME = "secret-field"  # a whole value under a secret-looking key in structured data

# A string up to this size is first checked against `trigger()` in one call: most strings in
# a transcript (ids, timestamps, short messages) need no other work. Longer ones go rule by
# rule, where each rule's `in` checks are faster than one regex with many branches.
_TRIGGER_MAX = 4096

MAX_NESTING = 100  # transcripts are cut at 64 levels when read; this guards any other caller
TOO_DEEP = "[nested too deep: cut by claudetracing]"


class RedactionPatternError(TracesError, ValueError):
    """A team-provided redaction pattern that is not a valid regular expression."""

    def __init__(self, pattern: object, error: str) -> None:
        super().__init__(
            f"invalid redaction pattern {pattern!r}: {error}",
            hint="fix or remove it in the repository's redaction patterns",
        )
        self.pattern = pattern
        self.error = error


def _compile_custom(patterns: Iterable[str]) -> list[Rule]:
    if isinstance(patterns, str):
        patterns = [patterns]  # one pattern, not its characters
    rules: list[Rule] = []
    for raw in patterns:
        if not isinstance(raw, str) or not raw:
            raise RedactionPatternError(raw, "a pattern must be a non-empty string")
        try:
            pattern = re.compile(raw)
        except re.error as exc:
            raise RedactionPatternError(raw, str(exc)) from None
        group: str | None = "secret" if "secret" in pattern.groupindex else None
        rules.append(Rule(CUSTOM_RULE_NAME, pattern, group))
    return rules


class Redactor:
    """Replaces secrets in text and in JSON-like data by ``[REDACTED:<rule name>]``.

    `extra_patterns`: the team's regular expressions (strings). A whole match is replaced, or
    only the named group ``secret`` when the pattern has one. An invalid pattern raises
    `RedactionPatternError` (a `ValueError`) naming it. `include_defaults=False` keeps only
    the team's patterns (and turns off the secret-looking-key rule for structured data).
    """

    def __init__(
        self, extra_patterns: Iterable[str] = (), *, include_defaults: bool = True
    ) -> None:
        custom = _compile_custom(extra_patterns)
        self.include_defaults = include_defaults
        self._builtins: tuple[BuiltinRule, ...] = default_rules() if include_defaults else ()
        self._trigger = trigger() if include_defaults else None
        self._custom: tuple[Rule, ...] = tuple(custom)
        self.rules: tuple[Rule, ...] = (*self._builtins, *self._custom)

    # -- text --------------------------------------------------------------------------------

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """The merged (start, end, rule name) spans that `redact_text` replaces, in order."""
        found: list[tuple[int, int, int]] = []
        if self._trigger is not None and text:
            data = text.encode("utf-8", "surrogatepass")
            low = data.lower()  # ASCII letters only: offsets unchanged
            byte_spans: list[tuple[int, int, int]] = []
            if len(low) > _TRIGGER_MAX or self._trigger.search(low) is not None:
                for index, rule in enumerate(self._builtins):
                    if rule.gate:
                        for hint in rule.hints:
                            if hint in low:
                                break
                        else:
                            continue
                    for start, end in rule.find(data, low):
                        byte_spans.append((start, end, index))
            if byte_spans and len(data) != len(text):
                to_char = char_offsets(data, (o for s, e, _ in byte_spans for o in (s, e)))
                byte_spans = [(to_char[s], to_char[e], i) for s, e, i in byte_spans]
            found = byte_spans
        first_custom = len(self._builtins)
        for offset, custom in enumerate(self._custom):
            for start, end in custom.spans(text):
                found.append((start, end, first_custom + offset))
        if not found:
            return []
        found.sort()
        merged: list[tuple[int, int, str]] = []
        cur_start, cur_end, cur_index = found[0]
        for start, end, index in found[1:]:
            if start < cur_end:  # overlapping: one finding, named by the most specific rule
                cur_end = max(cur_end, end)
                cur_index = min(cur_index, index)
            else:
                merged.append((cur_start, cur_end, self.rules[cur_index].name))
                cur_start, cur_end, cur_index = start, end, index
        merged.append((cur_start, cur_end, self.rules[cur_index].name))
        if MARKER_PREFIX in text:
            merged = outside_markers(text, merged)
        return merged

    def redact_text(self, text: str) -> tuple[str, int]:
        """`text` with every secret replaced by its marker, and how many were replaced."""
        spans = self.find(text)
        if not spans:
            return text, 0
        parts: list[str] = []
        pos = 0
        for start, end, name in spans:
            parts.append(text[pos:start])
            parts.append(marker(name))
            pos = end
        parts.append(text[pos:])
        return "".join(parts), len(spans)

    # -- structured data ---------------------------------------------------------------------

    def redact(self, value: Any, _depth: int = 0) -> tuple[Any, int]:
        """A copy of `value` (dicts, lists, tuples, strings; other types kept as they are) with
        secrets redacted in every string, and the number of redactions.

        Dict keys are kept. A string under a secret-looking key (``{"password": ...}``,
        ``{"GITHUB_TOKEN": ...}``; also ``{"name": "DB_PASSWORD", "value": ...}``) is replaced
        whole unless it is obviously not a secret (empty, a placeholder, a number, a path).
        A dict or list nested deeper than MAX_NESTING is replaced whole by TOO_DEEP: nothing
        in it is checked, so nothing in it is kept.
        """
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict | list | tuple) and _depth >= MAX_NESTING:
            return TOO_DEEP, 0
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            total = 0
            pair_secret = self.include_defaults and name_value_secret(value)
            for key, item in value.items():
                if (
                    isinstance(item, str)
                    and self.include_defaults
                    and (
                        (pair_secret and key == "value")
                        or (isinstance(key, str) and field_secret(key, item))
                    )
                ):
                    out[key] = marker(FIELD_RULE_NAME)
                    total += 1
                    continue
                out[key], n = self.redact(item, _depth + 1)
                total += n
            return out, total
        if isinstance(value, list | tuple):
            items: list[Any] = []
            total = 0
            for item in value:
                new, n = self.redact(item, _depth + 1)
                items.append(new)
                total += n
            return (items if isinstance(value, list) else tuple(items)), total
        return value, 0
