"""Child: `traces import` of the real-transcript corpus (ours), or MLflow's process_transcript on
each of its session files (`--mlflow`), into a fresh store; report time, size and memory."""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before any import
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, rss_mb, store_counts  # noqa: E402


def _ours(projects: Path, root: Path) -> dict[str, Any]:
    from claudetracing.core import config as config_mod
    from claudetracing.core import paths
    from claudetracing.export import backfill

    try:
        from claudetracing.export.exporter import exporter_for
        from claudetracing.transcript.discovery import expand
    except ImportError:  # --before-src: code from before the factory and discovery moved
        from claudetracing.export.exporter import Exporter
        from claudetracing.export.prepare import Pipeline  # type: ignore[attr-defined]

        def exporter_for(cfg: Any) -> Any:
            return Exporter(cfg, pipeline=Pipeline(cfg))

        expand = backfill.expand  # type: ignore[attr-defined]

    t_imported = time.perf_counter()
    cfg = config_mod.load(root, environ={})
    exporter = exporter_for(cfg)
    exporter.backend.connect()
    t_setup = time.perf_counter()
    found = [p for folder in sorted(projects.iterdir()) for p in expand([folder])]
    summary = backfill.run_import(exporter, found)
    t_done = time.perf_counter()
    traces, spans = store_counts(paths.local_store_dir() / "mlflow.db")
    return {
        "import_s": t_imported - T0,
        "setup_s": t_setup - t_imported,
        "work_s": t_done - t_setup,
        "sessions": summary.sessions,
        # a count before the tally, a list of trace ids since
        "exported": summary.exported
        if isinstance(summary.exported, int)
        else len(summary.exported),
        "traces": traces,
        "spans": spans,
        "rss_mb": rss_mb(),
    }


def _mlflow(projects: Path, db: Path) -> dict[str, Any]:
    from mlflow.claude_code import tracing

    t_imported = time.perf_counter()
    tracing.setup_mlflow()
    t_setup = time.perf_counter()
    sessions = [
        p
        for folder in sorted(projects.iterdir())
        for p in sorted(folder.glob("*.jsonl"))
        if not p.name.startswith("agent-")
    ]
    failed = 0
    for path in sessions:
        try:
            if tracing.process_transcript(str(path), path.stem) is None:
                failed += 1
        except Exception:  # its parser meets shapes it does not know: count, go on
            failed += 1
    t_done = time.perf_counter()
    traces, spans = store_counts(db)
    return {
        "import_s": t_imported - T0,
        "setup_s": t_setup - t_imported,
        "work_s": t_done - t_setup,
        "sessions": len(sessions),
        "failed": failed,
        "traces": traces,
        "spans": spans,
        "rss_mb": rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("projects", type=Path)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--mlflow", type=Path, metavar="DB")
    args = parser.parse_args()
    emit(_mlflow(args.projects, args.mlflow) if args.mlflow else _ours(args.projects, args.root))


if __name__ == "__main__":
    main()
