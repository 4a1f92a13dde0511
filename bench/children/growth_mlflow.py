"""Child: MLflow's `process_transcript` on N-turn sessions, repeated (it rereads the file)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit
from mlflow.claude_code import tracing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transcripts", type=Path, nargs="+")
    parser.add_argument("--repeats", type=int, required=True)
    args = parser.parse_args()
    tracing.setup_mlflow()
    # The first trace sets up MLflow's tracer: untimed, as for our exporter.
    tracing.process_transcript(str(args.transcripts[0]), args.transcripts[0].stem)
    results: dict[str, dict[str, Any]] = {str(p): {"times": []} for p in args.transcripts}
    for _ in range(args.repeats):
        for path in args.transcripts:  # round-robin, as for ours
            start = time.perf_counter()
            trace = tracing.process_transcript(str(path), path.stem)
            results[str(path)]["times"].append(time.perf_counter() - start)
            if trace is None:
                raise SystemExit(f"process_transcript returned None for {path}")
            results[str(path)]["spans"] = len(trace.data.spans)
    emit(results)


if __name__ == "__main__":
    main()
