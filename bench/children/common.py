"""Helpers every child script shares (stdlib only, so importing it costs nothing measurable)."""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
from pathlib import Path
from typing import Any


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def store_counts(db: Path) -> tuple[int, int]:
    """Traces and spans in a sqlite store, read directly (never through the code under test)."""
    with sqlite3.connect(db) as conn:
        traces = conn.execute("SELECT count(*) FROM trace_info").fetchone()[0]
        spans = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
    return int(traces), int(spans)


def emit(result: dict[str, Any]) -> None:
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
