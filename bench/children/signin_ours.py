"""Child: our exporter writes one-turn sessions to a stand-in workspace (databricks://PROFILE)."""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before any import
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit  # noqa: E402

from claudetracing.core import config as config_mod  # noqa: E402
from claudetracing.core import keys  # noqa: E402
from claudetracing.export import exporter as export_mod  # noqa: E402

T_IMPORTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transcripts", type=Path, nargs="+")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--experiment", required=True)
    args = parser.parse_args()
    environ = {
        keys.TRACKING_URI: f"databricks://{args.profile}",
        keys.EXPERIMENT: args.experiment,
    }
    exporter = export_mod.Exporter(config_mod.load(args.root, environ=environ))
    exporter.backend.connect()  # setup, as MLflow's `setup_mlflow`: MLflow loaded, signed in
    start = time.perf_counter()
    exported = 0
    for path in args.transcripts:  # the detached exporter's work: sessions one after another
        exported += len(exporter.export_transcript(path, final=True).exported)
    done = time.perf_counter()
    emit(
        {
            "import_s": T_IMPORTED - T0,
            "setup_s": start - T_IMPORTED,
            "work_s": done - start,
            "traces": exported,
        }
    )


if __name__ == "__main__":
    main()
