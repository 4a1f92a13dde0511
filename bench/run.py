"""Run the benchmarks, print one markdown comparison table and write it to RESULTS.md."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import corpus, export, growth, hook, machine, query, signin, startup
from bench.table import Row, render
from bench.workspace import Scale, Workspace

REPO = Path(__file__).resolve().parent.parent
Suite = Callable[[Workspace, Scale, Callable[[str], None]], list[Row]]
SUITES: dict[str, Suite] = {
    "startup": startup.run,
    "hook": hook.run,
    "export": export.run,
    "growth": growth.run,
    "query": query.run,
    "corpus": corpus.run,
    "signin": signin.run,
}

HOW_TO_READ = """\
Each figure is the **median (min-max, n=number of runs)**; rows of 20 or more runs (the hook's)
also give their 95th percentile (`p95`). Times are wall-clock; "spawn to exit"
means the whole process as its caller sees it. MLflow is `mlflow.claude_code.tracing`
(`setup_mlflow()` + `process_transcript()`, the code of its pre-3.13 Stop hook) writing to a
sqlite store, with telemetry and the remote price catalog switched off (our exporter switches
the catalog off too) and async trace logging at its default. Inputs are synthetic transcripts
from `claudetracing.setup.sample_sessions.write_synthetic_session`, generated at run time in a
scratch folder. See bench/README.md for what each row measures.
"""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny inputs, few repeats")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these suites (repeatable or comma-separated): {', '.join(SUITES)}",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "RESULTS.md", help="where to write results"
    )
    parser.add_argument(
        "--big",
        action="store_true",
        help="also store every trace of the ~100k-line session with ours (adds ~15 minutes)",
    )
    parser.add_argument(
        "--before-src",
        type=Path,
        default=None,
        metavar="DIR",
        help="also run the import rows on the code in DIR (another checkout's src folder, e.g. "
        "a `git worktree` of an older commit), interleaved with this one's runs",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="where inputs and stores go (default: the system temp folder; stores there pay "
        "that disk's fsync latency, as users' stores do)",
    )
    return parser.parse_args(argv)


def _selected(only: list[str]) -> list[str]:
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SUITES))
    if unknown:
        raise SystemExit(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    return [n for n in SUITES if not names or n in names]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    names = _selected(args.only)
    scale = Scale.make(quick=args.quick, big=args.big)
    began = time.perf_counter()
    load_at_start = machine.load_average()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", file=sys.stderr, flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="claudetracing-bench-", dir=args.scratch))
    before = args.before_src.resolve() if args.before_src else None
    if before is not None and not (before / "claudetracing").is_dir():
        raise SystemExit(f"--before-src {before} holds no claudetracing package")
    ws = Workspace(scratch, before_src=before)
    rows: list[Row] = []
    failed = False
    try:
        log(f"scratch folder {scratch}; preparing a migrated template store")
        ws.prepare()
        for name in names:
            try:
                rows.extend(SUITES[name](ws, scale, log))
            except Exception as exc:  # one broken suite must not hide the others' figures
                failed = True
                traceback.print_exc(file=sys.stderr)
                reason = f"n/a (failed: {type(exc).__name__}: {str(exc)[:200]})"
                rows.append(Row(f"{name}.error", f"the {name} suite failed", "-", reason, reason))
        info = machine.describe(REPO, scratch, load_at_start)
    finally:
        if args.keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    table = render(rows)
    elapsed = time.perf_counter() - began
    sys.stdout.write(table)
    sys.stdout.flush()
    command = "python -m bench" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    if before is not None:
        info["--before-src"] = f"{before} ({machine.commit_of(before)})"
    _write(args.out, table, info, command, elapsed)
    log(f"done in {elapsed:.0f} s; wrote {args.out}")
    return 1 if failed else 0


def _write(out: Path, table: str, info: dict[str, str], command: str, elapsed: float) -> None:
    lines = ["# claudetracing benchmark results", ""]
    lines += [f"Command: `{command}` (total run time {elapsed:.0f} s)", "", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += ["", "## Results", "", HOW_TO_READ, table]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
