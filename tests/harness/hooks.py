"""Install project hooks that record every hook payload Claude Code sends, and read them back."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

RECORDED_EVENTS = ("SessionStart", "UserPromptSubmit", "SubagentStop", "Stop", "SessionEnd")

# Hooks of parallel subagents can run concurrently: lock the log so records never interleave.
_RECORDER = """\
import fcntl, json, os, sys, time
event, log = sys.argv[1], sys.argv[2]
raw = sys.stdin.read()
try:
    payload = json.loads(raw)
except ValueError:
    payload = raw
record = {
    "event": event,
    "time": time.time(),
    "payload": payload,
    "env": {k: v for k, v in os.environ.items() if k.startswith(("CT_", "CLAUDE_"))},
}
with open(log, "a", encoding="utf-8") as fh:
    fcntl.flock(fh, fcntl.LOCK_EX)
    fh.write(json.dumps(record) + "\\n")
"""


def install_recording_hooks(
    repo: Path,
    log: Path,
    *,
    events: Iterable[str] = RECORDED_EVENTS,
    settings_extra: Mapping[str, Any] | None = None,
    settings_file: str = "settings.json",
) -> Path:
    """Write ``repo/.claude/settings.json`` whose hooks append each payload to ``log``.

    ``settings_file="settings.local.json"`` records beside the project's own hooks (Claude Code
    runs the hooks of both files)."""
    script = log.parent / "record_hook.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(_RECORDER)
    command = f"{sys.executable} {script} {{event}} {log}"
    settings: dict[str, Any] = {
        "hooks": {
            e: [{"hooks": [{"type": "command", "command": command.format(event=e)}]}]
            for e in events
        },
        **(settings_extra or {}),
    }
    path = repo / ".claude" / settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    return path


def read_hook_log(log: Path) -> list[dict[str, Any]]:
    """Records written by the recording hook, in the order they ran."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
