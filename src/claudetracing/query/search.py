"""Find traces again: the newest that match, one by id, and the experiments to look in."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from claudetracing.core.errors import TracesError
from claudetracing.export import reads
from claudetracing.query.model import ExperimentRow
from claudetracing.trace.builder import TOOL_ERRORS_TAG
from claudetracing.trace.stored import Filters, Trace, utc_iso

if TYPE_CHECKING:
    from claudetracing.export.backend import MlflowBackend


def search(
    backend: MlflowBackend, filters: Filters, *, limit: int, include_spans: bool = False
) -> list[Trace]:
    """Newest first, at most `limit`; every filter runs on the server."""
    return list(reads.traces(backend, filters, limit=limit, include_spans=include_spans))


def get(backend: MlflowBackend, trace_id: str) -> Trace:
    # Experiment storage: tr-<32 hex>; a Unity Catalog location: trace:/<c.s.prefix>/<32 hex>.
    if not re.match(
        r"^((tr-)?|trace:/[A-Za-z0-9_]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+/)[0-9a-f]{32}$", trace_id
    ):
        raise TracesError(
            f"{trace_id!r} is not a trace id",
            "trace ids look like tr-0123… (or trace:/catalog.schema.prefix/0123… in Unity "
            "Catalog); find them with `traces search`",
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
    from claudetracing.export.backend import MlflowBackend

    rows = []
    for experiment in reads.experiments(backend):
        # Read through a backend of that experiment: one of this repository's would create
        # this repository's experiment when it does not exist yet.
        each = MlflowBackend(backend.tracking_uri, experiment.name)
        newest = reads.newest_ms(each, experiment.experiment_id)
        tally = reads.count(each, experiment.experiment_id, cap=count_cap, sum_tag=TOOL_ERRORS_TAG)
        rows.append(
            ExperimentRow(
                name=experiment.name,
                experiment_id=experiment.experiment_id,
                traces=tally.traces,
                capped=tally.capped,
                last_activity=None if newest is None else utc_iso(newest),
                tool_errors=tally.tag_sum,
                tool_errors_unknown=tally.untagged,
            )
        )
    return rows


def experiment_named(backend: MlflowBackend, experiment_id: str) -> str:
    """The name of the experiment with this id (`--experiment-id`, as `traces list` shows)."""
    found = reads.experiments(backend)
    for experiment in found:
        if experiment.experiment_id == experiment_id.strip():
            return experiment.name
    known = ", ".join(f"{e.experiment_id} ({e.name})" for e in found[:5]) or "none yet"
    raise TracesError(
        f"no claude-code experiment with id {experiment_id!r} at {backend.tracking_uri}",
        f"see `traces list` for the ids (here: {known}), or pass --experiment NAME",
    )
