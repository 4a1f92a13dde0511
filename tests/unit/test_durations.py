"""One parser for every duration and moment a person types."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from claudetracing.core.durations import parse_duration, parse_moment
from claudetracing.core.errors import TracesError

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("12h", 43200),
        ("7d", 604800),
        ("2w", 1209600),
        ("12", 12),
        ("1.5h", 5400),
        (" 7D ", 604800),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "", "7 days", "-1h", "h"])
def test_a_bad_duration_names_the_value_and_the_fix(text: str) -> None:
    with pytest.raises(TracesError, match=f"cannot read the give-up time {text!r}") as caught:
        parse_duration(text, what="give-up time")
    assert "such as" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("24h", NOW - 86400),
        ("7d", NOW - 604800),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp()),
        ("2026-11-01T09:30:00Z", datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc).timestamp()),
        (
            "2026-11-01T09:30:00+01:00",
            datetime(2026, 11, 1, 8, 30, tzinfo=timezone.utc).timestamp(),
        ),
    ],
)
def test_moments(text: str, expected: float) -> None:
    assert parse_moment(text, option="--since", now=NOW) == expected


def test_a_bad_moment_names_the_option() -> None:
    with pytest.raises(TracesError, match="cannot read --until 'yesterday'"):
        parse_moment("yesterday", option="--until", now=NOW)
