"""The team's enabled enrichments, kept in the committed settings so every teammate agrees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claudetracing.core import claude_settings, repo_links
from claudetracing.core import config as config_mod
from claudetracing.core.errors import TracesError
from claudetracing.enrichments import registry as registry_mod


def enabled(root: Path) -> list[str]:
    return registry_mod.enabled_names(config_mod.load(root).get(config_mod.ENRICHMENTS))


def change(root: Path, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> list[str]:
    """Enable or disable enrichments for the whole team; returns the new list."""
    team_path = claude_settings.team_settings_path(root)
    repo_links.refuse_outside_links(root, [team_path])
    registry = registry_mod.load_registry()
    unknown = [n for n in add if n not in registry.available]
    if unknown:
        known = ", ".join(sorted(registry.available)) or "none"
        broken = {n: registry.broken[n] for n in unknown if n in registry.broken}
        detail = f" ({'; '.join(f'{k}: {v}' for k, v in broken.items())})" if broken else ""
        raise TracesError(
            f"unknown enrichment(s): {', '.join(unknown)}{detail}",
            f"installed: {known}; install the plugin package first (`pip install …`)",
        )
    names = [n for n in enabled(root) if n not in remove]
    names += [n for n in add if n not in names]
    value = ",".join(names) if names else "none"

    def team(data: dict[str, Any]) -> dict[str, Any]:
        return claude_settings.with_env(data, {config_mod.ENRICHMENTS: value})

    claude_settings.apply(team_path, team)
    return names
