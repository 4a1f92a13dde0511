"""`traces --help` stays fast: what it imports (timings are bench's, bench/startup.py)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tracing import TRACES

# Outside systems and the libraries that made --help slow; and our command modules, which pull in
# the exporter, the enrichments and the setup flow.
NEVER_FOR_HELP = {"mlflow", "databricks", "git", "questionary", "genai_prices", "filelock", "rich"}
COMMAND_MODULES = {
    "claudetracing.cli.setup",
    "claudetracing.cli.runtime_cmds",
    "claudetracing.cli.history",
    "claudetracing.cli.enrichment",
    "claudetracing.cli.query_cmds",
}


_PROBE = """
import atexit, json, pathlib, runpy, sys
out = pathlib.Path(sys.argv[1])
atexit.register(lambda: out.write_text(json.dumps(sorted(sys.modules))))
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _imported(tmp_path: Path, *args: str) -> set[str]:
    """Every module the real `traces` executable (its console script) imports for `args`."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), TRACES, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Usage: traces" in done.stdout + done.stderr, done.stderr[-2000:]
    found = set(json.loads(out.read_text()))
    assert "claudetracing.cli" in found  # the probe saw the command line run
    return found


@pytest.mark.parametrize("args", [["--help"], []])
def test_help_imports_no_command_module_and_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    imported = _imported(tmp_path, *args)
    assert not {m for m in imported if m.split(".")[0] in NEVER_FOR_HELP}
    assert not imported & COMMAND_MODULES
    ours = {m for m in imported if m.startswith("claudetracing.")}
    assert ours <= {
        "claudetracing.entry",
        "claudetracing.cli",
        "claudetracing.cli.boundary",
        "claudetracing.cli.conventions",  # the rules every option follows: stdlib and Typer
        "claudetracing.core",
        "claudetracing.core.keys",
        "claudetracing.core.paths",
        "claudetracing.core.errors",
        "claudetracing.core.userinfo",  # stderr masks URIs' user-info: stdlib `re` only
        "claudetracing.core.telemetry",  # MLflow's telemetry off before any import (ADR 13)
    }, sorted(ours)


def test_a_command_imports_only_its_own_module(tmp_path: Path) -> None:
    imported = _imported(tmp_path, "search", "--help")
    assert "claudetracing.cli.query_cmds" in imported
    assert not imported & (COMMAND_MODULES - {"claudetracing.cli.query_cmds"})
    assert not {m for m in imported if m.split(".")[0] in {"mlflow", "databricks", "rich"}}


def test_the_help_listing_is_the_commands_own_help() -> None:
    """`traces --help` lists commands from a table, without importing them: it must say what
    each command's own help says, and name every command there is."""
    import typer

    from claudetracing.cli import COMMANDS, _register, app

    _register()
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    built = {name: command for name, command in group.commands.items() if not command.hidden}
    assert set(COMMANDS) == set(built), (
        f"add to or remove from cli.COMMANDS: {sorted(set(built) ^ set(COMMANDS))}"
    )
    for name, command in built.items():
        first = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
        assert COMMANDS[name][1] == first, f"cli.COMMANDS[{name!r}] differs from its help"
        module = COMMANDS[name][0]
        callback = command.callback
        if callback is not None:
            assert callback.__module__ == f"claudetracing.cli.{module}", name
