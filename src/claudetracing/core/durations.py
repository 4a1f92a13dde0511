"""Durations and moments as people type them: `90s`, `15m`, `24h`, `7d`, `2w`, dates, `now`.

Every `--since`, `--until`, `--hours` and every duration in settings goes through here, so one
spelling works everywhere."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from claudetracing.core.errors import TracesError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw]?)$")
_DURATION_HINT = "a number with s, m, h, d or w, such as 90s, 15m, 24h or 7d"


def parse_duration(text: str, *, what: str = "duration") -> float:
    """Seconds in `90s`, `15m`, `12h`, `7d`, `2w`, or a plain number of seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise TracesError(f"cannot read the {what} {text!r}", f"use {_DURATION_HINT}")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def format_duration(seconds: float) -> str:
    """The shortest exact spelling `parse_duration` reads back: `90s`, `15m`, `1h`, `7d`."""
    for unit in ("w", "d", "h", "m"):
        size = UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_moment(text: str, *, option: str, now: float | None = None) -> float:
    """Seconds since the epoch: a duration ago (`24h`, `7d`), an ISO date or time, or `now`.

    A date or time without a zone is UTC, as MLflow's timestamps are."""
    now = time.time() if now is None else now
    value = text.strip()
    if value.lower() == "now":
        return now
    if _DURATION.match(value.lower()) and value[-1:].isalpha():
        return now - parse_duration(value, what=option)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TracesError(
            f"cannot read {option} {text!r}",
            f"use a duration ago such as 24h or 7d, or a date such as 2026-11-20 or "
            f"2026-11-20T09:30:00Z (for example `{option} 24h`)",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
