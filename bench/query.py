"""5. Query: the last 24 hours out of 10,000 traces shaped like ours."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import procs
from bench.stats import Sample
from bench.table import Row
from bench.workspace import Scale, Workspace

HOURS = 24
SPREAD_HOURS = 48  # fixture timestamps cover two days, so the filter keeps about half


@dataclass(frozen=True)
class Fixture:
    tracking_uri: str
    experiment: str
    experiment_id: str
    traces: int
    db_mb: float
    build_s: float


def ours_search_argv(ws: Workspace, fixture: Fixture) -> list[str] | None:
    """Our side of the comparison: `traces search` over the fixture, every trace of the
    window as JSON; timed whole-process with CLAUDETRACING_TRACKING_URI at the fixture."""
    return [
        str(ws.traces),
        "search",
        "--experiment",
        fixture.experiment,
        "--hours",
        str(HOURS),
        "-f",
        "json",
        "--limit",
        "100000",
    ]


def ours_usage_argv(ws: Workspace, fixture: Fixture) -> list[str]:
    """`traces usage` over the same window: the lead's question, answered from the tags."""
    return [
        str(ws.traces),
        "usage",
        "--experiment",
        fixture.experiment,
        "--since",
        f"{HOURS}h",
        "--by",
        "day",
        "-f",
        "json",
    ]


def build_fixture(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> Fixture:
    template = ws.session(
        "query-template", turns=scale.query_template_turns, tools_per_turn=3, output_chars=500
    )
    home = ws.root / "query-home"
    ws.fresh_store(home)
    log(f"query: building a store of {scale.query_traces:,} traces")
    result, wall = procs.run_json(
        [
            *ws.child("query_fixture"),
            str(template),
            "--root",
            str(ws.repo),
            "--traces",
            str(scale.query_traces),
            "--spread-hours",
            str(SPREAD_HOURS),
        ],
        env=ws.env(CLAUDETRACING_HOME=str(home)),
        cwd=ws.repo,
    )
    return Fixture(
        tracking_uri=result["tracking_uri"],
        experiment=result["experiment"],
        experiment_id=result["experiment_id"],
        traces=result["traces"],
        db_mb=result["db_mb"],
        build_s=wall,
    )


def _ours(ws: Workspace, scale: Scale, fixture: Fixture, argv: list[str] | None = None) -> str:
    argv = argv or ours_search_argv(ws, fixture)
    if argv is None:
        return "n/a (traces search not built yet)"
    env = ws.env(CLAUDETRACING_TRACKING_URI=fixture.tracking_uri)
    sample = Sample()
    for _ in range(scale.query_repeats):
        sample.add(procs.timed(argv, env=env, cwd=ws.repo))
    return sample.cell()


def run(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> list[Row]:
    fixture = build_fixture(ws, scale, log)
    log("query: MLflow search_traces, warm in one process, then whole processes")
    argv = [
        *ws.child("query_mlflow"),
        "--tracking-uri",
        fixture.tracking_uri,
        "--experiment-id",
        fixture.experiment_id,
        "--hours",
        str(HOURS),
    ]
    env = ws.env(MLFLOW_DISABLE_TELEMETRY="true")
    result, _ = procs.run_json([*argv, "--repeats", str(scale.query_repeats)], env=env, cwd=ws.repo)
    cold = Sample()
    for _ in range(scale.query_cold_runs):
        cold_result, wall = procs.run_json(
            [*argv, "--repeats", "0", "--cold"], env=env, cwd=ws.repo
        )
        cold.add(wall)
    page: dict[str, Any] = result["page_all"]
    newest: dict[str, Any] = result["newest_100"]
    what = (
        f"{fixture.traces:,} traces over {SPREAD_HOURS} h ({fixture.db_mb:.0f} MB sqlite, built "
        f"in {fixture.build_s:.0f} s)"
    )
    ours = _ours(ws, scale, fixture)
    # Ours is a command, timed whole-process: its figure belongs in the .process row.
    ours_warm = ours if ours.startswith("n/a") else "n/a (timed whole-process, next row)"
    return [
        Row(
            "query.hours24",
            f"all traces of the last {HOURS} h, every page (trace infos, no spans)",
            what,
            ours_warm,
            Sample(page["times"]).cell(),
            f"MLflow: `MlflowClient.search_traces(filter_string='timestamp_ms > ...', "
            f"max_results=500, include_spans=False)` paged, newest first; {page['found']:,} "
            "traces; warm process (import and first query excluded)",
        ),
        Row(
            "query.hours24.process",
            "the same listing as a command would run it: whole process, spawn to exit",
            what,
            ours,
            cold.cell(),
            f"MLflow: a fresh `python` that imports mlflow and pages through once "
            f"({cold_result['found']:,} traces); what a CLI built on MLflow's client pays",
        ),
        Row(
            "query.usage24",
            f"tokens and cost of the last {HOURS} h, grouped by day: whole process",
            what,
            _ours(ws, scale, fixture, ours_usage_argv(ws, fixture)),
            cold.cell(),
            "ours: `traces usage --since 24h --by day -f json` (sums the tokens.* and cost.usd "
            "tags); MLflow has no usage command: its figure is the listing above, which any "
            "aggregation over MLflow's client must first pay",
        ),
        Row(
            "query.newest100",
            f"newest 100 traces of the last {HOURS} h with their spans",
            what,
            ours_warm,
            Sample(newest["times"]).cell(),
            f"MLflow: `mlflow.search_traces(..., max_results=100)` to a DataFrame; "
            f"{newest['found']} rows",
        ),
    ]
