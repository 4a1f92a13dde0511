"""The visible marker, ``[REDACTED:<rule name>]``, that replaces a secret and keeps none of it."""

from __future__ import annotations

import re

__all__ = ["MARKER_PREFIX", "marker", "outside_markers"]

MARKER_PREFIX = "[REDACTED:"
_MARKER = re.compile(r"\[REDACTED:[A-Za-z0-9_.-]*\]")


def marker(name: str) -> str:
    """The text that replaces a secret found by the rule `name`."""
    return f"{MARKER_PREFIX}{name}]"


def outside_markers(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """`spans` (sorted, disjoint) that overlap no existing marker: redacting twice changes
    nothing, and `-u [REDACTED:x]:` is not a user and a password."""
    markers = [m.span() for m in _MARKER.finditer(text)]
    kept: list[tuple[int, int, str]] = []
    i = 0
    for span in spans:
        while i < len(markers) and markers[i][1] <= span[0]:
            i += 1
        if i < len(markers) and markers[i][0] < span[1]:
            continue
        kept.append(span)
    return kept
