"""Read Claude Code transcripts (JSON lines) tolerantly: skip and count what cannot be used."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from claudetracing.core.errors import TranscriptError
from claudetracing.core.regular_files import NotRegularFile, open_regular

# Nesting kept from a record's top (real transcripts nest at most 13 deep): a deeper value is
# replaced by TOO_DEEP, so every walk over transcript content stays far from Python's recursion
# limit. A line too deep for the JSON parser itself is skipped and counted.
MAX_DEPTH = 64
TOO_DEEP = "[nested too deep: cut by claudetracing]"
# Timestamps outside these bounds, or far outside the range of the records around them, are
# replaced by a neighbour's (see `bound_timestamps`).
EARLIEST_NS = 1_577_836_800 * 1_000_000_000  # 2020-01-01, before any Claude Code
FUTURE_SLACK_NS = 86_400 * 1_000_000_000  # clocks disagree; a day ahead of ours is not absurd
OUTLIER_NS = 6 * 3_600 * 1_000_000_000  # how far a timestamp may stray outside its neighbours
EDGE_NS = 7 * 86_400 * 1_000_000_000  # how far the first or last one may stray from its neighbour
_STAMPED = frozenset({"user", "assistant", "progress"})  # records that always carry a timestamp


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
    # lines kept after a repair: bytes that were not UTF-8 (read with replacement characters),
    # values nested deeper than MAX_DEPTH (cut), an absurd timestamp (a neighbour's instead)
    repaired: int = 0
    duplicates: int = 0  # records written again with a uuid seen before: read once
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
        if moment.tzinfo is None:
            return None
        whole = int(moment.timestamp())
    except (ValueError, OverflowError):
        return None
    return whole * 1_000_000_000 + moment.microsecond * 1_000


def _format_ns(ns: int) -> str:
    moment = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _next_values(values: list[int | None]) -> list[int | None]:
    """For each position, the first value after it that is not None."""
    found: list[int | None] = [None] * len(values)
    upcoming: int | None = None
    for index in range(len(values) - 1, -1, -1):
        found[index] = upcoming
        if values[index] is not None:
            upcoming = values[index]
    return found


def load_line(text: str) -> tuple[Any, bool]:
    """A transcript line parsed, its values nested deeper than MAX_DEPTH cut (with TOO_DEEP);
    and whether anything was cut. Raises ValueError when it is not JSON, or too deep to parse."""
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise ValueError("nested too deep") from exc
    # Nesting needs brackets: with fewer than MAX_DEPTH of them, there is nothing to walk.
    if text.count("{") + text.count("[") < MAX_DEPTH:
        return data, False
    return data, clip_depth(data) > 0


def clip_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Replace, in place, every dict or list deeper than `limit` by TOO_DEEP; how many were.
    Iterative: it must not itself need the recursion it protects against."""
    cut = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for key, child in children:
            if not isinstance(child, dict | list):
                continue
            if depth >= limit:
                node[key] = TOO_DEEP
                cut += 1
            else:
                stack.append((child, depth + 1))
    return cut


def bound_timestamps(records: list[Record], *, latest_ns: int | None = None) -> list[Record]:
    """Replace absurd timestamps by a neighbour's; the records changed.

    A `user`, `assistant` or `progress` record's timestamp is absurd when it is missing or
    unreadable, before 2020, more than a day after `latest_ns` (the file's last change, else
    now), or more than OUTLIER_NS outside the range of the timestamps before and after it (one
    line of 2021 in a 2025 session); the first and last are judged by their one neighbour, with
    EDGE_NS to spare. A real step (a session resumed days later) is kept: the records after it
    agree with it. The replacement is the last good timestamp before it (the
    next good one at the start; when the file has none, when it was last written), written into
    the record, so that everything downstream sees it.
    """
    latest = (latest_ns if latest_ns is not None else time.time_ns()) + FUTURE_SLACK_NS
    stamped = [r for r in records if r.type in _STAMPED]
    values = [parse_timestamp_ns(r.data.get("timestamp")) for r in stamped]
    values = [v if v is not None and EARLIEST_NS <= v <= latest else None for v in values]
    good: list[int | None] = list(values)
    present = [i for i, v in enumerate(values) if v is not None]
    previous: int | None = None  # the last timestamp kept
    for n, index in enumerate(present):
        value = values[index]
        assert value is not None
        later = [v for v in (values[i] for i in present[n + 1 : n + 3]) if v is not None]
        upcoming = later[0] if later else None
        if previous is not None and upcoming is not None:
            around, slack = [previous, upcoming], OUTLIER_NS
        elif previous is not None:
            around, slack = [previous], EDGE_NS  # the last: a real gap is harder to tell
        elif upcoming is not None and (len(later) < 2 or abs(later[1] - upcoming) <= OUTLIER_NS):
            around, slack = [upcoming], EDGE_NS  # the first, by a next one that is not odd itself
        else:
            around, slack = [], 0
        if around and not min(around) - slack <= value <= max(around) + slack:
            good[index] = None
            continue
        previous = value
    after = _next_values(good)
    changed: list[Record] = []
    previous = None
    for index, (record, value) in enumerate(zip(stamped, good, strict=True)):
        if value is not None:
            previous = value
            continue
        fill = previous if previous is not None else after[index]
        if fill is None:
            if "timestamp" not in record.data:
                continue  # no record of the file has one: left as it is
            fill = min(latest - FUTURE_SLACK_NS, time.time_ns())  # when the file was written
        record.data["timestamp"] = _format_ns(fill)
        changed.append(record)
    return changed


def _lines(handle: Any, start: int) -> Iterator[tuple[int, bytes]]:
    offset = start
    for raw in handle:
        yield offset, raw
        offset += len(raw)


def read_transcript(
    path: Path, *, start_offset: int = 0, final: bool = False, end_offset: int | None = None
) -> ReadResult:
    """Read records from `start_offset` on (up to the line at `end_offset`, if given).

    A last line without a newline may still be being written: unless `final`, it is left
    unconsumed when it does not parse, so a later read picks it up whole. With `final` it is
    skipped and counted like any other broken line.
    """
    try:
        # A FIFO or device named like a transcript would block the read or never end.
        handle = open_regular(path)
    except FileNotFoundError as exc:
        raise TranscriptError(
            f"transcript not found: {path}", "check the path, or run `traces import` with no paths"
        ) from exc
    except NotRegularFile as exc:
        if exc.kind == "a folder":
            raise TranscriptError(f"transcript is a folder, not a file: {path}") from exc
        raise TranscriptError(
            f"transcript is {exc.kind}, not a regular file: {path}",
            "give the session's .jsonl file",
        ) from exc
    except OSError as exc:
        raise TranscriptError(
            f"transcript cannot be read: {path} ({exc.strerror or exc})",
            "check that it is a readable file (permissions, a link that leads nowhere)",
        ) from exc
    result = ReadResult(end_offset=start_offset)
    line_no = 0
    repaired: set[int] = set()
    seen: set[str] = set()
    with handle:
        handle.seek(start_offset)
        for offset, raw in _lines(handle, start_offset):
            if end_offset is not None and offset >= end_offset:
                break
            line_no += 1
            complete = raw.endswith(b"\n")
            stripped = raw.strip()
            if not stripped:
                result.end_offset = offset + len(raw)
                continue
            bad_bytes = False
            try:
                text = stripped.decode("utf-8")
            except UnicodeDecodeError:
                text = stripped.decode("utf-8", errors="replace")
                bad_bytes = True
            reason = "invalid JSON"
            try:
                data, cut = load_line(text)
            except ValueError as exc:
                data, cut = None, False
                if str(exc) == "nested too deep":
                    reason = "nested too deep to read"
            if isinstance(data, dict):
                result.end_offset = offset + len(raw)
                record = Record(data, line_no, offset)
                if record.uuid is not None and record.uuid in seen:
                    result.duplicates += 1
                    continue
                if record.uuid is not None:
                    seen.add(record.uuid)
                if cut or bad_bytes:
                    repaired.add(line_no)
                result.records.append(record)
                continue
            if not complete and not final:
                result.pending_tail = True
                break
            if data is not None:
                reason = "not a JSON object"
            result.skipped.append((line_no, reason))
            result.end_offset = offset + len(raw)
        changed_ns = min(os.fstat(handle.fileno()).st_mtime_ns, time.time_ns())
    repaired.update(r.line_no for r in bound_timestamps(result.records, latest_ns=changed_ns))
    result.repaired = len(repaired)
    return result
