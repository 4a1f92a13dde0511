"""The `traces` command line: parse, call one function, print. Errors become exit codes here."""

from __future__ import annotations

import sys

import typer

from claudetracing.core.errors import TracesError

app = typer.Typer(
    name="traces",
    help="Claude Code sessions as faithful MLflow traces, locally or in Databricks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Importing the command modules attaches their commands to `app`.
    from claudetracing.cli import setup, runtime_cmds, history, enrichment, query_cmds  # noqa: F401, I001


def run() -> None:
    _register()
    try:
        app()
    except TracesError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        if exc.hint:
            typer.echo(f"  fix: {exc.hint}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("aborted", err=True)
        sys.exit(130)
