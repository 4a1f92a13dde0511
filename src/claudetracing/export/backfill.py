"""Backfill: export a repository's past sessions, exactly once, under the exporter lock."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from claudetracing.core.errors import TracesError
from claudetracing.export.exporter import Exporter
from claudetracing.export.tally import Tally
from claudetracing.transcript.discovery import discover, expand

QUIET_AFTER_S = 600  # a transcript untouched this long belongs to a session that is over


def run_import(
    exporter: Exporter,
    transcripts: list[Path],
    *,
    on_done: Callable[[Path, Tally | None], None] | None = None,
) -> Tally:
    summary = Tally()
    now = time.time()
    for path in transcripts:
        try:
            final = now - path.stat().st_mtime > QUIET_AFTER_S
            report = exporter.export_transcript(path, final=final)
        except TracesError as exc:
            summary.sessions += 1
            summary.errors[str(path)] = str(exc)
            if on_done:
                on_done(path, None)
            continue
        summary.add(report)
        if on_done:
            on_done(path, report)
    return summary


def import_sessions(
    root: Path,
    transcripts: list[Path] | None = None,
    *,
    since_s: float | None = None,
    on_found: Callable[[int], None] | None = None,
    on_done: Callable[[Path, Tally | None], None] | None = None,
) -> tuple[Tally, str]:
    """`traces import`: the given transcripts, or this repository's sessions active within
    `since_s`, exported to the repository's destination. Returns the tally and where to."""
    from claudetracing.core import config as config_mod
    from claudetracing.export.exporter import exporter_for
    from claudetracing.export.lock import exporter_lock

    found = expand(transcripts) if transcripts else discover(root, since_s=since_s)
    cfg = config_mod.load(root)
    destination = f"{cfg.tracking_uri} experiment {cfg.experiment!r}"
    if not found:
        return Tally(), destination
    exporter = exporter_for(cfg)
    with exporter_lock(wait=120) as held:
        if not held:
            raise TracesError("the exporter is busy", "try again in a minute")
        if on_found:
            on_found(len(found))
        return run_import(exporter, found, on_done=on_done), destination
