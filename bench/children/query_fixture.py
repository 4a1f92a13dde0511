"""Child: a store of many traces shaped exactly like ours, fast."""

# A template session is exported with claudetracing (real traces, spans, tags, metadata), then
# its rows are copied in SQL (see clone.py) with timestamps spread over the last `--spread-hours`.

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clone import clone
from common import emit

from claudetracing.core import config as config_mod
from claudetracing.core import paths
from claudetracing.export.exporter import Exporter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("template", type=Path, help="the session to export and clone")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--traces", type=int, required=True)
    parser.add_argument("--spread-hours", type=float, default=48.0)
    args = parser.parse_args()
    start = time.perf_counter()
    exporter = Exporter(config_mod.load(args.root, environ={}))
    report = exporter.export_transcript(args.template, final=True)
    exported = time.perf_counter()
    db = paths.local_store_dir() / "mlflow.db"
    total = clone(
        db,
        templates=report.exported,
        copies=args.traces - len(report.exported),
        seed_session=args.template.stem,
        spread_hours=args.spread_hours,
    )
    done = time.perf_counter()
    with sqlite3.connect(db) as conn:
        experiment_id = conn.execute("SELECT experiment_id FROM trace_info LIMIT 1").fetchone()[0]
    emit(
        {
            "traces": total,
            "experiment_id": str(experiment_id),
            "export_s": exported - start,
            "clone_s": done - exported,
            "db_mb": db.stat().st_size / 1e6,
            "tracking_uri": exporter.backend.tracking_uri,
            "experiment": exporter.backend.experiment_name,
        }
    )


if __name__ == "__main__":
    main()
