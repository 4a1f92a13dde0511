"""The stand-in's limits that a real workspace enforces: short-lived OAuth tokens and the
100,000-trace cap of a workspace experiment."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

# Databricks' documented default (Tracing FAQ: "Maximum Number of Traces per Experiment").
DEFAULT_MAX_TRACES = 100_000
START_TRACE = "/api/3.0/mlflow/traces"
# The exact answer of a full experiment was not found published: the nearest Databricks error
# code for a quota, and a message naming what is full (core/failures.py matches its words).
CAP_ERROR_CODE = "RESOURCE_LIMIT_EXCEEDED"
CAP_STATUS = 400


class LimitError(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def short_lived_user(token: str, issued: str, user: str) -> str | None:
    """The user of a short-lived token the fake CLI issued (`<issued>~<expiry epoch>`); a
    401 once it has expired, as a workspace answers an expired OAuth access token."""
    base, sep, expiry = token.rpartition("~")
    if not sep or base != issued or not expiry.isdigit():
        return None
    if time.time() >= int(expiry):
        raise LimitError(401, "UNAUTHENTICATED", "Invalid access token. The token has expired.")
    return user


def _experiment_of(body: bytes) -> str | None:
    try:
        request: Any = json.loads(body or b"{}")
        location = request["trace"]["trace_info"]["trace_location"]
        return str(location["mlflow_experiment"]["experiment_id"])
    except (ValueError, KeyError, TypeError):
        return None  # MLflow's own validation answers a malformed request


def check_trace_cap(store: Path, body: bytes, max_traces: int) -> None:
    """Refuse to start a trace in an experiment that already holds `max_traces`."""
    experiment = _experiment_of(body)
    if experiment is None:
        return
    with sqlite3.connect(store) as db:
        (held,) = db.execute(
            "SELECT COUNT(*) FROM trace_info WHERE experiment_id = ?", (experiment,)
        ).fetchone()
    if held >= max_traces:
        raise LimitError(
            CAP_STATUS,
            CAP_ERROR_CODE,
            f"Experiment {experiment} has reached the maximum number of traces ({max_traces}). "
            "Delete traces or store new traces in Unity Catalog.",
        )
