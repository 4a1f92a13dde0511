"""The transcript reader skips and counts what it cannot use, and never crashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claudetracing.core.errors import TranscriptError
from claudetracing.transcript.records import parse_timestamp_ns, read_transcript


def _line(**fields: object) -> bytes:
    return (json.dumps(fields) + "\n").encode()


def test_truncated_last_line_waits_unless_final(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    whole = _line(type="user", uuid="a")
    path.write_bytes(whole + b'{"type": "assistant", "mess')
    live = read_transcript(path)
    assert [r.uuid for r in live.records] == ["a"]
    assert live.pending_tail and live.skipped == []
    assert live.end_offset == len(whole)  # the half line is read again next time
    final = read_transcript(path, final=True)
    assert final.skipped == [(2, "invalid JSON")]
    assert final.end_offset == path.stat().st_size


def test_broken_lines_in_the_middle_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(
        _line(type="user", uuid="a")
        + b"not json\n"
        + b"[1, 2]\n"
        + b"\n"
        + _line(type="assistant", uuid="b")
    )
    result = read_transcript(path)
    assert [r.uuid for r in result.records] == ["a", "b"]
    assert result.skipped == [(2, "invalid JSON"), (3, "not a JSON object")]


def test_non_utf8_bytes_are_repaired_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"type": "user", "uuid": "a", "text": "caf\xe9 \xff"}\n')
    result = read_transcript(path)
    assert result.repaired == 1
    assert result.records[0].data["text"].startswith("caf\ufffd")


def test_reading_from_an_offset_continues_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    first = _line(type="user", uuid="a")
    path.write_bytes(first + _line(type="user", uuid="b"))
    result = read_transcript(path, start_offset=len(first))
    assert [r.uuid for r in result.records] == ["b"]
    assert result.records[0].offset == len(first)


def test_missing_transcript_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="transcript not found"):
        read_transcript(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T09:00:00.000Z", 1795165200_000_000_000),
        ("2026-11-20T10:00:00.250+01:00", 1795165200_250_000_000),
        ("2026-11-20T09:00:00", None),  # no zone: refuse to guess
        ("yesterday", None),
        (None, None),
    ],
)
def test_timestamps(text: object, expected: int | None) -> None:
    assert parse_timestamp_ns(text) == expected
