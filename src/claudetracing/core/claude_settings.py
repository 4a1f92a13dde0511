"""Our entries in Claude Code's settings files: hooks and `env` keys, found by their marker."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claudetracing.core import keys
from claudetracing.core.jsonfiles import read_json_object, save_json_object

HOOK_EVENTS = keys.HOOK_EVENTS
HOOK_MARKER = "traces hook"
# Safe for a teammate without the package: no error, no delay, exit 0.
HOOK_COMMAND = "command -v traces >/dev/null 2>&1 && traces hook || true"
HOOK_TIMEOUT_S = 10
ENV_PREFIX = keys.PREFIX


def team_settings_path(root: Path) -> Path:
    return root / ".claude" / "settings.json"


def personal_settings_path(root: Path) -> Path:
    return root / ".claude" / "settings.local.json"


def _is_ours(hook: Any) -> bool:
    return isinstance(hook, dict) and HOOK_MARKER in str(hook.get("command", ""))


def with_hooks(settings: dict[str, Any], events: tuple[str, ...] = HOOK_EVENTS) -> dict[str, Any]:
    """A copy of `settings` in which each event runs our hook once; other hooks untouched."""
    result = copy.deepcopy(settings)
    hooks = result.setdefault("hooks", {})
    for event in events:
        groups = hooks.setdefault(event, [])
        present = any(
            _is_ours(h) for g in groups if isinstance(g, dict) for h in g.get("hooks", []) or []
        )
        if not present:
            groups.append(
                {"hooks": [{"type": "command", "command": HOOK_COMMAND, "timeout": HOOK_TIMEOUT_S}]}
            )
    return result


def without_hooks(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy with our hooks gone, and any group, event or `hooks` key they leave empty."""
    result = copy.deepcopy(settings)
    hooks = result.get("hooks")
    if not isinstance(hooks, dict):
        return result
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                inner = [h for h in group["hooks"] if not _is_ours(h)]
                if not inner and len(inner) != len(group["hooks"]):
                    continue
                group = {**group, "hooks": inner}
            kept.append(group)
        if kept or not groups:
            hooks[event] = kept
        else:
            del hooks[event]
    if not hooks and settings.get("hooks"):
        del result["hooks"]
    return result


def with_env(settings: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    result = copy.deepcopy(settings)
    if values:
        env = result.setdefault("env", {})
        env.update(values)
    return result


def without_env(settings: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(settings)
    env = result.get("env")
    if isinstance(env, dict):
        for key in [k for k in env if k.startswith(ENV_PREFIX)]:
            del env[key]
        if not env and settings.get("env"):
            del result["env"]
    return result


def env_of(path: Path) -> dict[str, str]:
    """Our keys in one settings file's `env` (strict: an unreadable file raises)."""
    env = read_json_object(path).data.get("env")
    if not isinstance(env, dict):
        return {}
    return {k: str(v) for k, v in env.items() if k.startswith(ENV_PREFIX)}


def hooks_installed(path: Path) -> list[str]:
    """The events for which our hook is present in this settings file."""
    hooks = read_json_object(path).data.get("hooks")
    if not isinstance(hooks, dict):
        return []
    return [
        event
        for event, groups in hooks.items()
        if isinstance(groups, list)
        and any(
            _is_ours(h) for g in groups if isinstance(g, dict) for h in g.get("hooks", []) or []
        )
    ]


@dataclass
class FileChange:
    path: Path
    changed: bool


def apply(path: Path, transform: Any) -> FileChange:
    """Read strictly, transform, write atomically only if something changed."""
    document = read_json_object(path)
    return FileChange(path, save_json_object(document, transform(document.data)))


def preview(path: Path, transform: Any) -> tuple[str, str]:
    """(current text, text after the transform) without writing anything."""
    document = read_json_object(path)
    after = transform(document.data)
    return document.original, ("" if not after else document.render(after))
