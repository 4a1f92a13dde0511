"""7. Signing in to Databricks: exporter time and `databricks auth token` runs per trace against
the stand-in workspace (tests/databricks_standin), ours vs MLflow's default path, into a
workspace experiment. Both sides write the same one-turn sessions, one after another, in one
process; the fake CLI logs every run, so sign-ins are counted, not estimated."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import procs
from bench.stats import Sample, ratio
from bench.table import Row
from bench.workspace import Scale, Workspace

STORAGES = ("experiment", "uc")


@contextmanager
def _home(home: Path) -> Iterator[None]:
    """The stand-in's helpers write the profile and the CLI's token cache under `~`."""
    before = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = before


def run(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> list[Row]:
    from tests.databricks_standin.fixtures import StandinWorkspace

    sessions = 3 if scale.quick else 10
    repeats = 1 if scale.quick else 3
    root = ws.root / "signin"
    inputs = [
        ws.session(f"{i:02d}-signin", turns=1, folder=root / "inputs" / f"s{i:02d}")
        for i in range(sessions)
    ]
    measured: dict[str, tuple[Sample, Sample, Sample, Sample, list[float], list[float]]] = {}
    with _home(ws.home):
        standin = StandinWorkspace(root / "standin", ws.home)
        log("signin: starting the stand-in workspace")
        standin.start()
        try:
            standin.add_oauth_profile(standin.profile)
            cli = standin.cli_path
            env = ws.env(
                DATABRICKS_CLI_PATH=str(cli),
                PATH=f"{cli.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                MLFLOW_DISABLE_TELEMETRY="true",
                MLFLOW_MODEL_CATALOG_URI="",
            )
            standin.add_catalog("main", {standin.user: ["USE_CATALOG"]})
            standin.add_schema(
                "main",
                "bench",
                {standin.user: ["USE_SCHEMA", "CREATE_TABLE", "MODIFY", "SELECT"]},
            )
            standin.add_warehouse("wh-bench", "Bench Warehouse")
            for storage in STORAGES:
                measured[storage] = _measure(ws, standin, env, inputs, storage, repeats, root, log)
        finally:
            standin.stop()
    what = f"{sessions} one-turn sessions (~32 lines each), one process"
    rows: list[Row] = []
    for storage, (
        ours_time,
        mlflow_time,
        ours_setup,
        mlflow_setup,
        ours_in,
        mlflow_in,
    ) in measured.items():
        suffix = "" if storage == "experiment" else ".uc"
        where = (
            "experiment storage"
            if storage == "experiment"
            else "experiment linked to a Unity Catalog location"
        )
        how = (
            "ours: one OTLP request per turn plus its trace info, read back by id (ADR 16); "
            "MLflow: its UC writer, one OTLP request per span"
            if storage == "uc"
            else "ours: every trace read back and checked"
        )
        rows.append(
            Row(
                f"signin.export.per_trace{suffix}",
                f"exporter time per trace, databricks://PROFILE ({where})",
                what,
                ours_time.cell(),
                mlflow_time.cell(),
                "stand-in workspace on loopback, fake `databricks` CLI; the work of writing the "
                "traces, after setup (imports, experiment, and for ours the one sign-in: "
                f"ours {ours_setup.cell()}, MLflow {mlflow_setup.cell()}); {how}; one sign-in "
                "per process (ADR 15); MLflow: `process_transcript` per session, synchronous "
                "logging, credentials built before every call; MLflow / "
                f"ours {ratio(mlflow_time, ours_time.median).median:.1f}x",
            )
        )
        rows.append(
            Row(
                f"signin.export.signins{suffix}",
                f"`databricks auth token` runs per trace ({where})",
                what,
                _per_trace(ours_in),
                _per_trace(mlflow_in),
                "counted from the fake CLI's log of every run, median of the runs",
            )
        )
    return rows


def _measure(
    ws: Workspace,
    standin: Any,
    env: dict[str, str],
    inputs: list[Path],
    storage: str,
    repeats: int,
    root: Path,
    log: Callable[[str], None],
) -> tuple[Sample, Sample, Sample, Sample, list[float], list[float]]:
    """Both sides, `repeats` times, into fresh experiments of this storage."""
    sessions = len(inputs)
    ours_time, mlflow_time = Sample(), Sample()
    ours_setup, mlflow_setup = Sample(), Sample()
    ours_signins: list[float] = []
    mlflow_signins: list[float] = []
    tag = "" if storage == "experiment" else "-uc"
    for run_no in range(repeats):
        ours_name = f"/Shared/bench-ours{tag}-{run_no}"
        mlflow_name = f"/Shared/bench-mlflow{tag}-{run_no}"
        if storage == "uc":
            for side, name in (("ours", ours_name), ("mlflow", mlflow_name)):
                status, answer = standin.api(
                    "POST", "/api/2.0/mlflow/experiments/create", {"name": name}
                )
                assert status == 200, answer
                standin.link_to_uc(name, f"main.bench.{side}_{run_no}", "wh-bench")
        log(f"signin: {storage} run {run_no + 1}/{repeats}, ours")
        data = root / f"ours{tag}-{run_no}"
        shutil.rmtree(data, ignore_errors=True)
        standin.clear_cli_calls()
        result, _ = procs.run_json(
            [
                *ws.child("signin_ours"),
                *map(str, inputs),
                "--root",
                str(ws.repo),
                "--profile",
                standin.profile,
                "--experiment",
                ours_name,
            ],
            env={**env, "CLAUDETRACING_HOME": str(data)},
            cwd=ws.repo,
        )
        assert result["traces"] == sessions, result
        ours_time.add(result["work_s"] / sessions)
        ours_setup.add(result["import_s"] + result["setup_s"])
        ours_signins.append(standin.sign_ins() / sessions)
        log(f"signin: {storage} run {run_no + 1}/{repeats}, MLflow")
        standin.clear_cli_calls()
        result, _ = procs.run_json(
            [*ws.child("signin_mlflow"), *map(str, inputs)],
            env={
                **env,
                "MLFLOW_CLAUDE_TRACING_ENABLED": "true",
                "MLFLOW_TRACKING_URI": f"databricks://{standin.profile}",
                "MLFLOW_EXPERIMENT_NAME": mlflow_name,
                "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
                # MLflow's UC warehouse check builds a client with no profile (FACTS.md)
                "DATABRICKS_CONFIG_PROFILE": standin.profile,
                "MLFLOW_TRACING_SQL_WAREHOUSE_ID": "wh-bench",
            },
            cwd=ws.repo,
        )
        assert result["traces"] == sessions, result
        mlflow_time.add(result["work_s"] / sessions)
        mlflow_setup.add(result["import_s"] + result["setup_s"])
        mlflow_signins.append(standin.sign_ins() / sessions)
    return ours_time, mlflow_time, ours_setup, mlflow_setup, ours_signins, mlflow_signins


def _per_trace(values: list[float]) -> str:
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    return f"{median:.2f} ({ordered[0]:.2f}-{ordered[-1]:.2f}, n={len(values)})"
