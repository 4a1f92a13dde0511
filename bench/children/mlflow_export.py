"""Child: MLflow's `process_transcript` on one transcript, as its Stop hook ran it."""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before any import
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, rss_mb, store_counts  # noqa: E402
from mlflow.claude_code import tracing  # noqa: E402

T_IMPORTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transcript", type=Path)
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    rss_imported = rss_mb()
    tracing.setup_mlflow()
    t_setup = time.perf_counter()
    trace = tracing.process_transcript(str(args.transcript), args.transcript.stem)
    t_done = time.perf_counter()
    if trace is None:
        raise SystemExit("process_transcript returned None (see .claude/mlflow/claude_tracing.log)")
    traces, spans = store_counts(args.db)
    emit(
        {
            "import_s": T_IMPORTED - T0,
            "setup_s": t_setup - T_IMPORTED,
            "work_s": t_done - t_setup,
            "traces": traces,
            "spans": spans,
            "trace_spans": len(trace.data.spans),
            "rss_import_mb": rss_imported,
            "rss_mb": rss_mb(),
        }
    )


if __name__ == "__main__":
    main()
