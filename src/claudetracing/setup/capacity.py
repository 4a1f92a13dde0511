"""How full a workspace experiment is: its traces against the cap a workspace enforces.

A Databricks workspace experiment holds at most 100,000 traces (unless Databricks raised it:
`CLAUDETRACING_TRACE_CAP`); past that, every new trace is refused. MLflow has no count, so the
experiment's trace ids are paged through (no spans, 500 a page) and the count stops at the
cap: at most 200 requests for the default cap, once per `traces status`, none with --offline.
Experiments whose traces live in Unity Catalog have no cap and are not counted."""

from __future__ import annotations

import math
from dataclasses import dataclass

from claudetracing.core import config as config_mod
from claudetracing.core import keys, naming
from claudetracing.core.errors import TracesError
from claudetracing.core.failures import TRACE_CAP_WAYS_OUT
from claudetracing.core.tracking_uri import databricks_profile

WARN_FROM = 0.8
PAGE = 500
# The tag MLflow sets on an experiment linked to a Unity Catalog trace location.
UC_LOCATION_TAG = "mlflow.experiment.databricksTraceDestinationPath"


@dataclass(frozen=True)
class Capacity:
    traces: int  # counted no further than `threshold`
    cap: int
    threshold: int  # warn from here

    @property
    def full(self) -> bool:
        return self.traces >= self.cap

    @property
    def near(self) -> bool:
        return self.traces >= self.threshold


def cap_of(cfg: config_mod.Config) -> int:
    raw = cfg.get(keys.TRACE_CAP)
    if raw is None or not raw.strip():
        return naming.TRACE_CAP
    try:
        value = int(raw.strip().replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise TracesError(
            f"{keys.TRACE_CAP}={raw!r} is not a positive number of traces",
            f"set it to the cap Databricks gave the experiment, or remove it (default "
            f"{naming.TRACE_CAP:,})",
        )
    return value


def measure(cfg: config_mod.Config, experiment_id: str) -> Capacity | None:
    """How full the experiment is; None where no cap applies (not a workspace experiment, or
    its traces are stored in Unity Catalog)."""
    if databricks_profile(cfg.tracking_uri) is None:
        return None
    from claudetracing.export import reads
    from claudetracing.export.backend import MlflowBackend

    cap = cap_of(cfg)
    backend = MlflowBackend(cfg.tracking_uri, cfg.experiment)
    if UC_LOCATION_TAG in reads.experiment_tags(backend, experiment_id):
        return None
    threshold = max(1, math.ceil(cap * WARN_FROM))
    tally = reads.count(backend, experiment_id, cap=cap, page_size=PAGE)
    return Capacity(tally.traces, cap, threshold)


def warning(cfg: config_mod.Config, capacity: Capacity) -> tuple[str, str] | None:
    """(what, fix) when the experiment holds 80% of its cap or more."""
    if not capacity.near:
        return None
    profile = databricks_profile(cfg.tracking_uri) or "DEFAULT"
    ways = TRACE_CAP_WAYS_OUT.format(profile=profile, rollover=naming.rollover(cfg.experiment))
    share = min(100, math.floor(100 * capacity.traces / capacity.cap))
    if capacity.full:
        what = (
            f"experiment {cfg.experiment!r} is full: it holds {capacity.traces:,} traces, the "
            f"most a workspace experiment may hold ({capacity.cap:,}); new turns wait in the spool"
        )
    else:
        what = (
            f"experiment {cfg.experiment!r} holds {capacity.traces:,} of the {capacity.cap:,} "
            f"traces a workspace experiment may hold ({share}%); at the cap new turns wait"
        )
    return what, ways
