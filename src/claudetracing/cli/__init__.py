"""The `traces` command line: parse, call one function, print (errors: `cli.boundary`)."""

from __future__ import annotations

import typer

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
    from claudetracing.cli.boundary import guarded

    _register()
    guarded(app)
