"""Child: the cost of exporting turn N when turns 1..N-1 are already exported (ledger kept)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit

from claudetracing import config as config_mod
from claudetracing import ledger as ledger_mod
from claudetracing.export import Exporter
from claudetracing.turns import read_session


def measure(exporter: Exporter, path: Path, repeats: int) -> dict[str, Any]:
    """Export turns 1..N-1 untimed, append turn N as Claude Code would, time its export."""
    whole = path.read_bytes()
    turns = read_session(path, final=True).turns
    cut = turns[-1].start_offset
    path.write_bytes(whole[:cut])
    start = time.perf_counter()
    before = exporter.export_transcript(path)
    prep_s = time.perf_counter() - start
    if len(before.exported) != len(turns) - 1:
        raise SystemExit(f"prefix export wrote {len(before.exported)} of {len(turns) - 1} turns")
    with path.open("ab") as handle:
        handle.write(whole[cut:])

    backend = exporter.backend
    ledger_file = ledger_mod.open_session(backend.tracking_uri, backend.experiment_name, path.stem)
    saved = ledger_file.path.read_bytes() if ledger_file.path.exists() else None
    times: list[float] = []
    last: str | None = None
    for _ in range(repeats):
        if last is not None:
            # Undo the previous repeat: the trace goes, the ledger is as it was after N-1.
            backend.delete([last])
            if saved is None:
                ledger_file.path.unlink(missing_ok=True)
            else:
                ledger_file.path.write_bytes(saved)
        start = time.perf_counter()
        report = exporter.export_transcript(path)
        times.append(time.perf_counter() - start)
        if len(report.exported) != 1 or report.already:
            raise SystemExit(f"expected one new trace, got {report}")
        last = report.exported[0]
    return {
        "times": times,
        "prep_s": prep_s,
        "turns": len(turns),
        "bytes_total": len(whole),
        "bytes_new": len(whole) - cut,
        "spans": len(backend.client.get_trace(last).data.spans) if last else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transcripts", type=Path, nargs="+", help="N-turn sessions (rewritten)")
    parser.add_argument("--warmup", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--repeats", type=int, required=True)
    args = parser.parse_args()
    exporter = Exporter(config_mod.load(args.root, environ={}))
    # MLflow sets up its tracer on the first trace: pay that before any clock, as a running
    # exporter that already wrote turns 1..N-1 has. All sessions share one store, like a
    # user's; each is a separate session (its own file name and ids).
    exporter.export_transcript(args.warmup, final=True)
    emit({str(p): measure(exporter, p, args.repeats) for p in args.transcripts})


if __name__ == "__main__":
    main()
