"""The depth guards of every walk over transcript content, and the timestamp bounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claudetracing.redaction.redactor import Redactor
from claudetracing.trace.builder import clip
from claudetracing.transcript.records import TOO_DEEP, read_transcript


def _deep(depth: int) -> Any:
    value: Any = {"password": "hunter2-secret-value"}
    for _ in range(depth):
        value = {"k": [value]}
    return value


def _depth(value: Any) -> int:
    best, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        best = max(best, level)
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            stack += [(child, level + 1) for child in children]
    return best


def test_redaction_and_clipping_cut_what_is_too_deep_instead_of_raising() -> None:
    value = _deep(3_000)
    redacted, _ = Redactor().redact(value)
    assert TOO_DEEP in json.dumps(redacted) and "hunter2" not in json.dumps(redacted)
    clipped = clip(value, 1_000)
    assert TOO_DEEP in json.dumps(clipped) and _depth(clipped) <= 102


def _write(path: Path, stamps: list[str]) -> None:
    lines = [
        {"type": "user" if i % 2 == 0 else "assistant", "uuid": f"u{i}", "timestamp": stamp}
        for i, stamp in enumerate(stamps)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def test_a_session_resumed_days_later_keeps_its_times(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    stamps = ["2025-06-01T10:00:00Z", "2025-06-01T10:01:00Z", "2025-06-09T08:00:00Z"]
    _write(path, [*stamps, "2025-06-09T08:02:00Z"])
    result = read_transcript(path, final=True)
    assert result.repaired == 0
    assert [r.data["timestamp"] for r in result.records][:3] == stamps


def test_a_spike_or_an_absurd_time_takes_its_neighbours(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    _write(
        path,
        [
            "2025-06-01T10:00:00Z",
            "2021-01-01T00:00:00Z",  # far outside both neighbours
            "2025-06-01T10:02:00Z",
            "9999-12-31T23:59:59Z",  # after the file was written
            "not a time",
        ],
    )
    result = read_transcript(path, final=True)
    assert result.repaired == 3
    assert [r.data["timestamp"] for r in result.records] == [
        "2025-06-01T10:00:00Z",
        "2025-06-01T10:00:00.000Z",
        "2025-06-01T10:02:00Z",
        "2025-06-01T10:02:00.000Z",
        "2025-06-01T10:02:00.000Z",
    ]
