"""Render docs/cli.md from the CLI itself, so the reference cannot drift from `--help`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from claudetracing.cli import _register, app

HEADER = """# CLI reference

Generated from the commands' own help by `scripts/cli_docs.py`; a test fails when it is stale.
Exit codes: 0 success, 1 an expected failure (the message says what and how to fix it),
2 a usage error, 3 an unexpected error (the message names a report with the traceback and
versions; `CLAUDETRACING_DEBUG=1` shows the traceback instead), 130 interrupted.
`traces hook` always exits 0.
"""


def _render_command(name: str, command: typer.core.TyperCommand | typer.core.TyperGroup) -> str:
    lines = [f"## `traces {name}`", "", (command.help or "").strip(), ""]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option"]
    if arguments:
        lines.append("| argument | help |")
        lines.append("|---|---|")
        for param in arguments:
            lines.append(f"| `{(param.name or '').upper()}` | {getattr(param, 'help', '') or ''} |")
        lines.append("")
    if options:
        lines.append("| option | help | default |")
        lines.append("|---|---|---|")
        for param in options:
            flags = " / ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
            default = "" if param.default in (None, False) else f"`{param.default}`"
            if param.name == "help":
                continue
            lines.append(f"| {flags} | {getattr(param, 'help', '') or ''} | {default} |")
        lines.append("")
    if isinstance(command, typer.core.TyperGroup):
        for sub_name, sub in sorted(command.commands.items()):
            lines.append(_render_command(f"{name} {sub_name}", sub))
    return "\n".join(lines)


def render() -> str:
    _register()
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    parts = [HEADER]
    for name, command in group.commands.items():
        parts.append(_render_command(name, command))
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if target.read_text(encoding="utf-8") == render() else 1)
    target.write_text(render(), encoding="utf-8")
