"""Backfill: export a repository's past sessions, exactly once, under the exporter lock."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from claudetracing.core import keys, userinfo
from claudetracing.core.errors import TracesError
from claudetracing.core.tracking_uri import check_signin
from claudetracing.export import ledger as ledger_mod
from claudetracing.export.exporter import Exporter
from claudetracing.export.tally import Tally
from claudetracing.transcript.discovery import discover, expand
from claudetracing.transcript.turns import answered_turns_before

log = logging.getLogger(__name__)
QUIET_AFTER_S = 600  # a transcript untouched this long belongs to a session that is over


def run_import(
    exporter: Exporter,
    transcripts: list[Path],
    *,
    on_done: Callable[[Path, Tally | None], None] | None = None,
    on_bug: Callable[[BaseException], str] | None = None,
) -> Tally:
    """Export each transcript in turn. One that fails, however it fails, is reported with a
    one-line reason and the others go on. `on_bug` keeps the details of an unexpected failure
    (a traceback for a bug report) and says where."""
    summary = Tally()
    now = time.time()
    for path in transcripts:
        try:
            final = now - path.stat().st_mtime > QUIET_AFTER_S
            before = _exported_up_to(exporter, path)
            report = exporter.export_transcript(path, final=final)
            if before:
                # Turns before the ledger's offset are not read again: count them anyway.
                report.already += answered_turns_before(path, before)
        except TracesError as exc:
            _failed(summary, path, str(exc), on_done)
            continue
        except OSError as exc:  # gone, a link that leads nowhere, unreadable
            reason = f"cannot be read ({exc.strerror or exc})"
            _failed(summary, path, f"{reason}\n  fix: check that it is a readable file", on_done)
            continue
        except Exception as exc:  # one broken file never costs the batch
            if os.environ.get(keys.DEBUG) == "1":
                raise
            log.exception("importing %s failed", path)
            _failed(summary, path, _unexpected(exc, on_bug), on_done)
            continue
        summary.add(report)
        if on_done:
            on_done(path, report)
    return summary


def _exported_up_to(exporter: Exporter, path: Path) -> int:
    """Where the ledger says earlier exports left this transcript (0: never, or replaced)."""
    config = exporter.config
    offset = ledger_mod.open_session(config.tracking_uri, config.experiment, path.stem).offset
    try:
        return offset if offset <= path.stat().st_size else 0
    except OSError:
        return 0


def _failed(
    summary: Tally, path: Path, reason: str, on_done: Callable[[Path, Tally | None], None] | None
) -> None:
    summary.sessions += 1
    summary.errors[str(path)] = reason
    if on_done:
        on_done(path, None)


def _unexpected(exc: Exception, on_bug: Callable[[BaseException], str] | None) -> str:
    first = str(exc).splitlines()[0][:200] if str(exc) else ""
    what = f"unexpected {type(exc).__name__}" + (f": {first}" if first else "")
    where = ""
    if on_bug is not None:
        try:
            where = f", {on_bug(exc)}"
        except OSError:
            where = ""
    return (
        f"{what} (the other sessions went on)\n  fix: this is a bug in traces{where}; "
        "the rest of this file is imported once it is fixed"
    )


def import_sessions(
    root: Path,
    transcripts: list[Path] | None = None,
    *,
    since_s: float | None = None,
    on_found: Callable[[int], None] | None = None,
    on_done: Callable[[Path, Tally | None], None] | None = None,
    on_bug: Callable[[BaseException], str] | None = None,
) -> tuple[Tally, str]:
    """`traces import`: the given transcripts, or this repository's sessions active within
    `since_s`, exported to the repository's destination. Returns the tally and where to."""
    from claudetracing.core import config as config_mod
    from claudetracing.export.exporter import exporter_for
    from claudetracing.export.lock import exporter_lock

    cfg = config_mod.load(root)
    check_signin(cfg.tracking_uri)  # refused once, before any transcript is read
    found = expand(transcripts) if transcripts else discover(root, since_s=since_s)
    destination = f"{userinfo.mask(cfg.tracking_uri)} experiment {cfg.experiment!r}"
    if not found:
        return Tally(), destination
    exporter = exporter_for(cfg)
    with exporter_lock(wait=120) as held:
        if not held:
            raise TracesError("the exporter is busy", "try again in a minute")
        if on_found:
            on_found(len(found))
        return run_import(exporter, found, on_done=on_done, on_bug=on_bug), destination
