"""Our entries in Claude Code's settings files: hooks and `env` keys, found by their marker."""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claudetracing.core import keys
from claudetracing.core.errors import TracesError
from claudetracing.core.jsonfiles import read_json_object, save_json_object

HOOK_EVENTS = keys.HOOK_EVENTS
HOOK_MARKER = "traces hook"  # in every form of our command, old ones included
EXECUTABLE = keys.EXECUTABLE
# The team settings are committed, so the command names no path of anyone's machine: it runs
# the absolute `traces` that `traces init` wrote into this person's personal settings `env`
# (Claude Code passes it to hooks), whatever Claude Code's PATH. Without it (a teammate who
# never ran init), a `traces` on the PATH; without either, nothing: no error, no delay, exit 0.
HOOK_COMMAND = (
    f'if [ -f "${{{EXECUTABLE}-}}" ] && [ -x "${EXECUTABLE}" ]; then "${EXECUTABLE}" hook; '
    "elif command -v traces >/dev/null 2>&1; then traces hook; fi; true"
)
# Older forms (`command -v traces ... && traces hook || true`: only a `traces` on Claude Code's
# PATH, which a venv install rarely is) carry the marker too: `init` rewrites them in place.
HOOK_TIMEOUT_S = 10
ENV_PREFIX = keys.PREFIX


def team_settings_path(root: Path) -> Path:
    return root / ".claude" / "settings.json"


def personal_settings_path(root: Path) -> Path:
    return root / ".claude" / "settings.local.json"


def installed_executable() -> Path:
    """The absolute `traces` of the installation running now, for the hook to call.

    Next to the interpreter first (a venv or pipx: not resolved, so the venv stays the venv),
    then the scripts folders of this Python. Raises when none exists: `init` writes nothing."""
    import sysconfig

    here = Path(sys.executable).parent
    candidates = [here / "traces"]
    if Path(sys.argv[0]).name == "traces":
        candidates.append(Path(sys.argv[0]))
    for scheme in (None, f"{os.name}_user"):
        try:
            folder = (
                sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
            )
        except KeyError:
            continue
        candidates.append(Path(folder) / "traces")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    raise TracesError(
        f"cannot find the `traces` executable of this installation (looked in {here})",
        "reinstall claudetracing so that its `traces` command exists, then run `traces init`",
    )


def _is_ours(hook: Any) -> bool:
    return isinstance(hook, dict) and HOOK_MARKER in str(hook.get("command", ""))


def _ours_in(groups: Any) -> list[dict[str, Any]]:
    if not isinstance(groups, list):
        return []
    return [
        h
        for g in groups
        if isinstance(g, dict) and isinstance(g.get("hooks"), list)
        for h in g["hooks"]
        if _is_ours(h)
    ]


def with_hooks(settings: dict[str, Any], events: tuple[str, ...] = HOOK_EVENTS) -> dict[str, Any]:
    """A copy of `settings` in which each event runs our hook once; other hooks untouched.
    Our hooks of an older form are rewritten in place (same group, same other fields)."""
    result = copy.deepcopy(settings)
    hooks = result.setdefault("hooks", {})
    for event in events:
        groups = hooks.setdefault(event, [])
        present = _ours_in(groups)
        for hook in present:
            hook["command"] = HOOK_COMMAND
        if not present:
            groups.append(
                {"hooks": [{"type": "command", "command": HOOK_COMMAND, "timeout": HOOK_TIMEOUT_S}]}
            )
    return result


def without_hooks(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy with our hooks gone, and any group, event or `hooks` key they leave empty."""
    return without_matching_hooks(settings, _is_ours)


def without_matching_hooks(
    settings: dict[str, Any], matches: Callable[[Any], bool]
) -> dict[str, Any]:
    """A copy without the hooks `matches` picks, and any group, event or `hooks` key they
    leave empty (what was empty before stays)."""
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
                inner = [h for h in group["hooks"] if not matches(h)]
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
    return list(hook_commands(path))


def hook_commands(path: Path) -> dict[str, list[str]]:
    """Our hooks' commands in this settings file, by event (strict: an unreadable file raises)."""
    hooks = read_json_object(path).data.get("hooks")
    if not isinstance(hooks, dict):
        return {}
    found = {event: [str(h.get("command")) for h in _ours_in(g)] for event, g in hooks.items()}
    return {event: commands for event, commands in found.items() if commands}


@dataclass
class FileChange:
    path: Path
    changed: bool


def apply(path: Path, transform: Any) -> FileChange:
    """Read strictly, transform, write atomically only if something changed. Personal settings
    (never committed, holding this machine's paths) are created readable by their owner only."""
    document = read_json_object(path)
    private = path.name == personal_settings_path(path.parent.parent).name
    data = transform(document.data)
    return FileChange(path, save_json_object(document, data, new_mode=0o600 if private else None))


def preview(path: Path, transform: Any) -> tuple[str, str]:
    """(current text, text after the transform) without writing anything."""
    document = read_json_object(path)
    after = transform(document.data)
    return document.original, ("" if not after else document.render(after))
