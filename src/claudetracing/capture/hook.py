"""`traces hook`: the courier. Spool the event, start the exporter, exit 0, print nothing."""

from __future__ import annotations

import json
import os
import sys
import time

from claudetracing.capture import spool
from claudetracing.core import keys, paths, userinfo

# Only the stdlib and our two stdlib-only modules are imported here: tests prove it, because
# Claude Code waits for this process before the user gets the prompt back.

_FORWARDED = ("CLAUDE_PROJECT_DIR", "CLAUDE_CONFIG_DIR", keys.HOME)


def _log(message: str) -> None:
    try:
        folder = paths.ensure_private_dir(paths.data_dir() / "logs")
        with open(folder / "hook.log", "a", encoding="utf-8") as handle:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            handle.write(f"{stamp} {os.getpid()} {userinfo.mask(message)}\n")
    except OSError:
        pass


def failure_records() -> list[str]:
    """Where a failed hook leaves its record, first choice first: the data folder, else (it
    is unwritable or its disk is full) a private file in the temporary folder."""
    return [str(paths.data_dir() / paths.HOOK_FAILURE), str(paths.fallback_hook_failure())]


def _record_failure(error: BaseException, payload: object) -> None:
    """What status needs to name the failure: when, what, for which session and folder."""
    fields = payload if isinstance(payload, dict) else {}
    body = json.dumps(
        {
            "at": time.time(),
            "error": userinfo.mask(f"{type(error).__name__}: {error}")[:500],
            "errno": getattr(error, "errno", None),
            "data_dir": str(paths.data_dir()),
            "session_id": fields.get("session_id"),
            "cwd": fields.get("cwd"),
            "event": fields.get("hook_event_name"),
        }
    ).encode("utf-8")
    for target in failure_records():
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(target, flags, 0o600)
            try:
                os.write(fd, body)
            finally:
                os.close(fd)
            return
        except OSError:
            continue


def _clear_failure() -> None:
    """A spooled event proves the spool works again: the last failure is history."""
    for target in failure_records():
        try:  # noqa: SIM105 - contextlib would be one more import on every turn
            os.unlink(target)
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


def run(raw: bytes, environ: dict[str, str], seen: dict[str, object] | None = None) -> None:
    if environ.get(keys.DISABLED, "").lower() in ("1", "true", "yes"):
        return
    payload = json.loads(raw) if raw.strip() else {}
    if not isinstance(payload, dict):
        raise ValueError("the hook payload is not a JSON object")
    if seen is not None:
        seen.update(payload)
    if payload.get("hook_event_name") not in keys.HOOK_EVENTS:
        return
    env = {k: v for k, v in environ.items() if k.startswith(keys.PREFIX) or k in _FORWARDED}
    spool.append(payload, env)
    _clear_failure()
    if environ.get(keys.NO_EXPORTER) != "1":
        start_exporter()


def main() -> int:
    """Never fails the session: every error is logged and recorded for `traces status`, and
    the exit code is 0."""
    payload: dict[str, object] = {}
    try:
        paths.private_umask()  # its log, and the exporter it starts with all that one writes
        raw = sys.stdin.buffer.read()
        run(raw, dict(os.environ), payload)
    except BaseException as exc:
        _log(f"hook error: {type(exc).__name__}: {exc}")
        _record_failure(exc, payload)
    return 0
