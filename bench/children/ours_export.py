"""Child: export one transcript with claudetracing into a fresh store and report the costs."""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before any import
import functools  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, rss_mb, store_counts  # noqa: E402

from claudetracing import config as config_mod  # noqa: E402
from claudetracing import export as export_mod  # noqa: E402
from claudetracing import ledger as ledger_mod  # noqa: E402
from claudetracing import paths  # noqa: E402
from claudetracing.mlflow_backend import MlflowBackend  # noqa: E402
from claudetracing.trace_builder import build_trace  # noqa: E402
from claudetracing.turns import read_session  # noqa: E402

T_IMPORTED = time.perf_counter()
SPLIT: dict[str, float] = {}


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Attribute wall time to one step of the export; a few microseconds per call."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPLIT[name] = SPLIT.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def _instrument() -> None:
    export_mod.read_session = _timed("parse", export_mod.read_session)
    export_mod.build_trace = _timed("build", export_mod.build_trace)
    MlflowBackend.find_turn = _timed("find_turn", MlflowBackend.find_turn)  # type: ignore[method-assign]
    MlflowBackend.write = _timed("write_spans", MlflowBackend.write)  # type: ignore[method-assign]
    MlflowBackend.get = _timed("read_back", MlflowBackend.get)  # type: ignore[method-assign]
    ledger_mod.SessionLedger.save = _timed("ledger_save", ledger_mod.SessionLedger.save)  # type: ignore[method-assign]


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
    _instrument()
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
            "split": SPLIT,
            "exported": len(report.exported),
            "traces": traces,
            "spans": spans,
            "rss_import_mb": rss_imported,
            "rss_mb": rss_mb(),
        }
    )


if __name__ == "__main__":
    main()
