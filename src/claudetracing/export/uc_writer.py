"""Turns into a Unity Catalog trace location: one OTLP request per turn, the trace info, and the
read-back by id (ADR 16).

MLflow builds the trace exactly as for experiment storage (backend.py's `_emit`: the same tags,
metadata, previews and token usage); only the two store calls are taken over here, because
MLflow's UC writer posts one OTLP request per span when synchronous and signs in again before
each. This module makes its own three calls, signed in once per process
(`databricks_signin.sign_in(profile)`):

- `POST /api/2.0/otel/v1/traces` with every span of the turn (MLflow's span→OTLP conversion);
- `POST /api/4.0/mlflow/traces/<location>/<hex>/info` with MLflow's v4 trace info;
- `GET /api/4.0/mlflow/traces/<location>/batchGet` to read the trace back by id.

Exactly once without deleting (UC traces cannot be deleted): a turn's trace id and span ids are
derived from its turn key, so a retry names the same trace. Before writing, the trace is read back
by id; what is already stored is not written again (spans by id, the info as a whole). The info is
written first and the spans after it, so a failure between the two leaves a trace whose info says
which turn it is, and the next attempt adds the missing spans."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from claudetracing.core import failures
from claudetracing.core.errors import BackendError, TracesError
from claudetracing.trace.builder import TURN_KEY_TAG

if TYPE_CHECKING:
    from mlflow.entities import Trace

DESTINATION_TAG = "mlflow.experiment.databricksTraceDestinationPath"
SPANS_TABLE_TAG = "mlflow.experiment.databricksTraceSpanStorageTable"
TRACE_ID_PREFIX = "trace:/"
OTLP_PATH = "/api/2.0/otel/v1/traces"
TABLE_HEADER = "X-Databricks-UC-Table-Name"
TIMEOUT_SECONDS = 60


def is_uc_trace_id(trace_id: str) -> bool:
    return trace_id.startswith(TRACE_ID_PREFIX)


def location_from_tags(tags: dict[str, str]) -> tuple[str, str] | None:
    """(location `c.s.prefix`, spans table) when an experiment is linked to Unity Catalog."""
    location = tags.get(DESTINATION_TAG) or ""
    if location.count(".") != 2:
        return None
    return location, tags.get(SPANS_TABLE_TAG) or f"{location}_otel_spans"


def turn_hex(turn_key: str) -> str:
    """The turn's OpenTelemetry trace id (32 hex digits): the same for every attempt."""
    return hashlib.sha256(f"claudetracing-trace:{turn_key}".encode()).hexdigest()[:32]


def _span_hex(turn_key: str, index: int) -> str:
    return hashlib.sha256(f"claudetracing-span:{turn_key}:{index}".encode()).hexdigest()[:16]


@dataclass
class Stored:
    """What the location holds for one trace id."""

    info: dict[str, Any] | None  # the TraceInfo as JSON, None when not written
    span_ids: list[str] = field(default_factory=list)  # hex, one per span row
    proto: Any = None  # the `mlflow.databricks.Trace` message

    @property
    def turn_key(self) -> str | None:
        key = (self.info or {}).get("tags", {}).get(TURN_KEY_TAG)
        return str(key) if key is not None else None


class UcWriter:
    """One UC trace location reached through one signed-in profile."""

    def __init__(self, profile: str, location: str, spans_table: str) -> None:
        self.profile = profile
        self.location = location
        self.spans_table = spans_table
        self.otel_requests = 0  # this process's OTLP requests (bench, tests)

    def trace_id(self, turn_key: str) -> str:
        return f"{TRACE_ID_PREFIX}{self.location}/{turn_hex(turn_key)}"

    # ---- HTTP ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        import requests

        from claudetracing.core import databricks_signin

        try:
            signin = databricks_signin.sign_in(self.profile)
            answer = requests.request(
                method,
                f"{signin.host}{path}",
                data=data,
                params=params,
                headers={**signin.headers(), **(headers or {})},
                timeout=TIMEOUT_SECONDS,
            )
        except TracesError:
            raise
        except Exception as exc:
            raise self._explain(exc) from exc
        if answer.status_code == 401:
            databricks_signin.forget(self.profile)
        if answer.status_code >= 400:
            try:
                error = answer.json()
            except ValueError:
                error = {}
            code = error.get("error_code") or f"HTTP {answer.status_code}"
            message = error.get("message") or answer.text[:300]
            raise self._explain(RuntimeError(f"{code}: {message}"))
        try:
            parsed: dict[str, Any] = answer.json() if answer.content else {}
        except ValueError:
            parsed = {}
        return parsed

    def _explain(self, exc: BaseException) -> TracesError:
        return failures.explain(
            exc,
            "unity catalog",
            profile=self.profile,
            uri=f"databricks://{self.profile}",
            location=self.location,
            table=self.spans_table,
        )

    # ---- reads ---------------------------------------------------------------------------

    def read(self, trace_ids: list[str]) -> dict[str, Stored]:
        """The stored state of these traces (by trace id), in one batchGet."""
        from google.protobuf.json_format import MessageToDict, ParseDict
        from mlflow.protos.databricks_tracing_pb2 import BatchGetTraces

        hexes = [trace_id.rsplit("/", 1)[-1] for trace_id in trace_ids]
        answer = self._call(
            "GET",
            f"/api/4.0/mlflow/traces/{self.location}/batchGet",
            params={"location_id": self.location, "trace_ids": hexes},
        )
        response = ParseDict(answer, BatchGetTraces.Response(), ignore_unknown_fields=True)
        found: dict[str, Stored] = {}
        for proto in response.traces:
            hex_id = proto.trace_info.trace_id.rsplit("/", 1)[-1]
            info = MessageToDict(proto.trace_info, preserving_proto_field_name=True)
            spans = [span.span_id.hex() for span in proto.spans]
            found[f"{TRACE_ID_PREFIX}{self.location}/{hex_id}"] = Stored(info, spans, proto)
        return found

    def get(self, trace_id: str) -> Trace | None:
        """The trace as MLflow's entity (what `traces show` renders), or None."""
        from mlflow.utils.databricks_tracing_utils import trace_from_proto

        stored = self.read([trace_id]).get(trace_id)
        if stored is None or stored.proto is None:
            return None
        trace: Trace = trace_from_proto(stored.proto, self.location)
        return trace

    # ---- writes --------------------------------------------------------------------------

    def store(self, built: Trace, turn_key: str) -> str:
        """Write MLflow's built trace under the turn's own id; return that id once it reads
        back whole. A trace already (partly) there from an earlier attempt is completed."""
        trace_id = self.trace_id(turn_key)
        info, spans = self._convert(built, turn_key)
        before = self.read([trace_id]).get(trace_id)
        if before is not None and before.turn_key not in (None, turn_key):
            raise BackendError(
                f"trace {trace_id} holds turn {before.turn_key}, not {turn_key}",
                "this is a bug in traces: report it with `traces status --json`",
            )
        if before is None or before.info is None:
            self._write_info(info)
        have = set(before.span_ids) if before is not None else set()
        missing = [span for span in spans if span.span_id.hex() not in have]
        if missing:
            self._write_spans(built, missing)
        self.confirm(trace_id, turn_key, len(spans))
        return trace_id

    def confirm(self, trace_id: str, turn_key: str, expected_spans: int) -> None:
        """Raise unless the trace reads back by id with its turn key and every span, once."""
        stored = self.read([trace_id]).get(trace_id)
        if stored is None or stored.info is None:
            raise BackendError(f"trace {trace_id} was written but cannot be read back")
        if stored.turn_key != turn_key:
            raise BackendError(f"trace {trace_id} was written without its turn key {turn_key}")
        if len(stored.span_ids) != expected_spans or len(set(stored.span_ids)) != expected_spans:
            raise BackendError(
                f"trace {trace_id} has {len(stored.span_ids)} span rows, expected {expected_spans}"
            )

    def _convert(self, built: Trace, turn_key: str) -> tuple[Any, list[Any]]:
        """MLflow's trace info and OTLP spans, renamed to the turn's deterministic ids."""
        from mlflow.entities.trace_location import TraceLocation
        from mlflow.tracing.constant import SpanAttributeKey
        from mlflow.tracing.utils import add_size_stats_to_trace_metadata

        hex_id = turn_hex(turn_key)
        trace_id = self.trace_id(turn_key)
        catalog, schema, prefix = self.location.split(".")
        new_ids = {s.span_id: _span_hex(turn_key, i) for i, s in enumerate(built.data.spans)}
        spans = []
        for span in built.data.spans:
            proto = span.to_otel_proto()
            proto.trace_id = bytes.fromhex(hex_id)
            proto.span_id = bytes.fromhex(new_ids[span.span_id])
            if span.parent_id:
                proto.parent_span_id = bytes.fromhex(new_ids[span.parent_id])
            for attribute in proto.attributes:
                if attribute.key == SpanAttributeKey.REQUEST_ID:
                    attribute.value.string_value = trace_id
            spans.append(proto)
        add_size_stats_to_trace_metadata(built)  # as MLflow's exporter does before storing
        info = built.info
        info.trace_id = trace_id
        info.trace_location = TraceLocation.from_databricks_uc_table_prefix(catalog, schema, prefix)
        return info, spans

    def _write_info(self, info: Any) -> None:
        from mlflow.utils.proto_json_utils import message_to_json

        hex_id = info.trace_id.rsplit("/", 1)[-1]
        self._call(
            "POST",
            f"/api/4.0/mlflow/traces/{self.location}/{hex_id}/info",
            data=message_to_json(info.to_proto()).encode(),
            headers={"Content-Type": "application/json"},
        )

    def _write_spans(self, built: Trace, spans: list[Any]) -> None:
        """Every given span in ONE OTLP request to the location's spans table."""
        from mlflow.tracing.utils.otlp import resource_to_otel_proto
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        first = built.data.spans[0] if built.data.spans else None
        resource = getattr(getattr(first, "_span", None), "resource", None)
        resource_spans.resource.CopyFrom(resource_to_otel_proto(resource))
        resource_spans.scope_spans.add().spans.extend(spans)
        self.otel_requests += 1
        self._call(
            "POST",
            OTLP_PATH,
            data=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf", TABLE_HEADER: self.spans_table},
        )
