"""2. Export throughput: build and store every trace of a long transcript, in a fresh process."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import machine, procs
from bench.stats import Sample, ratio, seconds
from bench.table import Row
from bench.workspace import ExportSize, Scale, Workspace, describe

SPLIT_ORDER = ("parse", "build", "find_turn", "write_spans", "read_back", "ledger_save")
SPLIT_NAMES = {
    "parse": "parse",
    "build": "build span trees",
    "find_turn": "turn lookups (find_turn per turn, or session_turns per session)",
    "write_spans": "MLflow span writes",
    "read_back": "read-back checks",
    "ledger_save": "ledger saves",
}


@dataclass
class Side:
    """All runs of one tool on one input."""

    work: Sample = field(default_factory=Sample)
    process: Sample = field(default_factory=Sample)
    startup: Sample = field(default_factory=Sample)  # import + store setup
    rss: Sample = field(default_factory=lambda: Sample(unit="MB"))
    rss_import: Sample = field(default_factory=lambda: Sample(unit="MB"))
    results: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: dict[str, Any], wall: float) -> None:
        self.results.append(result)
        self.work.add(result["work_s"])
        self.process.add(wall)
        self.startup.add(result["import_s"] + result.get("setup_s", 0.0))
        self.rss.add(result["rss_mb"])
        if "rss_import_mb" in result:
            self.rss_import.add(result["rss_import_mb"])

    @property
    def last(self) -> dict[str, Any]:
        return self.results[-1]

    def split_note(self) -> str:
        parts = []
        for key in SPLIT_ORDER:
            values = [r.get("split", {}).get(key) for r in self.results]
            known = [v for v in values if v is not None]
            if known:
                parts.append(f"{SPLIT_NAMES[key]} {seconds(statistics.median(known))}")
        return ", ".join(parts)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _slug(size: ExportSize) -> str:
    return size.label.strip("~").split()[0].lower()


def run(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    startup_ours, startup_mlflow = Sample(), Sample()
    split_ours: list[str] = []
    per_span_cost: list[float] = []
    for size in scale.export_sizes:
        slug = _slug(size)
        log(f"export: generating {size.label} ({size.turns} turns)")
        transcript = ws.session(
            f"export-{slug}",
            turns=size.turns,
            tools_per_turn=size.tools_per_turn,
            output_chars=size.output_chars,
            subagent_every=size.subagent_every,
        )
        what = describe(transcript, size.turns)
        skip_ours = size.label == scale.big_label and not scale.big
        repeats = scale.export_repeats
        # One run of ours on the biggest input: it alone takes minutes (see export.split).
        ours_repeats = 1 if size.label == scale.big_label else repeats
        ours, mlflow, parse = Side(), Side(), Side()
        for rep in range(repeats):
            log(f"export: {size.label} run {rep + 1}/{repeats}")
            parse.add(
                *procs.run_json(
                    [
                        *ws.child("ours_export"),
                        str(transcript),
                        "--root",
                        str(ws.repo),
                        "--parse-only",
                    ],
                    env=ws.env(CLAUDETRACING_HOME=str(ws.root / "parse-home")),
                    cwd=ws.repo,
                )
            )
            if not skip_ours and rep < ours_repeats:
                home = ws.root / f"export-ours-{slug}-{rep}"
                ws.fresh_store(home)
                ours.add(
                    *procs.run_json(
                        [*ws.child("ours_export"), str(transcript), "--root", str(ws.repo)],
                        env=ws.env(CLAUDETRACING_HOME=str(home)),
                        cwd=ws.repo,
                    )
                )
                shutil.rmtree(home, ignore_errors=True)  # big stores would fill the disk
            folder = ws.root / f"export-mlflow-{slug}-{rep}"
            db = ws.fresh_db(folder)
            mlflow.add(
                *procs.run_json(
                    [*ws.child("mlflow_export"), str(transcript), "--db", str(db)],
                    env=ws.mlflow_env(db),
                    cwd=folder,
                )
            )
            shutil.rmtree(folder, ignore_errors=True)
        startup_mlflow.values.extend(mlflow.startup.values)
        parse_last = parse.last
        if ours.results:
            startup_ours.values.extend(ours.startup.values)
            split_ours.append(f"{size.label}: {ours.split_note()}")
            per_span_cost.append(ours.work.median / max(1, ours.last["spans"]))
        rows.extend(
            _size_rows(size, slug, what, ours, mlflow, parse_last, skip_ours, per_span_cost)
        )
        if not skip_ours:
            rows.extend(_import_rows(ws, slug, what, transcript, ours_repeats, log))
        rows.append(
            Row(
                f"export.{slug}.parse",
                "ours without MLflow: parse the transcript + build every span tree",
                what,
                parse.work.cell(),
                "n/a (not separable in process_transcript)",
                f"{_n(parse_last['traces'], 'turn')}, {parse_last['spans']:,} spans; peak RSS "
                f"{parse.rss.cell()}",
            )
        )
    rows.insert(
        0,
        Row(
            "export.startup",
            "import + store setup in a fresh process (before any work)",
            "all export runs pooled",
            startup_ours.cell(),
            startup_mlflow.cell(),
            "ours: import claudetracing, `Exporter(config)` + `backend.connect()` (imports "
            "mlflow, opens sqlite, creates the experiment); MLflow: `import "
            "mlflow.claude_code.tracing` + `setup_mlflow()`",
        ),
    )
    if split_ours:
        rows.append(
            Row(
                "export.split",
                "where our export time goes (median of runs)",
                "per input size",
                "see notes",
                "n/a",
                "; ".join(split_ours),
            )
        )
    return rows


def _size_rows(
    size: ExportSize,
    slug: str,
    what: str,
    ours: Side,
    mlflow: Side,
    parse: dict[str, Any],
    skip_ours: bool,
    per_span_cost: list[float],
) -> list[Row]:
    ml = mlflow.last
    ml_note = (
        f"MLflow: 1 trace / {ml['trace_spans']} spans (the LAST turn only; the other "
        f"{_n(parse['traces'] - 1, 'turn')} are not traced)"
    )
    if skip_ours:
        estimate = parse["spans"] * (per_span_cost[-1] if per_span_cost else 0.0)
        skipped = (
            f"n/a (skipped: {parse['spans']:,} spans x the per-span export time measured "
            f"above = ~{seconds(estimate)} estimated; run with --big)"
        )
        ours_work = ours_per = ours_proc = ours_rss = skipped
        ours_note = f"ours would write {_n(parse['traces'], 'trace')} / {parse['spans']:,} spans"
    else:
        last = ours.last
        ours_work, ours_proc, ours_rss = ours.work.cell(), ours.process.cell(), ours.rss.cell()
        ours_per = ratio(ours.work, last["traces"]).cell()
        ours_note = f"ours: {_n(last['traces'], 'trace')} / {last['spans']:,} spans (every turn)"
    rss_note = (
        f"after imports: ours {ours.rss_import.cell() if ours.rss_import.n else 'n/a'}, "
        f"MLflow {mlflow.rss_import.cell()}"
    )
    return [
        Row(
            f"export.{slug}.work",
            "build + store all traces (the export call, after import and setup)",
            what,
            ours_work,
            mlflow.work.cell(),
            f"{ours_note}; {ml_note}",
        ),
        Row(
            f"export.{slug}.per_trace",
            "the same per trace produced",
            what,
            ours_per,
            ratio(mlflow.work, 1).cell(),
            "MLflow rereads and parses the whole file for its one trace",
        ),
        Row(
            f"export.{slug}.process",
            "whole export process, spawn to exit (imports, setup, work, exit flush)",
            what,
            ours_proc,
            mlflow.process.cell(),
            "fresh interpreter per run, store copied from a migrated empty template",
        ),
        Row(
            f"export.{slug}.rss",
            "peak RSS of the export process (getrusage ru_maxrss, reported by the child)",
            what,
            ours_rss,
            mlflow.rss.cell(),
            rss_note,
        ),
    ]


def _rate(rates: list[float]) -> str:
    return (
        f"{statistics.median(rates):.1f} turns/s "
        f"({min(rates):.1f}-{max(rates):.1f}, n={len(rates)})"
    )


def _import_rows(
    ws: Workspace,
    slug: str,
    what: str,
    transcript: Path,
    repeats: int,
    log: Callable[[str], None],
) -> list[Row]:
    """`traces import` of the session: redaction and enrichments on, every turn, fresh store.

    With `--before-src` the same child also runs on that code, alternating with ours run by run
    so a slow spell of the machine hits both alike."""
    projects = ws.inputs / f"import-{slug}"
    shutil.copytree(transcript.parent, projects / "project")
    old = time.time() - 86_400  # a session that is over: its last turn is exported as it is
    for path in projects.rglob("*.jsonl"):
        os.utime(path, (old, old))
    sides = {"ours": ws.env} | ({"before": ws.before_env} if ws.before_src else {})
    rates: dict[str, list[float]] = {side: [] for side in sides}
    last: dict[str, dict[str, Any]] = {}
    for rep in range(repeats):
        for side, env in sides.items():
            log(f"export: {slug} import ({side}) run {rep + 1}/{repeats}")
            home = ws.root / f"import-{side}-{slug}-{rep}"
            ws.fresh_store(home)
            result, _ = procs.run_json(
                [*ws.child("corpus_import"), str(projects), "--root", str(ws.repo)],
                env=env(CLAUDETRACING_HOME=str(home)),
                cwd=ws.repo,
            )
            shutil.rmtree(home, ignore_errors=True)
            rates[side].append(result["exported"] / result["work_s"])
            last[side] = result
    ours = last["ours"]
    rows = [
        Row(
            f"export.{slug}.import",
            "`traces import` of the session: turns stored per second of work",
            what,
            _rate(rates["ours"]),
            "n/a (MLflow has no backfill)",
            f"`backfill.run_import` with redaction and the built-in enrichments into a fresh "
            f"sqlite store: {_n(ours['exported'], 'trace')} / {ours['spans']:,} spans",
        )
    ]
    if ws.before_src:
        before = last["before"]
        speedup = statistics.median(rates["ours"]) / statistics.median(rates["before"])
        rows.append(
            Row(
                f"export.{slug}.import.before",
                "the same import, on the code at `--before-src`",
                what,
                _rate(rates["before"]),
                "n/a",
                f"{ws.before_src.parent.name} at {machine.commit_of(ws.before_src)}: "
                f"{_n(before['exported'], 'trace')} / {before['spans']:,} spans; runs "
                f"alternated with the row above; this checkout x{speedup:.2f} its turns/s",
            )
        )
    return rows
