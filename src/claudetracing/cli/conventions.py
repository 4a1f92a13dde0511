"""Rules every command follows, applied once to the whole command tree instead of per option.

- A number option takes a finite number from 0 to a billion: `nan`, `inf`, `-1` and `1e308` are
  usage errors (exit 2) that name the option, instead of values that leak into messages, queries
  or `time.sleep` (no option of traces means anything beyond a billion).
- A value given is never blank: `--user ''` is a usage error, not a filter silently dropped.
- Help shows what an option takes as a word (TEXT, NUMBER, INTEGER, PATH, or its choices), and
  nothing for a flag, which takes no value."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
import typer.core

from claudetracing.cli import _register, app

MAX_NUMBER = 1_000_000_000
_WORDS = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH"}


def walk(command: Any, name: str = "traces") -> Iterator[tuple[str, Any]]:
    """(full command name, command) for the group and every command below it."""
    yield name, command
    for sub_name, sub in getattr(command, "commands", {}).items():  # in the order of --help
        yield from walk(sub, f"{name} {sub_name}")


def word(param: Any) -> str | None:
    """What the option takes, as a word; None for a flag."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    descriptor = param.type_descriptor
    if descriptor.is_choice and descriptor.choices is not None:
        return "|".join(str(getattr(c, "value", c)) for c in descriptor.choices)
    annotation = descriptor.annotation
    inner = getattr(annotation, "__args__", (annotation,))[0] if descriptor.is_list else annotation
    text = _WORDS.get(inner, "TEXT")
    if descriptor.is_path:
        text = "PATH"
    return text


def _numeric(param: Any) -> bool:
    descriptor = param.type_descriptor
    return not descriptor.is_list and descriptor.annotation in (int, float)


def _blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple) and any(_blank(v) for v in value)


def _checked(param: Any, process: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    from typer._click.exceptions import BadParameter

    numeric = _numeric(param)

    def process_value(ctx: Any, value: Any) -> Any:
        if _blank(value):
            raise BadParameter("an empty value was given", ctx=ctx, param=param)
        value = process(ctx, value)
        if not numeric or value is None or isinstance(value, bool):
            return value
        if isinstance(value, float) and not math.isfinite(value):
            raise BadParameter(f"{value!r} is not a number", ctx=ctx, param=param)
        if value < 0:
            raise BadParameter(f"{value:g} is below zero", ctx=ctx, param=param)
        if value > MAX_NUMBER:
            raise BadParameter(f"{value:g} is above {MAX_NUMBER:,}", ctx=ctx, param=param)
        return value

    return process_value


def _words(param: Any) -> Callable[..., str | None]:
    def display_type_rich(ctx: Any = None) -> str | None:
        return word(param)

    return display_type_rich


def _flag_help(get_help_option: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def wrapped(ctx: Any) -> Any:
        option = get_help_option(ctx)
        if option is not None:
            option.display_type_rich = lambda ctx=None: None  # a flag: no value to show
        return option

    return wrapped


def build(*, every_command: bool = False) -> Any:
    """The `traces` command tree with the rules above applied to every parameter. Commands are
    built when named (start-up stays fast); `every_command` builds them all now (docs, tests)."""
    if every_command:
        _register()
    return harden(typer.main.get_command(app))


def harden(command: Any, name: str = "traces") -> Any:
    """Apply the rules to `command` and everything below it, once."""
    for _, each in walk(command, name):
        if getattr(each, "_traces_hardened", False):
            continue
        each._traces_hardened = True
        each.get_help_option = _flag_help(each.get_help_option)
        for param in each.params:
            if not isinstance(param, typer.core.TyperOption | typer.core.TyperArgument):
                continue
            # Per instance, so only our command tree changes (not Typer for anyone else).
            setattr(param, "display_type_rich", _words(param))  # noqa: B010
            if word(param) is not None:  # takes a value: check it
                setattr(param, "process_value", _checked(param, param.process_value))  # noqa: B010
    return command
