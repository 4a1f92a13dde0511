"""Child: MLflow's Claude Code tracing (`process_transcript`) to a stand-in workspace, on its
default path: tracking URI databricks://PROFILE, credentials built by MLflow for every call."""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before any import
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit  # noqa: E402
from mlflow.claude_code import tracing  # noqa: E402

T_IMPORTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transcripts", type=Path, nargs="+")
    args = parser.parse_args()
    tracing.setup_mlflow()
    start = time.perf_counter()
    traced = 0
    for path in args.transcripts:
        if tracing.process_transcript(str(path), path.stem) is not None:
            traced += 1
    done = time.perf_counter()
    emit(
        {
            "import_s": T_IMPORTED - T0,
            "setup_s": start - T_IMPORTED,
            "work_s": done - start,
            "traces": traced,
        }
    )


if __name__ == "__main__":
    main()
