"""3. Growth: the cost of exporting turn N of a session as N grows (ours should stay flat)."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from bench import procs
from bench.stats import Sample, seconds
from bench.table import Row
from bench.workspace import Scale, Workspace, count_lines

# Two tool calls a turn, no subagents: every turn N has the same shape, only N changes.
TOOLS_PER_TURN = 2


def run(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> list[Row]:
    warmup = ws.session("growth-warmup", turns=1, tools_per_turn=TOOLS_PER_TURN, subagent_every=0)
    sources, own = {}, {}
    for n in scale.growth_turns:
        sources[n] = ws.session(
            f"growth-{n}", turns=n, tools_per_turn=TOOLS_PER_TURN, subagent_every=0
        )
        # Ours rewrites its copy (cut to N-1 turns, then turn N appended); MLflow only reads.
        own[n] = ws.root / "growth-ours" / sources[n].name
        own[n].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sources[n], own[n])
    turns = ", ".join(str(n) for n in scale.growth_turns)
    log(f"growth: ours, sessions of {turns} turns, {scale.growth_repeats} repeats each")
    home = ws.root / "growth-home"
    ws.fresh_store(home)
    ours_all, _ = procs.run_json(
        [
            *ws.child("growth_ours"),
            *(str(own[n]) for n in scale.growth_turns),
            "--warmup",
            str(warmup),
            "--root",
            str(ws.repo),
            "--repeats",
            str(scale.growth_repeats),
        ],
        env=ws.env(CLAUDETRACING_HOME=str(home)),
        cwd=ws.repo,
    )
    log(f"growth: MLflow, the same sessions, {scale.growth_repeats} repeats each")
    folder = ws.root / "growth-mlflow"
    db = ws.fresh_db(folder)
    ml_all, _ = procs.run_json(
        [
            *ws.child("growth_mlflow"),
            *(str(sources[n]) for n in scale.growth_turns),
            "--repeats",
            str(scale.growth_repeats),
        ],
        env=ws.mlflow_env(db),
        cwd=folder,
    )
    store = next(iter(ours_all.values()))["store_traces"]
    rows: list[Row] = []
    medians: dict[int, tuple[float, float]] = {}
    for n in scale.growth_turns:
        ours_result, ml_result = ours_all[str(own[n])], ml_all[str(sources[n])]
        ours, mlflow = Sample(ours_result["times"]), Sample(ml_result["times"])
        parse = Sample(ours_result["parse"])
        medians[n] = (ours.median, mlflow.median)
        size_mb = ours_result["bytes_total"] / 1e6
        rows.append(
            Row(
                f"growth.{n}",
                f"export turn {n} when turns 1..{n - 1} are already exported",
                f"{n:,} turn{'' if n == 1 else 's'}, {count_lines(sources[n]):,} lines, "
                f"{size_mb:.2f} MB; turn {n} "
                f"is {ours_result['bytes_new'] / 1000:.1f} kB",
                ours.cell(),
                mlflow.cell(),
                f"ours: 1 trace / {ours_result['spans']} spans from the bytes after the ledger "
                f"offset, of which parsing {seconds(parse.median)}; ledger "
                f"{ours_result['ledger_bytes']:,} bytes (turns 1..{n - 1} marked exported "
                f"untimed in {seconds(ours_result['prep_s'])}). MLflow: 1 trace / "
                f"{ml_result['spans']} spans, rereads the whole file",
            )
        )
    first, last = min(medians), max(medians)
    if first != last:
        ours_x = medians[last][0] / medians[first][0]
        ml_x = medians[last][1] / medians[first][1]
        rows[-1].notes += f". Turn {last} vs turn {first}: ours x{ours_x:.2f}, MLflow x{ml_x:.2f}"
    rows[0].notes += (
        f". All sessions share one store of {store:,} traces (N-1 SQL copies of a real exported "
        "turn per session); repeats run round-robin over N"
    )
    return rows
