"""Render docs/cli.md from the CLI itself, so the reference cannot drift from `--help`."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Any

from claudetracing.cli.conventions import build, walk, word

HEADER = """# CLI reference

Generated from the commands' own help by `scripts/cli_docs.py`; a test fails when it is stale.
Every command takes `-h` as well as `--help`; `traces --version` prints the version.

## Exit codes

| code | meaning |
|---|---|
| 0 | success |
| 1 | an expected failure: the message says what failed and how to fix it |
| 2 | a usage error: an unknown option, or a value the option does not take |
| 3 | an unexpected error (a bug): the message names a report with the traceback and \
versions; `CLAUDETRACING_DEBUG=1` shows the traceback instead |
| 130 | interrupted (Ctrl-C) |

`traces hook` always exits 0.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _takes(param: Any) -> str:
    """What the option takes, in words: a flag, a type, or its choices."""
    taken = word(param)
    if taken is None:
        return "flag"
    if "|" in taken:
        return "one of " + ", ".join(f"`{choice}`" for choice in taken.split("|"))
    return taken


def _default(param: Any) -> str:
    value = param.default
    if isinstance(value, Enum):
        value = value.value
    if getattr(param, "is_flag", False):
        if not param.secondary_opts:
            return ""
        return f"`{param.opts[0] if value else param.secondary_opts[0]}`"
    if value in (None, False) or value == []:
        return ""
    return f"`{value}`"


def _render_command(name: str, command: Any) -> str:
    lines = [f"## `{name}`", "", (command.help or "").strip(), ""]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option" and p.name != "version"]
    if arguments:
        lines.append("| argument | takes | help |")
        lines.append("|---|---|---|")
        for param in arguments:
            many = " ..." if param.nargs != 1 else ""
            lines.append(
                f"| `{(param.name or '').upper()}` | {_cell(_takes(param))}{many} "
                f"| {_cell(getattr(param, 'help', '') or '')} |"
            )
        lines.append("")
    if options:
        lines.append("| option | takes | help | default |")
        lines.append("|---|---|---|---|")
        for param in options:
            flags = " / ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
            lines.append(
                f"| {flags} | {_cell(_takes(param))} | "
                f"{_cell(getattr(param, 'help', '') or '')} | {_default(param)} |"
            )
        lines.append("")
    return "\n".join(lines)


def render() -> str:
    parts = [HEADER]
    for name, command in walk(build(every_command=True)):
        if name == "traces" or hasattr(command, "commands"):
            continue
        parts.append(_render_command(name, command))
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if target.read_text(encoding="utf-8") == render() else 1)
    target.write_text(render(), encoding="utf-8")
