"""`traces enrichment list | info | add | remove`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from claudetracing.cli import app
from claudetracing.core import config as config_mod
from claudetracing.core.errors import TracesError
from claudetracing.enrichments import registry as registry_mod
from claudetracing.enrichments import settings
from claudetracing.export.prepare import read_errors

group = typer.Typer(
    help="Manage the enrichments (tag sources) of this repository, team-wide.", no_args_is_help=True
)
app.add_typer(group, name="enrichment")


@group.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Installed enrichments, which are enabled here, and any that fail."""
    root = config_mod.find_root()
    rows = registry_mod.describe(registry_mod.load_registry(), settings.enabled(root))
    errors = read_errors()
    for row in rows:
        if row["error"] is None and row["name"] in errors:
            row["last_error"] = errors[row["name"]]["error"]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        mark = "on " if row["enabled"] else "off"
        status = f"  BROKEN: {row['error']}" if row["error"] else ""
        last = f"  (last failure: {row['last_error']})" if row.get("last_error") else ""
        typer.echo(f"{mark} {row['name']:<10} {row['description']}{status}{last}")


@group.command()
def info(name: Annotated[str, typer.Argument(help="Enrichment name.")]) -> None:
    """What one enrichment adds and where it comes from."""
    registry = registry_mod.load_registry()
    if name in registry.broken:
        raise TracesError(
            f"enrichment {name!r} cannot load: {registry.broken[name]}",
            "reinstall or fix the plugin package",
        )
    enrichment = registry.available.get(name)
    if enrichment is None:
        raise TracesError(f"no enrichment named {name!r}", "see `traces enrichment list`")
    enabled = name in settings.enabled(config_mod.find_root())
    typer.echo(f"{name} ({'enabled' if enabled else 'disabled'} here)")
    typer.echo(f"  tags:   {enrichment.description}")
    typer.echo(f"  source: {registry.sources.get(name, '')}")


@group.command()
def add(names: Annotated[list[str], typer.Argument(help="Enrichments to enable.")]) -> None:
    """Enable enrichments for everyone (writes the committed .claude/settings.json)."""
    now = settings.change(config_mod.find_root(), add=tuple(names))
    typer.echo(
        f"enabled: {', '.join(now) or 'none'} (commit .claude/settings.json to share)", err=True
    )


@group.command()
def remove(names: Annotated[list[str], typer.Argument(help="Enrichments to disable.")]) -> None:
    """Disable enrichments for everyone (writes the committed .claude/settings.json)."""
    now = settings.change(config_mod.find_root(), remove=tuple(names))
    typer.echo(
        f"enabled: {', '.join(now) or 'none'} (commit .claude/settings.json to share)", err=True
    )
