"""`traces hook`, `traces flush` and `traces status`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from claudetracing.cli import app
from claudetracing.core import config as config_mod
from claudetracing.export import worker
from claudetracing.setup import status as status_mod


@app.command()
def hook() -> None:
    """Called by Claude Code. Spools the event and returns at once; never fails the session."""
    from claudetracing.capture.hook import main

    sys.exit(main())


@app.command()
def flush(
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for a running exporter to finish first.")
    ] = 60.0,
) -> None:
    """Export everything pending now, in the foreground, and report what failed and why."""
    # Details (tracebacks, each retry) go to the exporter's log; the report below is one
    # line per failure.
    worker.configure_logging()
    report = worker.drain(
        force=True, wait_for_lock=wait, progress=lambda m: typer.echo(m, err=True)
    )
    if report.busy:
        typer.echo("another exporter is still running; try again or pass a longer --wait", err=True)
        raise typer.Exit(1)
    for line in report.lines():
        typer.echo(line, err=True)
    if report.troubled:
        raise typer.Exit(1)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    offline: Annotated[bool, typer.Option(help="Do not contact the backend.")] = False,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Another repository than the current one.")
    ] = None,
) -> None:
    """Where every setting came from, whether tracing works, and what is waiting."""
    from claudetracing.setup import project

    root = config_mod.find_root() if directory is None else project.repository_at(directory)
    report = status_mod.gather(root, check_backend=not offline)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(f"repository:   {report.root}")
        for key, value in report.settings.items():
            typer.echo(f"  {key} = {value['value']}   [{value['scope']}: {value['source']}]")
            for hidden in value["shadowed"]:
                typer.echo(f"      hides {hidden['scope']}: {hidden['value']}")
        typer.echo(f"tracking URI: {report.tracking_uri}")
        store = (
            "not checked"
            if report.store_reachable is None
            else ("reachable" if report.store_reachable else "NOT REACHABLE")
        )
        typer.echo(f"store:        {store} - {report.backend_detail}")
        scopes = f" (from {', '.join(report.hook_scopes)} settings)" if report.hook_scopes else ""
        typer.echo(f"hooks:        {', '.join(report.hooks) or 'none'}{scopes}")
        typer.echo(f"hook runs:    {report.hook_executable or '`traces` on the PATH, if any'}")
        typer.echo(f".gitignore:   {'ok' if report.gitignore else 'no claudetracing block'}")
        missed = f", {report.unspooled} session(s) never spooled" if report.unspooled else ""
        typer.echo(f"this repo:    {report.pending} pending, {report.failed} failed{missed}")
        writable = "writable" if report.spool_writable else "NOT WRITABLE"
        typer.echo(
            f"spool:        {writable}; machine-wide {report.pending_machine} pending, "
            f"{report.failed_machine} failed, {report.corrupt} corrupt"
        )
        if report.held:
            typer.echo(
                f"              {report.held} of this repository's pending wait for a background "
                "subagent (they go when it ends, when the session ends, or after "
                "CLAUDETRACING_BACKGROUND_WAIT)"
            )
        typer.echo(f"enrichments:  {', '.join(report.enrichments) or 'none'}")
        uc = report.unity_catalog
        if uc is not None:
            link = {True: "linked", False: "NOT LINKED", None: "link not checked"}[uc["linked"]]
            typer.echo(f"unity catalog: {uc['location']} ({link})")
            typer.echo(f"  tables:     {', '.join(uc['tables'])}")
            state = uc["warehouse_state"] or "not checked"
            name = f"{uc['warehouse_name']} " if uc["warehouse_name"] else ""
            typer.echo(f"  warehouse:  {name}({uc['warehouse_id'] or 'none'}): {state}")
        typer.echo(f"last export:  {status_mod.age(report.last_success_at)} (this repository)")
        if report.last_error:
            typer.echo(
                f"last error:   {report.last_error} ({status_mod.age(report.last_error_at)})"
            )
        for warning in report.warnings:
            typer.secho(f"warning: {warning.what}", fg="yellow", err=True)
            typer.echo(f"  fix: {warning.fix}", err=True)
        for problem in report.problems:
            typer.secho(f"problem: {problem.what}", fg="red", err=True)
            typer.echo(f"  fix: {problem.fix}", err=True)
        if report.ok:
            typer.echo("tracing works.")
    if not report.ok:
        raise typer.Exit(1)
