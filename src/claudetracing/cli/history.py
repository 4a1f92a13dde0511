"""`traces import`, `traces demo` and `traces ui`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from claudetracing.cli import app
from claudetracing.core import config as config_mod
from claudetracing.core import paths
from claudetracing.core.durations import parse_moment


@app.command("import")
def import_(
    transcripts: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Transcript files or folders (default: this "
            "repository's sessions under ~/.claude/projects)."
        ),
    ] = None,
    since: Annotated[str | None, typer.Option(help="Only sessions active within, e.g. 7d.")] = None,
) -> None:
    """Backfill past sessions. Turns already traced are never traced twice."""
    from rich.progress import Progress

    from claudetracing.export import backfill
    from claudetracing.export.exporter import Exporter
    from claudetracing.export.lock import exporter_lock
    from claudetracing.export.prepare import Pipeline

    root = config_mod.find_root()
    since_s = time.time() - parse_moment(since, option="--since") if since else None
    found = (
        backfill.expand(transcripts) if transcripts else backfill.discover(root, since_s=since_s)
    )
    if not found:
        typer.echo(f"no sessions found for {root} in {paths.claude_projects_dir()}", err=True)
        return
    cfg = config_mod.load(root)
    exporter = Exporter(cfg, pipeline=Pipeline(cfg))
    with exporter_lock(wait=120) as held:
        if not held:
            typer.echo("the exporter is busy; try again in a minute", err=True)
            raise typer.Exit(1)
        with Progress(transient=True, console=None) as progress:
            task = progress.add_task("importing", total=len(found))
            summary = backfill.run_import(
                exporter, found, on_done=lambda *_: progress.advance(task)
            )
    typer.echo(
        f"{summary.sessions} session(s): {summary.exported} turn(s) exported, "
        f"{summary.already} already traced, "
        + (f"{summary.copied} copied by a resumed session, " if summary.copied else "")
        + f"{summary.pending} still in progress "
        f"→ {cfg.tracking_uri} experiment {cfg.experiment!r}",
        err=True,
    )
    if summary.skipped_lines:
        typer.echo(f"{summary.skipped_lines} unreadable transcript line(s) skipped", err=True)
    for path, reason in summary.errors.items():
        typer.echo(f"failed {path}: {reason}", err=True)
    if summary.errors:
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Run the pipeline on bundled sample sessions into the local store and show the result."""
    from claudetracing.setup.demo import run_demo

    result = run_demo()
    typer.echo(f"Sample sessions exported to {result.tracking_uri}")
    typer.echo(f"experiment {result.experiment!r}: {len(result.trace_ids)} trace(s), one per turn")
    for trace_id in result.trace_ids:
        typer.echo(f"  {trace_id}")
    typer.echo("Look at them: `traces ui` (MLflow UI on the local store).")
    typer.echo("Trace your own repository: `traces init --local` inside it.")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port for the MLflow UI.")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Open the MLflow UI on the embedded local store."""
    paths.local_store_dir().mkdir(parents=True, exist_ok=True)
    typer.echo(f"MLflow UI on http://{host}:{port} (Ctrl-C to stop)", err=True)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        paths.local_tracking_uri(),
        "--default-artifact-root",
        paths.local_artifact_uri(),
        "--host",
        host,
        "--port",
        str(port),
    ]
    raise typer.Exit(subprocess.call(command))
