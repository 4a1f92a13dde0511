"""Child: export one transcript with claudetracing into a fresh store and report the costs."""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before any import
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instrument  # noqa: E402
from common import emit, rss_mb, store_counts  # noqa: E402

from claudetracing.core import config as config_mod  # noqa: E402
from claudetracing.core import paths  # noqa: E402
from claudetracing.export import exporter as export_mod  # noqa: E402
from claudetracing.trace.builder import build_trace  # noqa: E402
from claudetracing.transcript.turns import read_session  # noqa: E402

T_IMPORTED = time.perf_counter()


def _parse_only(path: Path) -> dict[str, Any]:
    """What the export does before MLflow is involved: read the turns, build the span trees."""
    start = time.perf_counter()
    session = read_session(path, final=True)
    parsed = time.perf_counter()
    spans = sum(len(build_trace(turn, "bench@example.com").root.walk()) for turn in session.turns)
    done = time.perf_counter()
    return {
        "import_s": T_IMPORTED - T0,
        "work_s": done - start,
        "split": {"parse": parsed - start, "build": done - parsed},
        "traces": len(session.turns),
        "spans": spans,
        "rss_mb": rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transcript", type=Path)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--parse-only", action="store_true")
    args = parser.parse_args()
    if args.parse_only:
        emit(_parse_only(args.transcript))
        return
    instrument.install()
    rss_imported = rss_mb()
    exporter = export_mod.Exporter(config_mod.load(args.root, environ={}))
    exporter.backend.connect()
    t_setup = time.perf_counter()
    report = exporter.export_transcript(args.transcript, final=True)
    t_done = time.perf_counter()
    traces, spans = store_counts(paths.local_store_dir() / "mlflow.db")
    emit(
        {
            "import_s": T_IMPORTED - T0,
            "setup_s": t_setup - T_IMPORTED,
            "work_s": t_done - t_setup,
            "split": instrument.take(),
            "exported": len(report.exported),
            "traces": traces,
            "spans": spans,
            "rss_import_mb": rss_imported,
            "rss_mb": rss_mb(),
        }
    )


if __name__ == "__main__":
    main()
