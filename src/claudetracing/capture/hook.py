"""`traces hook`: the courier. Spool the event, start the exporter, exit 0, print nothing."""

from __future__ import annotations

import json
import os
import sys
import time

from claudetracing.capture import spool
from claudetracing.core import keys, paths

# Only the stdlib and our two stdlib-only modules are imported here: tests prove it, because
# Claude Code waits for this process before the user gets the prompt back.

_FORWARDED = ("CLAUDE_PROJECT_DIR", "CLAUDE_CONFIG_DIR", keys.HOME)


def _log(message: str) -> None:
    try:
        folder = paths.ensure_private_dir(paths.data_dir() / "logs")
        with open(folder / "hook.log", "a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {os.getpid()} {message}\n")
    except OSError:
        pass


def start_exporter() -> None:
    """A detached exporter: its own session, no stdin, so it outlives `claude -p`."""
    import subprocess

    log_dir = paths.ensure_private_dir(paths.data_dir() / "logs")
    with open(log_dir / "exporter.stderr", "ab") as err:
        subprocess.Popen(
            [sys.executable, "-m", "claudetracing.export.worker"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            close_fds=True,
            cwd=str(paths.data_dir()),
        )


def run(raw: bytes, environ: dict[str, str]) -> None:
    if environ.get(keys.DISABLED, "").lower() in ("1", "true", "yes"):
        return
    payload = json.loads(raw) if raw.strip() else {}
    if not isinstance(payload, dict):
        raise ValueError("the hook payload is not a JSON object")
    if payload.get("hook_event_name") not in keys.HOOK_EVENTS:
        return
    env = {k: v for k, v in environ.items() if k.startswith(keys.PREFIX) or k in _FORWARDED}
    spool.append(payload, env)
    if environ.get(keys.NO_EXPORTER) != "1":
        start_exporter()


def main() -> int:
    """Never fails the session: every error is logged to a file and the exit code is 0."""
    try:
        raw = sys.stdin.buffer.read()
        run(raw, dict(os.environ))
    except BaseException as exc:
        _log(f"hook error: {type(exc).__name__}: {exc}")
    return 0
