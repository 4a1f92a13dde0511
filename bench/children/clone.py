"""Copy exported traces inside a sqlite store: thousands of realistic traces in seconds."""

# MLflow needs minutes to log thousands of traces; copying the rows of traces our exporter
# really wrote (spans, tags, metadata) with new trace ids, session ids and timestamps gives a
# store that looks the same to every query, fast.

from __future__ import annotations

import base64
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

_TRACE_TABLES = ("trace_tags", "trace_request_metadata", "trace_metrics")
Swaps = tuple[tuple[str, str], ...]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    # table_info leaves out generated columns (spans.duration_ns), which cannot be inserted.
    return [row[1] for row in conn.execute(f"PRAGMA table_info('{table}')")]


def _b64(trace_hex: str) -> str:
    """How span JSON spells a trace id: the OpenTelemetry bytes in base64."""
    return base64.b64encode(bytes.fromhex(trace_hex)).decode()


def _swap(value: Any, swaps: Swaps) -> Any:
    if not isinstance(value, str):
        return value
    for old, new in swaps:
        value = value.replace(old, new)
    return value


def clone(
    db: Path,
    *,
    templates: list[str],
    copies: int,
    seed_session: str,
    spread_hours: float,
) -> int:
    """Add `copies` traces copied from `templates` (one new session per pass over them).

    Sessions start evenly over the last `spread_hours`, newest last. Returns the trace count.
    """
    conn = sqlite3.connect(db, timeout=60)
    conn.row_factory = sqlite3.Row
    marks = ",".join("?" for _ in templates)
    infos = [
        dict(r)
        for r in conn.execute(
            f"SELECT * FROM trace_info WHERE request_id IN ({marks}) ORDER BY timestamp_ms",
            templates,
        )
    ]
    if len(infos) != len(templates):
        raise SystemExit(f"found {len(infos)} of {len(templates)} template traces")
    span_cols = _columns(conn, "spans")
    children: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for info in infos:
        rid = info["request_id"]
        children[rid] = {
            table: [
                dict(r) for r in conn.execute(f"SELECT * FROM {table} WHERE request_id=?", (rid,))
            ]
            for table in _TRACE_TABLES
        }
        children[rid]["spans"] = [
            {k: r[k] for k in span_cols}
            for r in conn.execute("SELECT * FROM spans WHERE trace_id=?", (rid,))
        ]
    first_ms = infos[0]["timestamp_ms"]
    now_ms = int(time.time() * 1000)
    window_ms = int(spread_hours * 3600 * 1000)
    passes = -(-copies // len(infos))
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in ("trace_info", "spans", *_TRACE_TABLES)}
    made = 0
    for k in range(passes):
        delta_ms = now_ms - window_ms + (k * window_ms) // passes - first_ms
        new_session = f"bench-{uuid.uuid4().hex[:12]}-{k:06d}"
        for info in infos[: copies - made]:
            old_rid = info["request_id"]
            new_hex = uuid.uuid4().hex
            new_rid = f"tr-{new_hex}"
            swaps: Swaps = (
                (old_rid, new_rid),
                (_b64(old_rid[3:]), _b64(new_hex)),
                (seed_session, new_session),
            )
            rows["trace_info"].append(
                {
                    **{key: _swap(v, swaps) for key, v in info.items()},
                    "timestamp_ms": info["timestamp_ms"] + delta_ms,
                }
            )
            for table in _TRACE_TABLES:
                rows[table].extend(
                    {key: _swap(v, swaps) for key, v in r.items()} for r in children[old_rid][table]
                )
            shift = delta_ms * 1_000_000
            for span in children[old_rid]["spans"]:
                start_ns, end_ns = span["start_time_unix_nano"], span["end_time_unix_nano"]
                content = _swap(span["content"], swaps)
                content = content.replace(str(start_ns), str(start_ns + shift))
                content = content.replace(str(end_ns), str(end_ns + shift))
                rows["spans"].append(
                    {
                        **span,
                        "trace_id": new_rid,
                        "start_time_unix_nano": start_ns + shift,
                        "end_time_unix_nano": end_ns + shift,
                        "content": content,
                    }
                )
            made += 1
    with conn:
        for table, table_rows in rows.items():
            if table_rows:
                cols = list(table_rows[0])
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) "
                    f"VALUES ({', '.join('?' for _ in cols)})",
                    [tuple(r[c] for c in cols) for r in table_rows],
                )
    count = int(conn.execute("SELECT count(*) FROM trace_info").fetchone()[0])
    conn.close()
    return count
