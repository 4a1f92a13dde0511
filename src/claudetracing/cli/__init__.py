"""The `traces` command line: parse, call one function, print (errors: `cli.boundary`).

Start-up stays fast: `traces --help` imports no command module (the listing below says what each
command does; a test holds it to the commands' own help), a command's module is imported only
when that command runs, and help is plain text (Typer's Rich help costs more than the rest)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated

import typer
from typer._click.exceptions import UsageError  # Typer's own copy of click
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter

# Every command: the module that defines it, and its help's first paragraph for `traces --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "setup",
        "Set up tracing for this repository: hooks, configuration, .gitignore; then verify.",
    ),
    "disable": ("setup", "Remove exactly what `traces init` added; nothing else."),
    "hook": (
        "runtime_cmds",
        "Called by Claude Code. Spools the event and returns at once; never fails the session.",
    ),
    "flush": (
        "runtime_cmds",
        "Export everything pending now, in the foreground, and report what failed and why.",
    ),
    "status": (
        "runtime_cmds",
        "Where every setting came from, whether tracing works, and what is waiting.",
    ),
    "import": ("history", "Backfill past sessions. Turns already traced are never traced twice."),
    "demo": (
        "history",
        "Run the pipeline on bundled sample sessions into the local store and show the result.",
    ),
    "ui": (
        "history",
        "Open the MLflow UI on the embedded local store. Ctrl-C (or closing the terminal) stops "
        "the server and all its processes.",
    ),
    "list": (
        "query_cmds",
        "Experiments that follow the convention: trace counts, failed tool calls, last activity.",
    ),
    "search": ("query_cmds", "Find traces; every filter runs on the server."),
    "show": (
        "query_cmds",
        "The span tree of one trace: tools, subagents, durations, tokens, cost, errors.",
    ),
    "usage": (
        "query_cmds",
        "Tokens and USD cost over a time window, grouped: where the money went.",
    ),
    "enrichment": (
        "enrichment",
        "Manage the enrichments (tag sources) of this repository, team-wide.",
    ),
}


class _LazyGroup(TyperGroup):
    """Commands are built when named, from the module that defines them."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"claudetracing.cli.{COMMANDS[cmd_name][0]}")
            built = typer.main.get_group(app).commands.get(cmd_name)
            if built is not None:
                from claudetracing.cli.conventions import harden

                self.commands[cmd_name] = harden(built, f"traces {cmd_name}")
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            from difflib import get_close_matches

            matches = get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches and "Did you mean" not in exc.message:
                names = ", ".join(repr(m) for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {names}?"
            raise

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        # The listing without importing a command module (what `traces --help` costs).
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])


EXIT_CODES = (
    "Exit codes: 0 success; 1 an expected failure (the message says what and how to fix it); "
    "2 a usage error; 3 an unexpected error (a bug: the message names its report); "
    "130 interrupted. `traces hook` always exits 0."
)

app = typer.Typer(
    name="traces",
    help="Claude Code sessions as faithful MLflow traces, locally or in Databricks.",
    cls=_LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every command
    epilog=EXIT_CODES,
    rich_markup_mode=None,
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
    """Import every command module (docs generation, tests): each attaches its commands."""
    for module in dict.fromkeys(module for module, _ in COMMANDS.values()):
        importlib.import_module(f"claudetracing.cli.{module}")


def run() -> None:
    from claudetracing.cli.boundary import guarded
    from claudetracing.cli.conventions import build
    from claudetracing.core import paths

    # Before anything is written: what we, MLflow, sqlite, git and the UI server create is the
    # user's only (0700/0600), whatever their umask (their repository keeps theirs).
    paths.private_umask()

    command = build()  # the group; each command is built and checked when named
    guarded(lambda: command(prog_name="traces"))
