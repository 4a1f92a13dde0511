"""`traces init` and `traces disable`."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Annotated

import typer

from claudetracing.cli import app
from claudetracing.core import config as config_mod
from claudetracing.core.errors import TracesError
from claudetracing.setup import project


def _show_plan(plan: project.Plan, remote: list[str]) -> None:
    typer.echo(f"tracking URI: {plan.tracking_uri}", err=True)
    typer.echo(f"experiment:   {plan.experiment}", err=True)
    for step in remote:
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


def _enrichment_env(enrichments: str | None) -> dict[str, str]:
    if enrichments is None:
        return {}
    from claudetracing.enrichments import registry as registry_mod

    names = registry_mod.enabled_names(enrichments)
    installed = registry_mod.load_registry()
    unknown = [n for n in names if n not in installed.available]
    if unknown:
        raise TracesError(
            f"unknown enrichment(s): {', '.join(unknown)}",
            f"installed: {', '.join(sorted(installed.available))}",
        )
    return {config_mod.ENRICHMENTS: ",".join(names) or "none"}


@app.command()
def init(
    profile: Annotated[
        str | None, typer.Option(help="Databricks CLI profile (OAuth login) to trace into.")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="Experiment for the team (shared) or only you (personal).")
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option(help="Experiment path (workspace: inside /Shared or your folder) or name."),
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
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the plan, write nothing.")] = False,
    verify: Annotated[bool, typer.Option(help="Write and read back a test trace.")] = True,
) -> None:
    """Set up tracing for this repository: hooks, configuration, .gitignore; then verify."""
    from claudetracing.setup import databricks, wizard, workspace

    if sum(bool(x) for x in (local, tracking_uri, profile)) > 1:
        raise TracesError(
            "--local, --tracking-uri and --profile exclude each other", "pass only one of them"
        )
    if scope not in (None, "shared", "personal"):
        raise TracesError(f"unknown scope {scope!r}", "use --scope shared or --scope personal")
    if tracking_uri and tracking_uri.startswith("databricks"):
        profile = tracking_uri.partition("://")[2] or "DEFAULT"
        tracking_uri = None
    interactive = sys.stdin.isatty() and not yes
    root = config_mod.find_root()
    extra = _enrichment_env(enrichments)
    if not (local or tracking_uri or profile):
        if not interactive:
            raise TracesError(
                "where should traces go?",
                "pass --profile PROFILE (Databricks), --local, or --tracking-uri URI",
            )
        destination = wizard.ask_destination(databricks.read_profiles())
        if destination == wizard.LOCAL:
            local = True
        else:
            profile = wizard.ask_new_workspace() if destination == wizard.ADD else destination
    choice = None
    remote: list[str] = []
    if profile:
        chosen = workspace.find_profile(profile)
        for name in databricks.overriding_env():
            typer.secho(
                f"warning: {name} is set and overrides profile {profile!r} for MLflow "
                "and the Databricks SDK",
                fg="yellow",
                err=True,
            )
        if interactive and not experiment and not scope:
            choice = wizard.ask_experiment(root, chosen)
        else:
            choice = workspace.choose(root, chosen, scope=scope, experiment=experiment)
        plan = workspace.plan(root, choice, extra)
        remote = [
            f"signed in as {choice.user}",
            f"create folder {choice.experiment.rsplit('/', 1)[0]} if missing",
            f"create experiment {choice.experiment} or reuse it",
        ]
        if choice.reused_team_experiment:
            remote.append("the experiment path comes from the team's .claude/settings.json")
    else:
        uri = tracking_uri or config_mod.LOCAL
        plan = project.plan_init(
            root,
            project.SetupOptions(tracking_uri=uri, experiment=experiment, extra_team_env=extra),
        )
    _show_plan(plan, remote)
    if dry_run:
        typer.echo("dry run: nothing written", err=True)
        return
    if not yes:
        if not interactive:
            raise TracesError("not confirmed", "pass --yes to apply without a question")
        if not wizard.confirm("Apply this plan?"):
            typer.echo("nothing written", err=True)
            raise typer.Exit(1)
    if choice is not None:
        workspace.prepare_remote(choice)
    written = project.apply(plan)
    for path in written:
        typer.echo(f"wrote {path}", err=True)
    if verify:
        _verify(root, plan)
    typer.echo(
        "Tracing is on: every Claude Code turn in this repository becomes a trace.", err=True
    )
    typer.echo(
        "Next: use Claude Code as usual, then `traces status`; `traces import` "
        "backfills past sessions.",
        err=True,
    )


def _verify(root: Path, plan: project.Plan) -> None:
    from claudetracing.enrichments import registry
    from claudetracing.setup import status

    cfg = config_mod.load(root)
    experiment_id = project.verify(cfg)
    typer.echo(
        f"verified: a test trace was written to and read back from experiment "
        f"{plan.experiment!r} (id {experiment_id}), then removed",
        err=True,
    )
    enabled = registry.enabled_names(cfg.get(config_mod.ENRICHMENTS))
    for warning in status.enrichment_warnings(cfg, enabled):
        typer.secho(f"warning: {warning.what}", fg="yellow", err=True)
        typer.echo(f"  fix: {warning.fix}", err=True)


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
