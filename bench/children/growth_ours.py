"""Child: the cost of exporting turn N when turns 1..N-1 are already exported (ledger kept)."""

# Exporting 999 turns for real takes minutes on this kind of machine, so the state "turns
# 1..N-1 exported" is made fast: our exporter runs over them with its store calls stubbed out
# (so the ledger is exactly what it writes: N-1 turn keys and the byte offset), and the store
# gets N-1 SQL copies of a turn it really exported (so searches see a store of that size).

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instrument
from clone import clone
from common import emit, store_counts

from claudetracing.core import config as config_mod
from claudetracing.core import paths
from claudetracing.export import ledger as ledger_mod
from claudetracing.export.exporter import Exporter
from claudetracing.transcript.turns import read_session


def _mark_exported(exporter: Exporter, path: Path) -> int:
    """Run the exporter over turns 1..N-1 with the store stubbed: only the ledger is written."""
    backend = exporter.backend
    with (
        mock.patch.object(backend, "find_turn", return_value=None),
        mock.patch.object(backend, "write", side_effect=lambda _t: f"tr-{uuid.uuid4().hex}"),
        mock.patch.object(backend, "confirm", return_value=None),
    ):
        report = exporter.export_transcript(path)
    return len(report.exported)


@dataclass
class Case:
    """One N-turn session with turns 1..N-1 exported, and the ledger to return to."""

    path: Path
    info: dict[str, Any]
    ledger: Path
    saved: bytes
    last: str | None = None
    times: list[float] = field(default_factory=list)
    splits: list[dict[str, float]] = field(default_factory=list)


def prepare(exporter: Exporter, path: Path, template: str) -> Case:
    whole = path.read_bytes()
    turns = read_session(path, final=True).turns
    cut = turns[-1].start_offset
    path.write_bytes(whole[:cut])
    start = time.perf_counter()
    marked = _mark_exported(exporter, path)
    if marked != len(turns) - 1:
        raise SystemExit(f"prefix export recorded {marked} of {len(turns) - 1} turns")
    backend = exporter.backend
    clone(
        paths.local_store_dir() / "mlflow.db",
        templates=[template],
        copies=marked,
        seed_session=backend.client.get_trace(template).info.trace_metadata["mlflow.trace.session"],
        spread_hours=48,
    )
    prep_s = time.perf_counter() - start
    with path.open("ab") as handle:  # Claude Code appends the new turn
        handle.write(whole[cut:])
    ledger = ledger_mod.open_session(backend.tracking_uri, backend.experiment_name, path.stem)
    info = {
        "prep_s": prep_s,
        "turns": len(turns),
        "bytes_total": len(whole),
        "bytes_new": len(whole) - cut,
    }
    return Case(path, info, ledger.path, ledger.path.read_bytes())


def measure_once(exporter: Exporter, case: Case) -> None:
    if case.last is not None:
        # Undo the previous repeat: the trace goes, the ledger is as it was after N-1.
        exporter.backend.delete([case.last])
        case.ledger.write_bytes(case.saved)
    instrument.take()
    start = time.perf_counter()
    report = exporter.export_transcript(case.path)
    case.times.append(time.perf_counter() - start)
    case.splits.append(instrument.take())
    if len(report.exported) != 1 or report.already:
        raise SystemExit(f"expected one new trace, got {report}")
    case.last = report.exported[0]


def result(exporter: Exporter, case: Case, store_traces: int) -> dict[str, Any]:
    trace = exporter.backend.client.get_trace(case.last) if case.last else None
    return {
        **case.info,
        "times": case.times,
        "parse": [s.get("parse", 0.0) for s in case.splits],
        "splits": case.splits,
        "store_traces": store_traces,
        "ledger_bytes": len(case.saved),
        "spans": len(trace.data.spans) if trace else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transcripts", type=Path, nargs="+", help="N-turn sessions (rewritten)")
    parser.add_argument("--warmup", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    args = parser.parse_args()
    instrument.install()
    exporter = Exporter(config_mod.load(args.root, environ={}))
    # A real export first: MLflow sets up its tracer on the first trace (paid before any
    # clock, as by an exporter that already wrote turns 1..N-1), and its trace is the one
    # the store is filled with. All sessions share this store, as a user's do.
    (template,) = exporter.export_transcript(args.warmup, final=True).exported
    cases = [prepare(exporter, p, template) for p in args.transcripts]
    for _ in range(args.repeats):
        # Round-robin over N, so a slow spell of the disk hits every N alike.
        for case in cases:
            measure_once(exporter, case)
    traces, _spans = store_counts(paths.local_store_dir() / "mlflow.db")
    emit({str(c.path): result(exporter, c, traces) for c in cases})


if __name__ == "__main__":
    main()
