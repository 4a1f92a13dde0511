"""6. Import of real transcripts: the public corpus the tests use (tests/corpus/real)."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench import machine, procs
from bench.stats import Sample, ratio
from bench.table import Row
from bench.workspace import Scale, Workspace

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "real"


def _copy(target: Path) -> tuple[int, int]:
    """The corpus as a Claude projects folder whose sessions are over; (files, bytes)."""
    shutil.copytree(CORPUS, target, ignore=shutil.ignore_patterns("*.md", "LICENSES"))
    old = time.time() - 86_400
    files = size = 0
    for path in target.rglob("*"):
        os.utime(path, (old, old))
        if path.suffix == ".jsonl":
            files += 1
            size += path.stat().st_size
    return files, size


def run(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> list[Row]:
    projects = ws.inputs / "corpus"
    files, size = _copy(projects)
    mb = size / 1e6
    what = f"{len(list(projects.iterdir()))} real projects, {files} files, {mb:.1f} MB"
    ours_work, ours_rss, turns_s, mb_s = Sample(), Sample(unit="MB"), Sample(), Sample()
    ml_work, ml_rss = Sample(), Sample(unit="MB")
    ours: dict[str, float] = {}
    ml: dict[str, float] = {}
    before_rates: list[float] = []
    for rep in range(scale.export_repeats):
        log(f"corpus: import run {rep + 1}/{scale.export_repeats}")
        if ws.before_src:  # the same import on older code, alternating with ours run by run
            home = ws.root / f"corpus-before-{rep}"
            ws.fresh_store(home)
            before, _ = procs.run_json(
                [*ws.child("corpus_import"), str(projects), "--root", str(ws.repo)],
                env=ws.before_env(CLAUDETRACING_HOME=str(home)),
                cwd=ws.repo,
            )
            before_rates.append(before["exported"] / before["work_s"])
            shutil.rmtree(home, ignore_errors=True)
        home = ws.root / f"corpus-ours-{rep}"
        ws.fresh_store(home)
        ours, _ = procs.run_json(
            [*ws.child("corpus_import"), str(projects), "--root", str(ws.repo)],
            env=ws.env(CLAUDETRACING_HOME=str(home)),
            cwd=ws.repo,
        )
        ours_work.add(ours["work_s"])
        ours_rss.add(ours["rss_mb"])
        turns_s.add(ours["exported"] / ours["work_s"])
        mb_s.add(mb / ours["work_s"])
        shutil.rmtree(home, ignore_errors=True)
        folder = ws.root / f"corpus-mlflow-{rep}"
        db = ws.fresh_db(folder)
        ml, _ = procs.run_json(
            [*ws.child("corpus_import"), str(projects), "--mlflow", str(db)],
            env=ws.mlflow_env(db),
            cwd=folder,
        )
        ml_work.add(ml["work_s"])
        ml_rss.add(ml["rss_mb"])
        shutil.rmtree(folder, ignore_errors=True)
    rows = [
        Row(
            "corpus.import",
            "backfill every session of the corpus (work, after imports and setup)",
            what,
            ours_work.cell(),
            ml_work.cell(),
            f"ours: {ours['exported']} traces / {ours['spans']:,} spans, every turn; MLflow: "
            f"{ml['traces']} traces (one per session file, its last turn), "
            f"{ml['failed']} of {ml['sessions']} files not traced",
        ),
        Row(
            "corpus.rate",
            "import rate: turns per second, MB of transcript per second",
            what,
            f"{turns_s.median:.1f} turns/s, {mb_s.median:.2f} MB/s",
            f"{ratio(ml_work, max(1, ml['traces'])).cell()} per trace",
            "medians over runs",
        ),
        Row(
            "corpus.rss",
            "peak RSS of the import process",
            what,
            ours_rss.cell(),
            ml_rss.cell(),
            "getrusage ru_maxrss, reported by the child",
        ),
    ]
    if ws.before_src:
        rows.append(
            Row(
                "corpus.rate.before",
                "the same import on the code at `--before-src`: turns per second",
                what,
                f"{statistics.median(before_rates):.1f} turns/s "
                f"({min(before_rates):.1f}-{max(before_rates):.1f}, n={len(before_rates)})",
                "n/a",
                f"{machine.commit_of(ws.before_src)}; runs alternated with ours; this checkout "
                f"x{turns_s.median / statistics.median(before_rates):.2f} its turns/s",
            )
        )
    return rows
