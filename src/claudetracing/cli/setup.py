"""`traces init` and `traces disable`."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

import typer

from claudetracing import config as config_mod
from claudetracing import project_setup
from claudetracing.cli import app
from claudetracing.errors import TracesError


def _show_plan(plan: project_setup.Plan) -> None:
    typer.echo(f"tracking URI: {plan.tracking_uri}", err=True)
    typer.echo(f"experiment:   {plan.experiment}", err=True)
    if not plan.changes:
        typer.echo("files: nothing to change (already set up)", err=True)
    for file in plan.changes:
        diff = difflib.unified_diff(
            file.before.splitlines(),
            file.after.splitlines(),
            f"{file.path} (now)",
            f"{file.path} (after)",
            lineterm="",
        )
        typer.echo("\n".join(diff), err=True)


@app.command()
def init(
    local: Annotated[
        bool, typer.Option("--local", help="Trace into the embedded local store.")
    ] = False,
    tracking_uri: Annotated[
        str | None, typer.Option(help="Any MLflow tracking URI (http://…, sqlite:///…).")
    ] = None,
    experiment: Annotated[str | None, typer.Option(help="Experiment name or path.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the plan, write nothing.")] = False,
    verify: Annotated[bool, typer.Option(help="Write and read back a test trace.")] = True,
) -> None:
    """Set up tracing for this repository: hooks, configuration, .gitignore; then verify."""
    if local and tracking_uri:
        raise TracesError("--local and --tracking-uri exclude each other", "pass only one")
    if tracking_uri and tracking_uri.startswith("databricks"):
        raise TracesError(
            "Databricks setup goes through a Databricks CLI profile",
            "run `traces init --profile PROFILE` (OAuth; personal access tokens are refused)",
        )
    root = config_mod.find_root()
    uri = tracking_uri or config_mod.LOCAL
    plan = project_setup.plan_init(
        root, project_setup.SetupOptions(tracking_uri=uri, experiment=experiment)
    )
    _show_plan(plan)
    if dry_run:
        typer.echo("dry run: nothing written", err=True)
        return
    if plan.changes and not yes and not typer.confirm("Apply these changes?", err=True):
        raise typer.Exit(1)
    written = project_setup.apply(plan)
    for path in written:
        typer.echo(f"wrote {path}", err=True)
    if verify:
        experiment_id = project_setup.verify(config_mod.load(root))
        typer.echo(
            f"verified: a test trace was written to and read back from experiment "
            f"{plan.experiment!r} (id {experiment_id}), then removed",
            err=True,
        )
    typer.echo(
        "Tracing is on: every Claude Code turn in this repository becomes a trace.", err=True
    )
    typer.echo(
        "Next: use Claude Code as usual, then `traces status`; `traces import` backfills "
        "past sessions.",
        err=True,
    )


@app.command()
def disable(
    path: Annotated[Path | None, typer.Argument(help="Repository (default: this one).")] = None,
) -> None:
    """Remove exactly what `traces init` added; nothing else."""
    root = config_mod.find_root(path)
    removed = project_setup.disable(root)
    for item in removed:
        typer.echo(f"updated {item}", err=True)
    if not removed:
        typer.echo("nothing to remove: tracing was not set up here", err=True)
