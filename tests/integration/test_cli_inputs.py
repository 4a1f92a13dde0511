"""Every option and argument of every command, fed what people mistype, through the real `traces`.

Generated from the command tree itself, so a new option is covered the day it is added: the
answer is never a traceback, always exit 1 or 2 (click's convention: 2 for usage), and the
message names the option as the user typed it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from claudetracing.cli.conventions import build, walk, word
from tests.tracing import traces

NUMBER_VALUES = ["", "nan", "inf", "-1", "abc", "99999999999999999999"]
TEXT_VALUES = ["", "   "]
CHOICE_VALUES = ["bogus", ""]
# A valid value for required arguments, so the option under test is what fails.
REQUIRED = {"traces show": ["tr-0"], "traces enrichment info": ["git"]}


def _values(param: Any) -> list[str]:
    kind = word(param)
    if kind in ("INTEGER", "NUMBER"):
        return NUMBER_VALUES
    if kind is not None and "|" in kind:
        return CHOICE_VALUES
    return TEXT_VALUES


def _cases() -> list[Any]:
    cases = []
    for name, command in walk(build(every_command=True)):
        if hasattr(command, "commands"):
            continue
        for param in command.params:
            if word(param) is None or param.name in ("help", "version"):
                continue  # flags take no value
            is_option = bool(param.opts) and param.opts[0].startswith("-")
            label = max(param.opts, key=len) if is_option else param.name
            for value in _values(param):
                argv = [*REQUIRED.get(name, []), label, value] if is_option else [value]
                case_id = f"{name[7:]} {label}={value!r}"
                cases.append(pytest.param(name.split()[1:], argv, label, id=case_id))
    return cases


@pytest.mark.parametrize(("command", "argv", "label"), _cases())
def test_a_bad_value_is_refused_by_name_without_a_traceback(
    repo: Path, command: list[str], argv: list[str], label: str
) -> None:
    before = sorted(p.name for p in repo.iterdir())
    env = {**os.environ, "COLUMNS": "200"}  # error boxes must not wrap the option's name
    done = traces(*command, *argv, cwd=repo, env=env, timeout=60)
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert done.returncode in (1, 2), output
    assert label in output, output
    assert sorted(p.name for p in repo.iterdir()) == before  # refused: nothing written


def test_every_command_answers_h_and_help_with_types_as_words(repo: Path) -> None:
    commands = [name.split()[1:] for name, _ in walk(build(every_command=True))]
    assert len(commands) > 10
    for command in commands:
        short = traces(*command, "-h", cwd=repo, env={**os.environ, "COLUMNS": "200"})
        long = traces(*command, "--help", cwd=repo, env={**os.environ, "COLUMNS": "200"})
        assert short.returncode == long.returncode == 0, (command, short.stderr)
        assert short.stdout == long.stdout
        assert "Usage: traces" in short.stdout
        for raw in ("<bool>", "<str>", "<int>", "<float>", "<list", "<Path>"):
            assert raw not in short.stdout, (command, short.stdout)
    usage = traces("usage", "-h", cwd=repo, env={**os.environ, "COLUMNS": "200"}).stdout
    assert "day|model|user|repo|session" in usage and "[default: day]" in usage
    init = traces("init", "-h", cwd=repo, env={**os.environ, "COLUMNS": "200"}).stdout
    assert "shared|personal" in init and "TEXT" in init
    top = traces("-h", cwd=repo, env={**os.environ, "COLUMNS": "200"}).stdout
    assert "Exit codes: 0 success" in top


def test_version(repo: Path) -> None:
    from importlib import metadata

    for flag in ("--version", "-V"):
        done = traces(flag, cwd=repo)
        assert done.returncode == 0
        assert done.stdout.strip() == f"traces (claudetracing) {metadata.version('claudetracing')}"
