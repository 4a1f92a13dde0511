"""Read Claude Code transcripts (JSON lines) tolerantly: skip and count what cannot be used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from claudetracing.core.errors import TranscriptError


@dataclass
class Record:
    """One transcript line that parsed to a JSON object."""

    data: dict[str, Any]
    line_no: int
    offset: int  # byte offset of the line's start in its file

    @property
    def type(self) -> str:
        value = self.data.get("type")
        return value if isinstance(value, str) else ""

    @property
    def uuid(self) -> str | None:
        value = self.data.get("uuid")
        return value if isinstance(value, str) else None

    @property
    def message(self) -> dict[str, Any]:
        value = self.data.get("message")
        return value if isinstance(value, dict) else {}

    @property
    def content(self) -> list[dict[str, Any]]:
        """The message content as a list of blocks (a plain string becomes one text block)."""
        value = self.message.get("content")
        if isinstance(value, str):
            return [{"type": "text", "text": value}]
        if isinstance(value, list):
            return [b for b in value if isinstance(b, dict)]
        return []

    @property
    def timestamp_ns(self) -> int | None:
        return parse_timestamp_ns(self.data.get("timestamp"))


@dataclass
class ReadResult:
    records: list[Record] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    repaired: int = 0  # lines with bytes that were not UTF-8, read with replacement characters
    end_offset: int = 0  # first byte not consumed (a half-written last line is not consumed)
    pending_tail: bool = False  # the file ends in a line without newline that did not parse


def parse_timestamp_ns(value: Any) -> int | None:
    """ISO 8601 (with 'Z' or an offset) to nanoseconds since the epoch; None when unusable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    whole = int(moment.timestamp())
    return whole * 1_000_000_000 + moment.microsecond * 1_000


def _lines(handle: Any, start: int) -> Iterator[tuple[int, bytes]]:
    offset = start
    for raw in handle:
        yield offset, raw
        offset += len(raw)


def read_transcript(path: Path, *, start_offset: int = 0, final: bool = False) -> ReadResult:
    """Read records from `start_offset` on.

    A last line without a newline may still be being written: unless `final`, it is left
    unconsumed when it does not parse, so a later read picks it up whole. With `final` it is
    skipped and counted like any other broken line.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise TranscriptError(
            f"transcript not found: {path}", "check the path, or run `traces import` with no paths"
        ) from exc
    except IsADirectoryError as exc:
        raise TranscriptError(f"transcript is a folder, not a file: {path}") from exc
    result = ReadResult(end_offset=start_offset)
    line_no = 0
    with handle:
        handle.seek(start_offset)
        for offset, raw in _lines(handle, start_offset):
            line_no += 1
            complete = raw.endswith(b"\n")
            stripped = raw.strip()
            if not stripped:
                result.end_offset = offset + len(raw)
                continue
            try:
                text = stripped.decode("utf-8")
            except UnicodeDecodeError:
                text = stripped.decode("utf-8", errors="replace")
                result.repaired += 1
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                result.records.append(Record(data, line_no, offset))
                result.end_offset = offset + len(raw)
                continue
            if not complete and not final:
                result.pending_tail = True
                break
            reason = "not a JSON object" if data is not None else "invalid JSON"
            result.skipped.append((line_no, reason))
            result.end_offset = offset + len(raw)
    return result
