"""Attribute our export's wall time to its steps by wrapping them (microseconds per call)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from claudetracing.export import exporter as export_mod
from claudetracing.export import ledger as ledger_mod
from claudetracing.export.backend import MlflowBackend

SPLIT: dict[str, float] = {}
_RUNNING: set[str] = set()  # a step timed inside itself (write_many -> write) counts once


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if name in _RUNNING:
            return fn(*args, **kwargs)
        _RUNNING.add(name)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _RUNNING.discard(name)
            SPLIT[name] = SPLIT.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def _wrap(owner: Any, attribute: str, name: str) -> None:
    """Time `owner.attribute` as step `name`, if this version of the code has it (the bench
    may run on an older checkout with `--before-src`)."""
    found = getattr(owner, attribute, None)
    if found is not None:
        setattr(owner, attribute, _timed(name, found))


def install() -> None:
    _wrap(export_mod, "read_session", "parse")
    _wrap(export_mod, "build_trace", "build")
    for attribute in ("find_turn", "session_turns"):
        _wrap(MlflowBackend, attribute, "find_turn")
    for attribute in ("write", "write_many"):
        _wrap(MlflowBackend, attribute, "write_spans")
    for attribute in ("get", "confirm_many"):
        _wrap(MlflowBackend, attribute, "read_back")
    _wrap(ledger_mod.SessionLedger, "save", "ledger_save")


def take() -> dict[str, float]:
    """The split so far, and start again from zero."""
    found = dict(SPLIT)
    SPLIT.clear()
    return found
