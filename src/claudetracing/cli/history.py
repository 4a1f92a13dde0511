"""`traces import`, `traces demo` and `traces ui`."""

from __future__ import annotations

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

    from claudetracing.cli.boundary import write_report
    from claudetracing.export.backfill import import_sessions

    root = config_mod.find_root()
    since_s = time.time() - parse_moment(since, option="--since") if since else None
    with Progress(transient=True, console=None) as progress:
        task = progress.add_task("importing", total=None)
        tally, destination = import_sessions(
            root,
            transcripts,
            since_s=since_s,
            on_found=lambda n: progress.update(task, total=n),
            on_done=lambda *_: progress.advance(task),
            on_bug=lambda exc: f"details in {write_report(exc)}",
        )
    if not tally.sessions:
        typer.echo(f"no sessions found for {root} in {paths.claude_projects_dir()}", err=True)
        return
    for line in tally.lines(destination):
        typer.echo(line, err=True)
    if tally.troubled:
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Run the pipeline on bundled sample sessions into the local store and show the result."""
    from claudetracing.setup.demo import run_demo

    result = run_demo()
    typer.echo(f"Sample sessions exported to {result.tracking_uri}")
    typer.echo(f"experiment {result.experiment!r}: {len(result.trace_ids)} trace(s), one per turn")
    if result.repository is not None:
        typer.echo(f"tagged with the git history of {result.repository} (branch@commit, files):")
    else:
        typer.echo("git could not run here: the traces have no git tags")
    for trace in result.traces:
        typer.echo(f"  {trace.summary()}")
    typer.echo("Look at them: `traces ui` (MLflow UI on the local store).")
    typer.echo("Trace your own repository: `traces init --local` inside it.")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port for the MLflow UI.", min=1, max=65535)] = 5000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    workers: Annotated[
        int, typer.Option(min=1, help="Server worker processes (one serves one person well).")
    ] = 1,
) -> None:
    """Open the MLflow UI on the embedded local store. Ctrl-C (or closing the terminal) stops
    the server and all its processes."""
    from claudetracing.setup.ui_server import serve

    typer.echo(f"MLflow UI on http://{host}:{port} (Ctrl-C to stop)", err=True)
    raise typer.Exit(serve(host, port, workers))
