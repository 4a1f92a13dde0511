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


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPLIT[name] = SPLIT.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def install() -> None:
    export_mod.read_session = _timed("parse", export_mod.read_session)
    export_mod.build_trace = _timed("build", export_mod.build_trace)
    MlflowBackend.find_turn = _timed("find_turn", MlflowBackend.find_turn)  # type: ignore[method-assign]
    MlflowBackend.write = _timed("write_spans", MlflowBackend.write)  # type: ignore[method-assign]
    MlflowBackend.get = _timed("read_back", MlflowBackend.get)  # type: ignore[method-assign]
    ledger_mod.SessionLedger.save = _timed("ledger_save", ledger_mod.SessionLedger.save)  # type: ignore[method-assign]


def take() -> dict[str, float]:
    """The split so far, and start again from zero."""
    found = dict(SPLIT)
    SPLIT.clear()
    return found
