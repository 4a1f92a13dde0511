"""A bound on how long the export of one transcript may hold the exporter lock.

Whatever hangs (a tracking server that accepts and never answers, a file system that stalls) is
interrupted by SIGALRM in the main thread, so the drain sets that transcript's events aside for
a later run and exports the turns queued behind them. The detached worker's own lifetime alarm
(`signal.alarm`) shares the timer: it is kept, and still ends the run when it comes first."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class OutOfTime(BaseException):
    """The bounded work took too long. Not an Exception: no `except Exception` on the way
    (MLflow's retries, ours) may swallow it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g}s")
        self.seconds = seconds


def _end_run() -> None:
    """The run's own alarm is due: end the process as that alarm always did."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGALRM)


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Raise OutOfTime inside the block once it has run `seconds`. No bound with `seconds` 0
    or less, or off the main thread (only it receives signals)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    run_left = signal.getitimer(signal.ITIMER_REAL)[0]  # the run's alarm; 0.0: none
    started = time.monotonic()
    armed = True

    def expired(signum: int, frame: FrameType | None) -> None:
        if not armed:
            return
        if run_left and time.monotonic() - started >= run_left - 0.05:
            _end_run()
        raise OutOfTime(seconds)

    previous = signal.signal(signal.SIGALRM, expired) or signal.SIG_DFL
    signal.setitimer(signal.ITIMER_REAL, min(seconds, run_left) if run_left else seconds)
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if run_left:
            left = run_left - (time.monotonic() - started)
            if left <= 0:
                _end_run()
            signal.setitimer(signal.ITIMER_REAL, left)
