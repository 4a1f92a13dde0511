"""`traces init` and `traces disable`."""

from __future__ import annotations

import difflib
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from claudetracing.cli import app
from claudetracing.core import config as config_mod
from claudetracing.setup import init_flow, project


class Scope(str, Enum):
    shared = "shared"
    personal = "personal"


def _warn(message: str) -> None:
    typer.secho(f"warning: {message}", fg="yellow", err=True)


def _show_plan(prepared: init_flow.Prepared) -> None:
    plan = prepared.plan
    typer.echo(f"tracking URI: {plan.tracking_uri}", err=True)
    typer.echo(f"experiment:   {plan.experiment}", err=True)
    for step in prepared.remote:
        typer.echo(f"workspace:    {step}", err=True)
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
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="Databricks CLI profile (OAuth login) to trace into."),
    ] = None,
    scope: Annotated[
        Scope | None,
        typer.Option(help="Experiment for the team (shared) or only you (personal)."),
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment",
            "-e",
            help="Experiment path (workspace: inside /Shared or your folder) or name.",
        ),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Trace into the embedded local store.")
    ] = False,
    tracking_uri: Annotated[
        str | None,
        typer.Option(help="Any MLflow tracking URI (http://…, sqlite:///…, databricks://PROFILE)."),
    ] = None,
    enrichments: Annotated[
        str | None,
        typer.Option(help="Comma-separated enrichments for the team, e.g. git,files,tokens."),
    ] = None,
    uc: Annotated[
        str | None,
        typer.Option(
            "--uc",
            metavar="CATALOG.SCHEMA[.PREFIX]",
            help="Store traces in Unity Catalog tables (Databricks); the prefix defaults to the "
            "repository's name.",
        ),
    ] = None,
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            metavar="ID|auto",
            help="SQL warehouse for --uc (default auto: a running one, else one to start).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the plan, write nothing.")] = False,
    verify: Annotated[bool, typer.Option(help="Write and read back a test trace.")] = True,
) -> None:
    """Set up tracing for this repository: hooks, configuration, .gitignore; then verify."""
    from claudetracing.setup.wizard import TerminalPrompter

    request = init_flow.InitRequest(
        profile=profile,
        scope=scope.value if scope else None,
        experiment=experiment,
        local=local,
        tracking_uri=tracking_uri,
        enrichments=enrichments,
        yes=yes,
        dry_run=dry_run,
        verify=verify,
        uc=uc,
        warehouse=warehouse,
    )
    prompter = TerminalPrompter() if sys.stdin.isatty() and not yes else None
    result = init_flow.run(config_mod.find_root(), request, prompter, _show_plan, _warn)
    if dry_run:
        typer.echo("dry run: nothing written", err=True)
        return
    if not result.applied:
        typer.echo("nothing written", err=True)
        raise typer.Exit(1)
    for path in result.written:
        typer.echo(f"wrote {path}", err=True)
    uc_plan = result.prepared.uc
    if uc_plan is not None and result.experiment_id is not None:
        typer.echo(
            f"verified: experiment {result.prepared.plan.experiment!r} (id "
            f"{result.experiment_id}) stores its traces in Unity Catalog, "
            f"{uc_plan.target.location}, through SQL warehouse {uc_plan.warehouse.id}",
            err=True,
        )
    elif result.experiment_id is not None:
        typer.echo(
            f"verified: a test trace was written to and read back from experiment "
            f"{result.prepared.plan.experiment!r} (id {result.experiment_id}), then removed",
            err=True,
        )
    for what, fix in result.warnings:
        typer.secho(f"warning: {what}", fg="yellow", err=True)
        typer.echo(f"  fix: {fix}", err=True)
    typer.echo(
        "Tracing is on: every Claude Code turn in this repository becomes a trace.", err=True
    )
    typer.echo(
        "Next: use Claude Code as usual, then `traces status`; `traces import` "
        "backfills past sessions.",
        err=True,
    )


@app.command()
def disable(
    path: Annotated[Path | None, typer.Argument(help="Repository (default: this one).")] = None,
) -> None:
    """Remove exactly what `traces init` added; nothing else."""
    root = config_mod.find_root(path)
    removed = project.disable(root)
    for item in removed:
        typer.echo(f"updated {item}", err=True)
    if not removed:
        typer.echo("nothing to remove: tracing was not set up here", err=True)
