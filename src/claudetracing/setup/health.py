"""Whether the hook can run and spool here, and whether this repository's turns reached it.

`traces status` asks these questions from the user's shell, whose PATH and permissions may differ
from Claude Code's: so each check looks at what the hook itself will meet (the command written in
the settings, the executable it names, the data folder) rather than at this process."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from claudetracing.capture import spool
from claudetracing.core import claude_settings, keys, paths
from claudetracing.core.regular_files import open_regular

GRACE_S = 120.0  # a turn ended this recently may still be on its way to the spool
LOOKBACK_S = 7 * 86400  # older sessions are history, and `traces import` is their way in
TAIL_BYTES = 256 * 1024


@dataclass
class Finding:
    what: str
    fix: str


def hook_problems(settings: Path | list[Path], executable: str | None) -> list[Finding]:
    """The installed hook cannot run: an old PATH-dependent command, or no executable to run.
    `settings`: the files that hold our hook (every scope's that does)."""
    found: list[Finding] = []
    files = [settings] if isinstance(settings, Path) else settings
    by_file = {
        path: {c for cs in claude_settings.hook_commands(path).values() for c in cs}
        for path in files
    }
    commands = {c for cs in by_file.values() for c in cs}
    if not commands:
        return found  # "hooks missing" is reported on its own
    old = [path for path, cs in by_file.items() if cs - {claude_settings.HOOK_COMMAND}]
    if old:
        found.append(
            Finding(
                f"the hook in {', '.join(map(str, old))} is an older command that only finds "
                "`traces` on the PATH of the Claude Code process (not there when claude starts "
                "outside the venv)",
                "run `traces init` to rewrite it with this machine's absolute `traces`",
            )
        )
        return found
    if not executable:
        found.append(
            Finding(
                f"no {keys.EXECUTABLE} in the personal settings: the hook only runs if `traces` "
                "is on the PATH of the Claude Code process",
                "run `traces init` (it records this machine's absolute `traces` path)",
            )
        )
        return found
    problem = _cannot_run(executable)
    if problem:
        found.append(
            Finding(
                f"the hook's executable {executable} {problem}",
                "run `traces init` with the `traces` you use now (it rewrites the path)",
            )
        )
    return found


def _cannot_run(executable: str) -> str | None:
    """Why the hook's executable would not run, trying it as the hook runs it; None if it runs."""
    path = Path(executable)
    if not path.is_absolute():
        return "is not an absolute path"
    if not path.is_file():
        return "does not exist (the install moved or was removed?)"
    if not os.access(path, os.X_OK):
        return "is not executable"
    try:
        done = subprocess.run(
            [str(path), "hook"],
            input=b"",
            env={"PATH": "/usr/bin:/bin", keys.DISABLED: "1", "HOME": str(Path.home())},
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot start: {exc}"
    if done.returncode != 0:
        first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[0]
        return f"fails with exit code {done.returncode}" + (f": {first[:200]}" if first else "")
    return None


def spool_problem() -> Finding | None:
    """Write, sync and remove a probe where the hook writes its events: None when that works."""
    folder = spool.spool_dir() / spool.PENDING
    probe = folder / f".status-probe-{os.getpid()}.tmp"  # never taken for an entry
    try:
        paths.ensure_private_dir(folder)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096)  # about one event's size
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return Finding(
            f"turns cannot be spooled: {_reason(exc)} ({exc.filename or folder})",
            _fix_for(exc.errno),
        )
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return None


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _fix_for(code: int | None) -> str:
    data = paths.data_dir()
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"free disk space where {data} lives; then `traces import` recovers lost turns"
    return (
        f"make {data} writable by you (or point {keys.HOME} at a folder that is); then "
        "`traces import` recovers lost turns"
    )


def last_hook_failure() -> dict[str, object] | None:
    """What the hook recorded when it last failed, if it has not spooled an event since."""
    for place in (paths.data_dir() / paths.HOOK_FAILURE, paths.fallback_hook_failure()):
        try:
            if place.stat().st_uid != os.getuid():
                continue  # the temporary folder is shared: only our own record counts
            body = json.loads(place.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(body, dict) and body.get("data_dir") == str(paths.data_dir()):
            return body
    return None


def hook_failure_finding(record: dict[str, object]) -> Finding:
    at = record.get("at")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if isinstance(at, float) else "?"
    session = record.get("session_id") or "unknown session"
    code = record.get("errno")
    return Finding(
        f"the hook could not spool an event of session {session} at {when}: {record.get('error')}",
        _fix_for(code if isinstance(code, int) else None),
    )


def turn_ended_at(transcript: Path) -> float | None:
    """When the transcript's last turn ended (its final answer), or None while a turn is open.

    Reads only the file's tail: the last `user`/`assistant` record decides. An answer with no
    tool call ends a turn; anything else (a prompt, a tool call or result) means work goes on."""
    try:
        with open_regular(transcript) as handle:  # a FIFO named like one: never blocks
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL_BYTES))
            lines = handle.read().splitlines()
    except OSError:
        return None
    for raw in reversed(lines):
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("type") not in ("user", "assistant"):
            continue
        if record.get("type") == "user":
            return None
        message = record.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_use" for b in content
        ):
            return None
        return _timestamp(record.get("timestamp")) or transcript.stat().st_mtime
    return None


def _timestamp(value: object) -> float | None:
    from datetime import datetime

    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def unspooled_sessions(
    transcripts: list[Path], installed_at: float, state_dir: Path
) -> list[tuple[Path, float]]:
    """Sessions whose last turn ended after the hook was installed (and more than GRACE_S ago)
    that neither the spool (an event for that transcript) nor an export ledger (a record of
    that session, at any destination, written after the turn ended) knows: the hook never ran
    for them. Cheap: the tail of each recent transcript and a few `stat` calls."""
    now = time.time()
    known = set()
    for folder in (spool.PENDING, spool.FAILED):
        for entry_path in spool.entries(folder):
            try:
                entry = spool.load(entry_path)
            except (OSError, ValueError, TypeError):
                continue
            known.add(entry.transcript or "")
            known.add(entry.session_id)
    missed = []
    for transcript in transcripts:
        try:
            if transcript.stat().st_mtime < installed_at:
                continue
        except OSError:
            continue
        ended = turn_ended_at(transcript)
        if ended is None or ended < installed_at or now - ended < GRACE_S:
            continue
        if str(transcript) in known or transcript.stem in known:
            continue
        recorded = 0.0
        for ledger in state_dir.glob(f"*/{transcript.stem}.json"):
            with contextlib.suppress(OSError):
                recorded = max(recorded, ledger.stat().st_mtime)
        if recorded >= ended - 1:
            continue
        missed.append((transcript, ended))
    return missed
