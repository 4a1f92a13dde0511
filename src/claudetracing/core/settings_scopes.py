"""Claude Code's settings scopes: which files it reads for a repository, and in what order.

Claude Code merges `env` key by key, the higher scope winning: user < project < local <
managed (organisation policy, which nothing overrides). Hooks are not overridden: those of
every scope run. We read the same files in the same order, so `traces status` names the scope
a value came from and the exporter sees the configuration Claude Code gave the hook."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from claudetracing.core import keys, paths

MANAGED = "managed"
USER = "user"
PROJECT = "project"
LOCAL = "local"
ENV = "env"
DEFAULT = "default"
ORDER = (USER, PROJECT, LOCAL, MANAGED)  # lowest first, as Claude Code merges `env`

LINUX_MANAGED = Path("/etc/claude-code/managed-settings.json")
MACOS_MANAGED = Path("/Library/Application Support/ClaudeCode/managed-settings.json")
WINDOWS_MANAGED = Path("C:/Program Files/ClaudeCode/managed-settings.json")


@dataclass(frozen=True)
class Layer:
    scope: str
    path: Path
    label: str  # how `traces status` has always named the file's values

    @property
    def source(self) -> str:
        return f"{self.label} ({self.path})"


def managed_settings_path() -> Path:
    """The managed settings file Claude Code reads on this system; CLAUDETRACING_MANAGED_SETTINGS
    points elsewhere (tests, or a check of a file before it is deployed)."""
    override = os.environ.get(keys.MANAGED_SETTINGS)
    if override:
        return Path(override)
    if sys.platform == "darwin":
        return MACOS_MANAGED
    if sys.platform.startswith("win"):
        return WINDOWS_MANAGED
    return LINUX_MANAGED


def user_settings_path() -> Path:
    return paths.claude_config_dir() / "settings.json"


def layers(root: Path) -> list[Layer]:
    """The settings files of a repository, lowest precedence first. In the home folder (no
    repository) `.claude` is Claude Code's own: its settings are the user's, read once."""
    folder = root / ".claude"
    found = [Layer(USER, user_settings_path(), "user settings")]
    if not _same(folder, paths.claude_config_dir()):
        found += [
            Layer(PROJECT, folder / "settings.json", "team settings"),
            Layer(LOCAL, folder / "settings.local.json", "personal settings"),
        ]
    return [*found, Layer(MANAGED, managed_settings_path(), "managed settings")]


def _same(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except (OSError, RuntimeError):  # a link loop
        return False
