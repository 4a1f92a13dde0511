"""Which settings scope holds our hooks for a repository, and which values another scope hides.

`traces status` asks: tracing works when the hooks are in ANY scope (Claude Code runs those of
every scope); a destination a person set for every repository (user scope) but that this
repository's settings override, or one the organisation's managed settings override, is worth
saying, because the turns go somewhere the person may not expect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from claudetracing.core import claude_settings, keys, settings_scopes
from claudetracing.core import config as config_mod

# Where the turns go: a value of another scope hidden for these changes the destination.
DESTINATION_KEYS = (keys.TRACKING_URI, keys.PROFILE, keys.EXPERIMENT)


@dataclass
class Conflict:
    key: str
    used: config_mod.Value
    hidden: list[config_mod.Value]

    @property
    def what(self) -> str:
        others = "; ".join(f"{v.scope} settings set {v.value!r} ({_path(v)})" for v in self.hidden)
        return (
            f"{self.key}: {others}, but the {self.used.scope} value {self.used.value!r} "
            f"({_path(self.used)}) is used here"
        )

    @property
    def fix(self) -> str:
        if self.used.scope == settings_scopes.MANAGED:
            return "managed settings win over every other scope; ask whoever deploys them"
        if self.used.scope == settings_scopes.ENV:
            return f"unset {self.key} in the environment to use the settings' value"
        return (
            "nothing, if this repository should trace elsewhere (precedence, lowest first: "
            "user, project, local, managed); else remove "
            f"{self.key} from {_path(self.used)}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "used": _value(self.used),
            "hidden": [_value(v) for v in self.hidden],
        }


def _path(value: config_mod.Value) -> str:
    source = value.source
    return source[source.find("(") + 1 : -1] if source.endswith(")") else source


def _value(value: config_mod.Value) -> dict[str, str | None]:
    return {"value": value.value, "scope": value.scope, "source": value.source}


def hook_scopes(root: Path) -> dict[str, list[str]]:
    """scope → the events our hook is installed for in that scope's file (scopes without any
    left out), in Claude Code's order, lowest first. Strict: an unreadable file raises."""
    found: dict[str, list[str]] = {}
    for layer in settings_scopes.layers(root):
        events = claude_settings.hooks_installed(layer.path)
        if events:
            found[layer.scope] = events
    return found


def hook_files(root: Path) -> list[Path]:
    return [
        layer.path
        for layer in settings_scopes.layers(root)
        if claude_settings.hooks_installed(layer.path)
    ]


def conflicts(cfg: config_mod.Config) -> list[Conflict]:
    """Destination keys whose value in one scope is hidden by a different value in another."""
    found = []
    for key in DESTINATION_KEYS:
        used = cfg.values.get(key)
        if used is None:
            continue
        hidden = [v for v in used.shadowed if v.value != used.value]
        if hidden:
            found.append(Conflict(key, used, hidden))
    return found


def mixed_destination(cfg: config_mod.Config) -> tuple[str, str] | None:
    """(what, fix) when scopes combine into a destination that cannot work: a Databricks
    workspace from one scope with a plain experiment name (`init --local`'s) from another."""
    uri = cfg.values.get(keys.TRACKING_URI)
    experiment = cfg.values.get(keys.EXPERIMENT)
    if uri is None or not (uri.value or "").startswith("databricks") or cfg.experiment[:1] == "/":
        return None
    where = f"{experiment.scope} settings" if experiment else "the default"
    return (
        f"the destination is a Databricks workspace ({uri.value}, {uri.scope} settings) but the "
        f"experiment {cfg.experiment!r} ({where}) is no workspace path: the workspace refuses it",
        f"set {keys.EXPERIMENT} to a workspace path (e.g. /Shared/claude-code/"
        f"{config_mod.repo_slug(cfg.root)}) in {cfg.root}/.claude/settings.local.json, or run "
        "`traces init --profile PROFILE` in this repository",
    )
