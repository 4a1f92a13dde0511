"""What a new Claude Code writes that we do not know: the logic of scripts/claude-code-canary.

It scans the transcripts the end-to-end tests produced with that version (every ``*.jsonl``
under a Claude config folder's ``projects/``), counts record types and ``attachment`` subtypes,
and reports the ones the known-record table (claudetracing.transcript.record_types) lacks,
with where each was first seen, plus the test run's outcome. Exit status: 0 when nothing is new
and the tests passed, 1 otherwise.

    python -m tests.harness.canary --version 2.1.332 --transcripts DIR --pytest-status 0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from claudetracing.transcript.record_types import unknown_attachment_types, unknown_types


@dataclass
class Seen:
    """Record types and attachment subtypes found, with a count and a first file for each."""

    types: Counter[str] = field(default_factory=Counter)
    attachments: Counter[str] = field(default_factory=Counter)
    where: dict[str, Path] = field(default_factory=dict)
    files: int = 0

    def add(self, record: object, path: Path) -> None:
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            return
        kind = record["type"]
        self.types[kind] += 1
        self.where.setdefault(kind, path)
        attachment = record.get("attachment")
        if kind == "attachment" and isinstance(attachment, dict):
            sub = str(attachment.get("type"))
            self.attachments[sub] += 1
            self.where.setdefault(f"attachment:{sub}", path)


def transcripts(root: Path) -> list[Path]:
    """Transcript files (main and subagent) under ``root``: those inside a ``projects`` folder."""
    return sorted(p for p in root.rglob("*.jsonl") if "projects" in p.parts)


def scan(paths: Iterable[Path]) -> Seen:
    seen = Seen()
    for path in paths:
        seen.files += 1
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            seen.add(record, path)
    return seen


@dataclass(frozen=True)
class Report:
    text: str
    new_types: list[str]
    new_attachments: list[str]
    tests_passed: bool

    @property
    def exit_code(self) -> int:
        return 0 if self.tests_passed and not self.new_types and not self.new_attachments else 1


def compare(version: str, seen: Seen, pytest_status: int) -> Report:
    """The canary's verdict on one Claude Code version."""
    new_types = unknown_types(set(seen.types))
    new_attachments = unknown_attachment_types(set(seen.attachments))
    lines = [f"Claude Code {version}: {seen.files} transcript files scanned"]
    if seen.files == 0:
        lines.append("  no transcripts found: the scenarios did not run")
    for kind in new_types:
        lines.append(f"  new record type {kind!r} x{seen.types[kind]} (e.g. {seen.where[kind]})")
    for sub in new_attachments:
        where = seen.where[f"attachment:{sub}"]
        lines.append(f"  new attachment subtype {sub!r} x{seen.attachments[sub]} (e.g. {where})")
    if not new_types and not new_attachments and seen.files:
        lines.append("  no record types or attachment subtypes beyond the known-record table")
    passed = pytest_status == 0 and seen.files > 0
    lines.append(
        "  end-to-end tests passed"
        if pytest_status == 0
        else f"  end-to-end tests FAILED (pytest exit status {pytest_status})"
    )
    return Report("\n".join(lines), new_types, new_attachments, passed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--version", required=True)
    parser.add_argument("--transcripts", type=Path, required=True)
    parser.add_argument("--pytest-status", type=int, required=True)
    args = parser.parse_args(argv)
    report = compare(args.version, scan(transcripts(args.transcripts)), args.pytest_status)
    print(report.text)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
