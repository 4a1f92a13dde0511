"""The exporter: drains the spool, one process at a time, and removes an entry only once landed."""

from __future__ import annotations

import errno
import json
import logging
import logging.handlers
import os
import signal
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from claudetracing.capture import spool
from claudetracing.core import databricks_profiles, keys, paths, telemetry, userinfo
from claudetracing.core.durations import format_duration, parse_duration
from claudetracing.core.errors import TracesError
from claudetracing.core.failures import described, one_line
from claudetracing.core.regular_files import kind_of
from claudetracing.export.deadline import OutOfTime, bounded
from claudetracing.export.lock import exporter_lock
from claudetracing.export.tally import Tally

if TYPE_CHECKING:
    from claudetracing.export.exporter import Exporter

log = logging.getLogger("claudetracing.exporter")

TURN_WAIT_S = 20.0  # how long a Stop waits for its turn to reach the transcript
POLL_S = 0.25
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 900.0
DEFAULT_GIVE_UP = "7d"
DEFAULT_GIVE_UP_UNREADABLE = "10m"
DEFAULT_BACKGROUND_WAIT = "1h"
# Well under the detached run's 15 minutes, well over a healthy export (seconds) and the 20 s a
# Stop may wait for its turn: a transcript or destination this slow is tried again later.
DEFAULT_ENTRY_TIMEOUT = "2m"
HELD_RECHECK_S = 300.0  # a held turn is looked at again this often (its release may be due)


def give_up_after() -> float:
    value = os.environ.get(keys.GIVE_UP_AFTER, DEFAULT_GIVE_UP)
    return parse_duration(value, what=keys.GIVE_UP_AFTER)


def give_up_unreadable_after() -> float:
    """How long an event whose transcript cannot be read at all (a folder, a symlink loop,
    gone) is retried: no backend coming back can fix it, so it fails long before the others."""
    value = os.environ.get(keys.GIVE_UP_UNREADABLE_AFTER, DEFAULT_GIVE_UP_UNREADABLE)
    return parse_duration(value, what=keys.GIVE_UP_UNREADABLE_AFTER)


def entry_timeout() -> float:
    """How long the export of one transcript's events may hold the exporter lock."""
    value = os.environ.get(keys.ENTRY_TIMEOUT, DEFAULT_ENTRY_TIMEOUT)
    return parse_duration(value, what=keys.ENTRY_TIMEOUT)


def unreadable(transcript: Path) -> str | None:
    """Why a transcript can never be read as it stands, or None when it can (or may soon)."""
    try:
        info = os.stat(transcript)
    except FileNotFoundError:
        return f"transcript {transcript} is gone"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"transcript {transcript} is a symbolic link loop"
        if exc.errno == errno.ENOTDIR:
            return f"transcript {transcript} is inside something that is not a folder"
        if exc.errno == errno.EACCES:
            return f"transcript {transcript} cannot be read (permission denied)"
        return None  # an I/O error may pass: retried like any other failure
    if stat.S_ISDIR(info.st_mode):
        return f"transcript {transcript} is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):  # a FIFO or device: never opened
        return f"transcript {transcript} is {kind_of(info.st_mode)}, not a regular file"
    if not os.access(transcript, os.R_OK):
        return f"transcript {transcript} cannot be read (permission denied)"
    return None


def background_wait() -> float:
    """How long a finished turn waits for a background subagent it launched."""
    value = os.environ.get(keys.BACKGROUND_WAIT, DEFAULT_BACKGROUND_WAIT)
    return parse_duration(value, what=keys.BACKGROUND_WAIT)


def status_path() -> Path:
    return spool.spool_dir() / "status.json"


def read_status() -> dict[str, object]:
    try:
        body = json.loads(status_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _write_status(**changes: object) -> None:
    masked = {k: userinfo.mask(v) if isinstance(v, str) else v for k, v in changes.items()}
    body = {**read_status(), **masked}
    try:
        paths.ensure_private_dir(spool.spool_dir())
        spool._write_private(status_path(), json.dumps(body, indent=1).encode())
    except OSError:
        log.exception("cannot write %s", status_path())


Progress = Callable[[str], None]


def _root_for(entry: spool.Entry) -> Path:
    from claudetracing.core.config import find_root

    project = entry.env.get("CLAUDE_PROJECT_DIR") or entry.payload.get("cwd") or os.getcwd()
    return find_root(Path(str(project)))


def _save(entry: spool.Entry) -> None:
    """Record an entry's new state; a spool that cannot take it now is logged, not fatal (the
    entry keeps its previous state and is tried again)."""
    try:
        spool.save(entry)
    except OSError:
        log.exception("cannot update %s", entry.path)


class _Drainer:
    def __init__(self, *, force: bool, progress: Progress | None) -> None:
        self.force = force
        self.progress = progress
        self.report = Tally()
        self.exporters: dict[tuple[str, str], Exporter] = {}
        # Each entry is tried at most once per drain: a pass that takes longer than the backoff
        # must not turn into a loop against a backend that is down.
        self.tried: set[str] = set()
        # Entries kept only because their turn waits for background work, by transcript: done
        # with as soon as an export of that transcript holds nothing back any more.
        self.held: dict[str, list[spool.Entry]] = {}
        # Entries set aside, or that could not be moved: never looked at again in this drain.
        self.aside: set[str] = set()
        # What entries held before this drain recorded its attempt on them (see `_begin`).
        self.before: dict[str, tuple[int, str | None]] = {}
        # Destinations an export ran out of time against, with why: their other transcripts
        # wait for a later run instead of each taking the same time.
        self.stalled: dict[tuple[str, str], str] = {}

    def _destination(self, entry: spool.Entry) -> tuple[str, str]:
        return (str(_root_for(entry)), json.dumps(entry.env, sort_keys=True))

    def _exporter(self, entry: spool.Entry) -> Exporter:
        from claudetracing.core import config as config_mod
        from claudetracing.export.exporter import exporter_for

        key = self._destination(entry)
        if key not in self.exporters:
            cfg = config_mod.load(Path(key[0]), environ={**entry.env})
            self.exporters[key] = exporter_for(cfg)
        return self.exporters[key]

    def run_once(self) -> int:
        """Process every due entry once; return how many were due."""
        now = time.time()
        groups: dict[str, list[spool.Entry]] = {}
        due = 0
        for path in spool.entries():
            if path.name in self.aside:
                continue  # could not be moved: already reported in this drain
            try:
                entry = spool.load(path)
            except (OSError, ValueError) as exc:
                if not os.path.lexists(path):
                    continue  # another drain finished it
                # One entry that is no entry (a field of the wrong type, a folder named like
                # one) is set aside: it never holds back the entries queued behind it.
                self._set_aside(path, spool.CORRUPT, f"unreadable spool entry: {exc}")
                continue
            if entry.event not in keys.HOOK_EVENTS:
                path.unlink(missing_ok=True)
                continue
            if not entry.transcript:
                reason = "unreadable spool entry: the payload has no transcript_path"
                self._set_aside(path, spool.CORRUPT, reason)
                continue
            age = now - entry.received_at
            if entry.attempts and age > give_up_after():
                self._give_up(entry, entry.last_error or "no error recorded")
                continue
            if entry.attempts and age > give_up_unreadable_after():
                source = Path(entry.transcript)
                cannot = unreadable(source)
                if cannot:  # no need to wait for its next attempt: it would fail the same
                    session = entry.session_id or source.stem
                    self._give_up(entry, f"session {session}: {cannot}")
                    continue
            if path.name in self.tried or (not self.force and entry.next_attempt_at > now):
                if entry.held:
                    self.held.setdefault(entry.transcript, []).append(entry)
                continue
            self.tried.add(path.name)
            groups.setdefault(entry.transcript, []).append(entry)
            due += 1
        for transcript, batch in groups.items():
            self._export_group(Path(transcript), batch)
        return due

    def _set_aside(self, path: Path, folder: str, reason: str) -> None:
        """Move an entry to `failed/` or `corrupt/` with a `.reason` file beside it."""
        self.aside.add(path.name)
        if folder == spool.CORRUPT:
            reason = one_line(
                f"{reason} ({path.name})",
                f"inspect it in {spool.spool_dir() / folder}, then delete it",
            )
        log.error("%s: %s", path.name, reason)
        try:
            target = spool.move(path, folder)
        except OSError as exc:
            what = f"cannot set aside spool entry {path}: {exc.strerror or exc}"
            log.error("%s", what)
            self.report.errors[str(path)] = one_line(what, f"move or delete {path} by hand")
            return
        try:
            beside = target.with_name(f"{target.stem}.reason")
            spool._write_private(beside, (reason + "\n").encode())
        except OSError:
            log.exception("cannot write the reason beside %s", target)
        (self.report.corrupt if folder == spool.CORRUPT else self.report.failed).append(path.name)
        self.report.aside[path.name] = reason
        _write_status(last_error=reason, last_error_at=time.time(), last_error_entry=path.name)

    def _give_up(self, entry: spool.Entry, reason: str) -> None:
        attempts = max(entry.attempts, 1)
        failed = spool.spool_dir() / spool.FAILED / entry.path.name
        what = reason.split("; fix: ")[0]  # the fix of a retry is no fix once given up
        self._set_aside(
            entry.path,
            spool.FAILED,
            one_line(
                f"gave up after {attempts} attempt(s): {what}",
                f"once the cause is fixed, move {failed} back to "
                f"{spool.spool_dir() / spool.PENDING}/ and run `traces flush`",
            ),
        )

    def _export_group(self, transcript: Path, batch: list[spool.Entry]) -> None:
        batch.sort(key=lambda e: e.received_at)
        # A resumed run can append to the ended session's file: only what began before the end
        # is taken as it stands.
        ended_at = max((e.received_at for e in batch if e.event in keys.FINAL_EVENTS), default=None)
        stops = [e for e in batch if e.event == keys.STOP]
        # A Stop promises a finished turn, and says how it ended; the file can lag behind it.
        promise = stops[-1] if stops else None
        answer = promise.payload.get("last_assistant_message") if promise else None
        hint = answer if isinstance(answer, str) else None
        # A Stop without the answer's text (older versions) still says its turn is over.
        stopped_at = promise.received_at if promise is not None and hint is None else None
        session = batch[-1].session_id or transcript.stem
        try:
            destination = self._destination(batch[-1])
        except Exception:  # the exporter says why, below
            destination = None
        if destination in self.stalled:
            what = f"session {session}: waits: {self.stalled[destination]}"
            self._retry_later(batch, one_line(what, "the next export tries it again"))
            return
        self._begin(batch, session)
        cannot = unreadable(transcript)
        if cannot:
            # No backend coming back fixes this one: it fails after the shorter give-up time.
            fix = "restore the transcript, or leave it: it moves to spool/failed/ after " + (
                os.environ.get(keys.GIVE_UP_UNREADABLE_AFTER) or DEFAULT_GIVE_UP_UNREADABLE
            )
            log.warning("export of %s cannot succeed: %s", transcript, cannot)
            self._retry_later(batch, one_line(f"session {session}: {cannot}", fix), unusable=True)
            return
        limit = entry_timeout()
        try:
            # One slow transcript or destination must not hold the lock for the whole run.
            with bounded(limit):
                report = self._export(transcript, batch, promise, hint, stopped_at, ended_at)
        except OutOfTime:
            took = f"its export took longer than {format_duration(limit)}"
            log.warning("export of %s stopped: %s", transcript, took)
            if destination is not None:
                self.exporters.pop(destination, None)  # interrupted mid-call: not used again
                self.stalled[destination] = (
                    f"an export to the same destination ran out of time (session {session}: {took})"
                )
            fix = (
                "it is retried later and the turns queued behind it go on; if the destination "
                f"is just slow, raise {keys.ENTRY_TIMEOUT}"
            )
            self._retry_later(batch, one_line(f"session {session}: {took}", fix))
            return
        except Exception as exc:  # the exporter never dies of one transcript
            what, hint = described(exc)
            reason = one_line(f"session {session}: {what}", hint)
            if isinstance(exc, TracesError):
                # What it wraps (MLflow's, the store's) keeps its traceback in the log.
                cause = exc.__cause__
                log.warning("export of %s failed: %s", transcript, reason, exc_info=cause)
            else:  # a bug: its traceback goes to the log, the one line to the user
                log.exception("export of %s failed: %s", transcript, reason)
            self._retry_later(batch, reason)
            return
        done = batch
        self.report.held += report.held
        if report.held:
            # The last event stays, marked held, so that the turn is looked at again even if
            # no hook of this session ever fires again (Claude Code killed mid-subagent).
            *done, keep = batch
            self._hold(keep, f"{report.held} turn(s) wait for a background subagent")
        else:
            done = done + self.held.pop(batch[-1].transcript or "", [])
        for entry in done:
            entry.path.unlink(missing_ok=True)
            self.report.done_entries += 1
        _write_status(last_success_at=time.time())

    def _export(
        self,
        transcript: Path,
        batch: list[spool.Entry],
        promise: spool.Entry | None,
        hint: str | None,
        stopped_at: float | None,
        ended_at: float | None,
    ) -> Tally:
        """The turns of one transcript exported as its events ask; the last tally."""
        final = any(e.event in keys.FINAL_EVENTS for e in batch)
        exporter = self._exporter(batch[-1])
        if self.progress:
            self.progress(f"exporting {transcript.name}")
        deadline = time.monotonic() + TURN_WAIT_S
        wait = background_wait()
        while True:
            report = exporter.export_transcript(
                transcript, done_hint=hint, stopped_at=stopped_at, background_wait=wait
            )
            self._count(report)
            waiting = (
                promise is not None
                and report.pending
                and (
                    report.pending_started_ns is None
                    or report.pending_started_ns / 1e9 <= promise.received_at
                )
            )
            if not waiting:
                break
            if time.monotonic() >= deadline:
                if final:
                    break  # the session is over: the turn is taken as it stands, below
                raise TracesError(
                    f"the turn reported at Stop is not complete in {transcript} yet",
                    "it will be retried; `traces flush` retries now",
                )
            time.sleep(POLL_S)
        if final:
            # SessionEnd: nothing more will be written; an unfinished turn goes as it is.
            report = exporter.export_transcript(
                transcript, final=True, ended_at=ended_at, background_wait=wait
            )
            self._count(report)
        return report

    def _begin(self, batch: list[spool.Entry], session: str) -> None:
        """Count the attempt before its work begins: a run killed in the middle (the detached
        worker's 15-minute alarm, an OOM kill, a reboot) has still used it up, so an event that
        kills every exporter reaches its give-up time instead of blocking all the ones after."""
        now = time.time()
        stopped = one_line(
            f"session {session}: the exporter stopped while exporting it (killed, or out of time)",
            f"it is retried; the details are in {paths.data_dir() / 'logs' / 'exporter.log'}",
        )
        for entry in batch:
            self.before[entry.path.name] = (entry.attempts, entry.last_error)
            entry.attempts += 1
            entry.last_error = stopped
            entry.next_attempt_at = now + _backoff(entry.attempts)
            _save(entry)

    def _hold(self, entry: spool.Entry, reason: str) -> None:
        # Waiting for a background subagent is no failed attempt.
        entry.attempts, entry.last_error = self.before.get(
            entry.path.name, (entry.attempts, entry.last_error)
        )
        entry.held = reason
        entry.next_attempt_at = time.time() + min(HELD_RECHECK_S, background_wait())
        _save(entry)

    def _count(self, report: Tally) -> None:
        self.report.exported += report.exported
        self.report.already += report.already
        self.report.copied += report.copied
        # Re-reads of a lagging file see the same broken lines again: count them once.
        self.report.skipped_lines = max(self.report.skipped_lines, report.skipped_lines)

    def _retry_later(
        self, batch: list[spool.Entry], reason: str, *, unusable: bool = False
    ) -> None:
        now = time.time()
        limit = give_up_unreadable_after() if unusable else give_up_after()
        for entry in batch:  # each counted its attempt already (`_begin`), or was not tried
            if now - entry.received_at > limit:
                self._give_up(entry, reason)
                continue
            entry.last_error = reason
            entry.held = None
            entry.next_attempt_at = now + _backoff(entry.attempts)
            _save(entry)
            self.report.retrying[entry.path.name] = reason
        _write_status(last_error=reason, last_error_at=now)


def _backoff(attempts: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** min(attempts, 20))


def drain(
    *, force: bool = False, wait_for_lock: float = 0.0, progress: Progress | None = None
) -> Tally:
    """Export everything due. With `force`, backoff is ignored (that is `traces flush`)."""
    drainer = _Drainer(force=force, progress=progress)
    while True:
        with exporter_lock(wait_for_lock) as held:
            if not held:
                drainer.report.busy = True
                return drainer.report
            # Loop while entries keep arriving; each pass only takes what is due.
            while drainer.run_once() and not force:
                pass
            if force:
                drainer.force = False
        # An entry written while we released the lock would otherwise wait for the next hook.
        if not _has_due(exclude=drainer.tried | drainer.aside):
            return drainer.report
        wait_for_lock = 0.0


def _has_due(exclude: set[str]) -> bool:
    now = time.time()
    for path in spool.entries():
        if path.name in exclude:
            continue
        try:
            if spool.load(path).next_attempt_at <= now:
                return True
        except (OSError, ValueError):
            return True
    return False


def configure_logging() -> None:
    """The exporter's log file, for the detached worker and `traces flush` alike: what went
    wrong in detail goes there, people get one line per failure."""
    root = logging.getLogger()
    if any(getattr(h, "name", None) == _LOG_HANDLER for h in root.handlers):
        return
    handler: logging.Handler
    try:
        folder = paths.ensure_private_dir(paths.data_dir() / "logs")
        handler = logging.handlers.RotatingFileHandler(
            folder / "exporter.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()  # no log file: still no log lines on the terminal
    handler.set_name(_LOG_HANDLER)
    handler.setFormatter(_MaskedFormatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


_LOG_HANDLER = "claudetracing-exporter"


class _MaskedFormatter(logging.Formatter):
    """Log lines, tracebacks included, with the user-info of every URI masked."""

    def format(self, record: logging.LogRecord) -> str:
        return userinfo.mask(super().format(record))


def ignore_overriding_env() -> list[str]:
    """The exporter signs in to Databricks only with the profile's OAuth login: DATABRICKS_*
    values it inherits (a token, a client secret, another host) are dropped before MLflow or
    the SDK can read them, and `traces status` names them."""
    dropped = databricks_profiles.drop_overriding_env(os.environ)
    _write_status(ignored_env=dropped or None)
    if dropped:
        log.warning("ignored inherited %s: signing in only with the profile", ", ".join(dropped))
    return dropped


MAX_LIFETIME_S = 900


def main() -> int:
    """`python -m claudetracing.export.worker`: the detached exporter started by the hook."""
    paths.private_umask()  # also when an older hook, or a person, starts it
    # Whatever a library prints goes to exporter.stderr: masked like our own log.
    sys.stderr = userinfo.MaskedStream(sys.stderr)
    telemetry.keep_off()  # before MLflow is imported: no usage events from the background
    configure_logging()
    ignore_overriding_env()
    # A hung network call must not hold the lock forever: whatever is unfinished stays in the
    # spool for the next exporter.
    signal.alarm(MAX_LIFETIME_S)
    try:
        report = drain()
        _write_status(exporter_stopped=None)  # whatever stopped an earlier run is gone
        log.info(
            "drain: %d exported, %d already there, %d retrying, %d failed, %d corrupt%s",
            len(report.exported),
            report.already + report.copied,
            len(report.retrying),
            len(report.failed),
            len(report.corrupt),
            " (another exporter was running)" if report.busy else "",
        )
    except TracesError as exc:  # e.g. the lock file is not a file: one line, for `status`
        reason = one_line(exc.message, exc.hint)
        log.error("exporter stopped: %s", reason)
        _write_status(last_error=reason, last_error_at=time.time(), exporter_stopped=reason)
    except BaseException:
        log.exception("exporter crashed; entries stay in the spool for the next run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
