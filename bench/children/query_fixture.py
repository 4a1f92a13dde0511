"""Child: a store of many traces shaped exactly like ours, fast.

A template session is exported with claudetracing (real traces, spans, tags, metadata), then
its rows are cloned in SQL with new trace ids, session ids and timestamps spread over the last
`--spread-hours`: thousands of traces in seconds instead of the minutes MLflow needs to log them.
"""

from __future__ import annotations

import argparse
import base64
import sqlite3
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit

from claudetracing import config as config_mod
from claudetracing import paths
from claudetracing.export import Exporter

_TRACE_TABLES = ("trace_tags", "trace_request_metadata", "trace_metrics")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    # table_info leaves out generated columns (spans.duration_ns), which cannot be inserted.
    return [row[1] for row in conn.execute(f"PRAGMA table_info('{table}')")]


def _b64(trace_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(trace_hex)).decode()


def clone(db: Path, total: int, spread_hours: float, seed_session: str) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    infos = [dict(r) for r in conn.execute("SELECT * FROM trace_info ORDER BY timestamp_ms")]
    if not infos:
        raise SystemExit("the template export wrote no traces")
    first_ms = infos[0]["timestamp_ms"]
    per_trace: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for info in infos:
        rid = info["request_id"]
        per_trace[rid] = {
            table: [
                dict(r) for r in conn.execute(f"SELECT * FROM {table} WHERE request_id=?", (rid,))
            ]
            for table in _TRACE_TABLES
        }
        per_trace[rid]["spans"] = [
            {k: r[k] for k in _columns(conn, "spans")}
            for r in conn.execute("SELECT * FROM spans WHERE trace_id=?", (rid,))
        ]
    now_ms = int(time.time() * 1000)
    window_ms = int(spread_hours * 3600 * 1000)
    sessions = max(1, (total - len(infos) + len(infos) - 1) // len(infos))
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in ("trace_info", "spans", *_TRACE_TABLES)}
    made = 0
    for k in range(sessions):
        # Sessions start evenly over the window, newest last, so a time filter cuts cleanly.
        start_ms = now_ms - window_ms + (k * window_ms) // sessions
        delta_ms = start_ms - first_ms
        new_session = f"bench-session-{k:06d}"
        for info in infos:
            if len(infos) + made >= total:
                break
            old_rid = info["request_id"]
            new_hex = uuid.uuid4().hex
            new_rid = f"tr-{new_hex}"
            swaps = (
                (old_rid, new_rid),
                (_b64(old_rid[3:]), _b64(new_hex)),
                (seed_session, new_session),
            )

            def swap(value: Any, swaps: tuple[tuple[str, str], ...] = swaps) -> Any:
                if not isinstance(value, str):
                    return value
                for old, new in swaps:
                    value = value.replace(old, new)
                return value

            rows["trace_info"].append(
                {
                    **{k2: swap(v) for k2, v in info.items()},
                    "timestamp_ms": info["timestamp_ms"] + delta_ms,
                }
            )
            for table in _TRACE_TABLES:
                rows[table].extend(
                    {k2: swap(v) for k2, v in r.items()} for r in per_trace[old_rid][table]
                )
            for span in per_trace[old_rid]["spans"]:
                start_ns, end_ns = span["start_time_unix_nano"], span["end_time_unix_nano"]
                new_start, new_end = start_ns + delta_ms * 1_000_000, end_ns + delta_ms * 1_000_000
                content = swap(span["content"])
                content = content.replace(str(start_ns), str(new_start))
                content = content.replace(str(end_ns), str(new_end))
                rows["spans"].append(
                    {
                        **span,
                        "trace_id": new_rid,
                        "start_time_unix_nano": new_start,
                        "end_time_unix_nano": new_end,
                        "content": content,
                    }
                )
            made += 1
    with conn:
        for table, table_rows in rows.items():
            if not table_rows:
                continue
            cols = list(table_rows[0])
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
            conn.executemany(sql, [tuple(r[c] for c in cols) for r in table_rows])
    count = conn.execute("SELECT count(*) FROM trace_info").fetchone()[0]
    experiment_id = conn.execute("SELECT experiment_id FROM trace_info LIMIT 1").fetchone()[0]
    conn.close()
    return {"traces": int(count), "experiment_id": str(experiment_id)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("template", type=Path, help="the session to export and clone")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--traces", type=int, required=True)
    parser.add_argument("--spread-hours", type=float, default=48.0)
    args = parser.parse_args()
    start = time.perf_counter()
    exporter = Exporter(config_mod.load(args.root, environ={}))
    exporter.export_transcript(args.template, final=True)
    exported = time.perf_counter()
    db = paths.local_store_dir() / "mlflow.db"
    result = clone(db, args.traces, args.spread_hours, args.template.stem)
    done = time.perf_counter()
    emit(
        {
            **result,
            "export_s": exported - start,
            "clone_s": done - exported,
            "db_mb": db.stat().st_size / 1e6,
            "tracking_uri": exporter.backend.tracking_uri,
            "experiment": exporter.backend.experiment_name,
        }
    )


if __name__ == "__main__":
    main()
