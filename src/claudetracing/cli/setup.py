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
from claudetracing.core import settings_scopes
from claudetracing.core.errors import TracesError
from claudetracing.setup import init_flow, project, scope_report, user_scope


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
    _show_files(plan.changes)


def _show_files(changes: list[project.FilePlan]) -> None:
    if not changes:
        typer.echo("files: nothing to change (already set up)", err=True)
    for file in changes:
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
    user: Annotated[
        bool,
        typer.Option(
            "--user",
            help="Trace every repository you open: write Claude Code's user settings "
            "(~/.claude/settings.json); each repository's own settings still win.",
        ),
    ] = False,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Set up this repository instead of the current one."),
    ] = None,
    print_managed: Annotated[
        bool,
        typer.Option(
            "--print-managed",
            help="Print the hooks and env for Claude Code's managed settings file (an "
            "organisation's roll-out); write nothing.",
        ),
    ] = False,
) -> None:
    """Set up tracing for this repository: hooks, configuration, .gitignore; then verify."""
    from claudetracing.setup.wizard import TerminalPrompter

    _one_target(user=user, directory=directory, print_managed=print_managed)
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
    if print_managed:
        typer.echo(user_scope.render_snippet(user_scope.managed_snippet(request)), nl=False)
        return
    prompter = TerminalPrompter() if sys.stdin.isatty() and not yes else None
    if user:
        _init_user(request, prompter)
        return
    root = _root(directory)
    result = init_flow.run(root, request, prompter, _show_plan, _warn)
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
    where = "this repository" if directory is None else str(root)
    typer.echo(f"Tracing is on: every Claude Code turn in {where} becomes a trace.", err=True)
    typer.echo(
        "Next: use Claude Code as usual, then `traces status`; `traces import` "
        "backfills past sessions.",
        err=True,
    )


@app.command()
def disable(
    path: Annotated[Path | None, typer.Argument(help="Repository (default: this one).")] = None,
    user: Annotated[
        bool,
        typer.Option("--user", help="Remove what `traces init --user` added (user settings)."),
    ] = False,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Repository (the same as PATH).")
    ] = None,
) -> None:
    """Remove exactly what `traces init` added; nothing else."""
    if path is not None and directory is not None:
        raise TracesError("PATH and --dir name the same thing", "pass one of them")
    _one_target(user=user, directory=directory or path, print_managed=False)
    if user:
        removed = user_scope.disable()
        for item in removed:
            typer.echo(f"updated {item}", err=True)
        if not removed:
            typer.echo("nothing to remove: tracing was not set up in your user settings", err=True)
        return
    root = _root(directory or path)
    removed = project.disable(root)
    for item in removed:
        typer.echo(f"updated {item}", err=True)
    if not removed:
        typer.echo("nothing to remove: tracing was not set up here", err=True)
    for scope in scope_report.hook_scopes(root):
        if scope == settings_scopes.USER:
            typer.echo(
                "note: your user settings still trace this repository "
                "(`traces disable --user` removes them)",
                err=True,
            )
        elif scope == settings_scopes.MANAGED:
            typer.echo(
                "note: your organisation's managed settings still trace this repository",
                err=True,
            )


def _one_target(*, user: bool, directory: Path | None, print_managed: bool) -> None:
    flags = (("--user", user), ("--dir", directory), ("--print-managed", print_managed))
    given = [name for name, value in flags if value]
    if len(given) > 1:
        raise TracesError(f"{' and '.join(given)} exclude each other", "pass only one of them")


def _root(directory: Path | None) -> Path:
    """The repository a command works on: --dir's (checked), else the current one."""
    if directory is None:
        return config_mod.find_root()
    return project.repository_at(directory)


def _init_user(request: init_flow.InitRequest, prompter: init_flow.Prompter | None) -> None:
    plan = user_scope.prepare(request, prompter, _warn)
    typer.echo(f"tracking URI: {plan.tracking_uri}", err=True)
    typer.echo(f"experiment:   {plan.experiment} (unless a repository's settings say)", err=True)
    for step in plan.remote:
        typer.echo(f"workspace:    {step}", err=True)
    _show_files(plan.changes)
    if request.dry_run:
        typer.echo("dry run: nothing written", err=True)
        return
    if not request.yes:
        if prompter is None:
            raise TracesError("not confirmed", "pass --yes to apply without a question")
        if not prompter.confirm("Apply this plan?"):
            typer.echo("nothing written", err=True)
            raise typer.Exit(1)
    if request.verify:
        user_scope.verify(plan)
    for path in user_scope.apply(plan):
        typer.echo(f"wrote {path}", err=True)
    typer.echo(
        "Tracing is on for every repository you open with Claude Code; a repository's own "
        ".claude settings still win for what they set.",
        err=True,
    )
    typer.echo("Next: `traces status` in any repository shows where its turns go.", err=True)
