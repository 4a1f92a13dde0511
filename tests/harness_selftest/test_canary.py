"""The canary's comparison: new record types and attachment subtypes, and the test outcome."""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness.canary import compare, main, scan, transcripts


def _write(path: Path, records: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r) for r in records) + "\nnot json\n", encoding="utf-8")
    return path


def test_known_records_and_passing_tests_exit_zero(tmp_path: Path) -> None:
    _write(
        tmp_path / "t1" / "home" / ".claude" / "projects" / "p" / "s.jsonl",
        [{"type": "user"}, {"type": "attachment", "attachment": {"type": "environment"}}],
    )
    _write(tmp_path / "t1" / "elsewhere.jsonl", [{"type": "never-scanned"}])
    found = transcripts(tmp_path)
    assert [p.name for p in found] == ["s.jsonl"]
    report = compare("9.9.9", scan(found), 0)
    assert report.exit_code == 0 and report.new_types == [] == report.new_attachments
    assert "1 transcript files" in report.text and "tests passed" in report.text


def test_new_types_and_subtypes_are_named_with_a_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "projects" / "p" / "s" / "subagents" / "agent-a.jsonl",
        [
            {"type": "assistant"},
            {"type": "brand-new"},
            {"type": "brand-new"},
            {"type": "attachment", "attachment": {"type": "hologram"}},
            ["not", "a", "record"],
            {"type": 3},
        ],
    )
    seen = scan(transcripts(tmp_path))
    assert seen.types == {"assistant": 1, "brand-new": 2, "attachment": 1}
    report = compare("9.9.9", seen, 0)
    assert report.new_types == ["brand-new"] and report.new_attachments == ["hologram"]
    assert f"'brand-new' x2 (e.g. {path})" in report.text
    assert report.exit_code == 1


def test_failed_tests_or_no_transcripts_fail_the_canary(tmp_path: Path, capsys: object) -> None:
    assert compare("9.9.9", scan([]), 0).exit_code == 1
    _write(tmp_path / "projects" / "s.jsonl", [{"type": "user"}])
    failing = compare("9.9.9", scan(transcripts(tmp_path)), 1)
    assert failing.exit_code == 1 and "FAILED (pytest exit status 1)" in failing.text
    args = ["--version", "9.9.9", "--transcripts", str(tmp_path), "--pytest-status", "0"]
    assert main(args) == 0
