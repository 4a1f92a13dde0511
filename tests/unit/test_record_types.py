"""The known-record table: the docs show it, and every record in our transcripts is in it."""

from __future__ import annotations

import json
from pathlib import Path

from claudetracing.transcript import record_types
from claudetracing.transcript.record_types import (
    ATTACHMENT_TYPES,
    READ,
    RECORD_TYPES,
    SKIPPED,
    render_markdown,
    unknown_attachment_types,
    unknown_types,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "transcripts.md"


def _types_in(paths: list[Path]) -> tuple[set[str], set[str]]:
    types: set[str] = set()
    attachments: set[str] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or not isinstance(record.get("type"), str):
                continue
            types.add(record["type"])
            attachment = record.get("attachment")
            if record["type"] == "attachment" and isinstance(attachment, dict):
                attachments.add(str(attachment.get("type")))
    return types, attachments


def test_the_doc_shows_the_table_the_module_holds() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- record-types:start -->\n", "<!-- record-types:end -->"
    shown = text[text.index(start) + len(start) : text.index(end)]
    assert shown == render_markdown(), (
        "docs/transcripts.md is out of date: paste `python -m "
        "claudetracing.transcript.record_types` between its record-types markers"
    )


def test_every_record_type_in_our_transcripts_is_known() -> None:
    paths = sorted((ROOT / "tests").rglob("*.jsonl"))
    assert len(paths) > 10
    types, attachments = _types_in(paths)
    assert {"user", "assistant", "progress", "summary", "system"} <= types
    assert unknown_types(types) == [], "add the new record types to record_types.py"
    assert unknown_attachment_types(attachments) == []


def _type_names_in_the_reader() -> set[str]:
    """Record types the transcript package's code names (string constants), this table aside."""
    import ast

    import claudetracing.transcript as package

    names: set[str] = set()
    for path in Path(package.__file__).parent.glob("*.py"):
        if path.name in ("record_types.py", "prompt_markup.py"):  # the latter reads prompt text
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
    return names & set(RECORD_TYPES)


def test_the_types_marked_read_are_the_ones_the_reader_names() -> None:
    read = {name for name, r in RECORD_TYPES.items() if r.treatment == READ}
    assert {"user", "assistant", "progress", "cost-state", "api-request"} <= read
    assert read == _type_names_in_the_reader()
    assert {r.treatment for r in RECORD_TYPES.values()} == {READ, SKIPPED}
    assert all(
        r.reason and set(r.seen_in) <= set(record_types.VERSIONS) for r in RECORD_TYPES.values()
    )


def test_unknown_types_are_the_ones_not_listed() -> None:
    assert unknown_types({"user", "brand-new", "cost-state", "a-new"}) == ["a-new", "brand-new"]
    assert unknown_attachment_types({"environment", "novel"}) == ["novel"]
    assert "environment" in ATTACHMENT_TYPES
