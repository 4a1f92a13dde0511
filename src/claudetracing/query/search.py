"""Find traces again: the newest that match, one by id, and the experiments to look in."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from claudetracing.core.errors import TracesError
from claudetracing.export import reads
from claudetracing.query.model import ExperimentRow
from claudetracing.trace.stored import Filters, Trace, utc_iso

if TYPE_CHECKING:
    from claudetracing.export.backend import MlflowBackend


def search(
    backend: MlflowBackend, filters: Filters, *, limit: int, include_spans: bool = False
) -> list[Trace]:
    """Newest first, at most `limit`; every filter runs on the server."""
    return list(reads.traces(backend, filters, limit=limit, include_spans=include_spans))


def get(backend: MlflowBackend, trace_id: str) -> Trace:
    if not re.match(r"^(tr-)?[0-9a-f]{32}$", trace_id):
        raise TracesError(
            f"{trace_id!r} is not a trace id",
            "trace ids look like tr-0123…; find them with `traces search`",
        )
    found = reads.trace(backend, trace_id)
    if found is None:
        raise TracesError(
            f"no trace {trace_id} in {backend.tracking_uri}",
            "check the id with `traces search`, or pass --experiment",
        )
    return found


def list_experiments(backend: MlflowBackend, *, count_cap: int = 10_000) -> list[ExperimentRow]:
    """Experiments that follow the convention (a `claude-code/` folder), with counts."""
    rows = []
    for experiment in reads.experiments(backend):
        newest = reads.newest_ms(backend, experiment.experiment_id)
        traces, capped = reads.count(backend, experiment.experiment_id, cap=count_cap)
        rows.append(
            ExperimentRow(
                name=experiment.name,
                experiment_id=experiment.experiment_id,
                traces=traces,
                capped=capped,
                last_activity=None if newest is None else utc_iso(newest),
            )
        )
    return rows
