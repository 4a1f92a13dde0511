"""Render the rule tables of docs/redaction.md from the rules themselves, so they cannot drift.

`python scripts/redaction_docs.py` rewrites the tables between their markers;
`--check` exits 1 when the committed doc differs from what the rules say (a test runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from claudetracing.redaction import CUSTOM_RULE_NAME, FIELD_RULE_NAME
from claudetracing.redaction.rules import default_rules

DOC = Path(__file__).resolve().parent.parent / "docs" / "redaction.md"
KINDS = ("token", "place")
# What is not a built-in text rule: whole values in structured data, and the team's patterns.
EXTRA_ROWS = {
    "place": (
        (
            FIELD_RULE_NAME,
            "In structured data (the JSON of a transcript), a string under a "
            "secret-looking key: see below.",
        ),
        (CUSTOM_RULE_NAME, "A match of one of the team's patterns."),
    ),
}


def _markers(kind: str) -> tuple[str, str]:
    return f"<!-- redaction-rules:{kind}:start -->\n", f"<!-- redaction-rules:{kind}:end -->"


def render_table(kind: str) -> str:
    """The table of the rules of `kind`, one row per rule name, in the rules' order."""
    docs: dict[str, list[str]] = {}
    for rule in default_rules():
        if rule.kind == kind:
            docs.setdefault(rule.name, []).append(rule.doc)
    rows = [(name, " ".join(part for part in parts if part)) for name, parts in docs.items()]
    rows += EXTRA_ROWS.get(kind, ())
    lines = ["| rule | matches |", "| --- | --- |"]
    lines += [f"| `{name}` | {text.replace('|', chr(92) + '|')} |" for name, text in rows]
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """`text` (the doc) with every table between its markers rendered afresh."""
    for kind in KINDS:
        start, end = _markers(kind)
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + start + render_table(kind) + end + tail
    return text


if __name__ == "__main__":
    current = DOC.read_text(encoding="utf-8")
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if current == render(current) else 1)
    DOC.write_text(render(current), encoding="utf-8")
