"""The `traces` command line: parse, call one function, print (errors: `cli.boundary`)."""

from __future__ import annotations

from typing import Annotated

import typer

EXIT_CODES = (
    "Exit codes: 0 success; 1 an expected failure (the message says what and how to fix it); "
    "2 a usage error; 3 an unexpected error (a bug: the message names its report); "
    "130 interrupted. `traces hook` always exits 0."
)

app = typer.Typer(
    name="traces",
    help="Claude Code sessions as faithful MLflow traces, locally or in Databricks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every command
    epilog=EXIT_CODES,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib import metadata

        typer.echo(f"traces (claudetracing) {metadata.version('claudetracing')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    pass


def _register() -> None:
    # Importing the command modules attaches their commands to `app`.
    from claudetracing.cli import setup, runtime_cmds, history, enrichment, query_cmds  # noqa: F401, I001


def run() -> None:
    from claudetracing.cli.boundary import guarded
    from claudetracing.cli.conventions import build

    command = build()
    guarded(lambda: command(prog_name="traces"))
