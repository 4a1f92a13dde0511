"""The stand-in workspace's Unity Catalog TRACING routes: trace locations, experiment links, OTLP
span ingestion into the `<prefix>_otel_spans` table, and the v4 trace info / read / search API.

What the routes require, as decided for the stand-in (ADR 0016 says why):
- creating a location: the schema exists; the caller has USE_CATALOG, USE_SCHEMA and CREATE_TABLE
  (ALL_PRIVILEGES on the catalog or schema includes them, as in UC) or owns the schema; the
  `sql_warehouse_id` names an existing warehouse. The caller becomes the tables' owner.
- writing spans or trace info: MODIFY on the spans table, granted explicitly (on it, its schema or
  catalog) or as its owner; ALL_PRIVILEGES does not count (FACTS.md: documented as not enough).
- reading (batchGet, info, search): SELECT on the spans table, the same way.
- every v4 call that runs SQL resolves a warehouse: the request's `sql_warehouse_id`, else the
  location's; one that no longer exists is INVALID_PARAMETER_VALUE "Could not resolve a SQL
  warehouse ID" (the text MLflow's client recognises).

Storage (`uc_traces.json` under the server root): span rows appended per table (a Delta table keeps
every row written: a span written twice is read back twice), trace infos by location and trace id
(a second CreateTraceInfo replaces the first), and one line per OTLP request in
`otel_requests.jsonl`. Experiment locations keep the JSON ENDPOINT_NOT_FOUND of a workspace without
the v4 service, so MLflow falls back to v3 for them; an experiment linked to a UC location is
answered from that location.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import uc_state

if TYPE_CHECKING:
    from .workspace import DatabricksShim

Json = dict[str, Any]
Answer = tuple[int, list[tuple[str, str]], bytes]

TABLE_HEADER = "HTTP_X_DATABRICKS_UC_TABLE_NAME"
KINDS = ("spans", "logs", "metrics", "annotations")
DESTINATION_TAG = "mlflow.experiment.databricksTraceDestinationPath"
LINK_TAGS = {
    "spans": "mlflow.experiment.databricksTraceSpanStorageTable",
    "logs": "mlflow.experiment.databricksTraceLogStorageTable",
    "annotations": "mlflow.experiment.databricksTraceAnnotationsTable",
}
STORE_FILE = "uc_traces.json"
REQUESTS_FILE = "otel_requests.jsonl"
# Outages a test asks for: {"otlp_unavailable": n} answers the next n OTLP requests 503 without
# storing; {"otlp_answer_lost": n} stores the next n and then answers 503, as when the answer
# of an accepted write is lost on the way back.
FAULTS_FILE = "uc_faults.json"
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]+$")

_LOCATIONS = "/api/5.0/mlflow/tracing/locations"
_LOCATION = re.compile(r"^/api/5\.0/mlflow/tracing/locations/(?P<id>[^/]+)$")
_LINK = re.compile(r"^/api/5\.0/mlflow/experiments/(?P<exp>[^/]+)/trace-location:link$")
_OTLP = "/api/2.0/otel/v1/traces"
_V4 = "/api/4.0/mlflow/traces"
_SEARCH = f"{_V4}/search-long-running"
_OPERATION = re.compile(r"^/api/4\.0/mlflow/traces/search/operations/(?P<name>[^/]+)$")
_BATCH_GET = re.compile(r"^/api/4\.0/mlflow/traces/(?P<loc>[^/]+\.[^/]+\.[^/]+)/batchGet$")
_ONE = re.compile(
    r"^/api/4\.0/mlflow/traces/(?P<loc>[^/]+\.[^/]+\.[^/]+)/(?P<hex>[0-9a-f]{32})/(?P<what>info|tags)$"
)

_lock = threading.Lock()
_operations: dict[str, Json] = {}  # search operation name -> {"polls": n, "response": {...}}


class UcError(Exception):
    """A Databricks-style JSON error (the shim answers it as its own ShimError)."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def _error(status: int, code: str, message: str) -> UcError:
    return UcError(status, code, message)


# ---- dispatch ------------------------------------------------------------------------------


def answer(
    shim: DatabricksShim, environ: dict[str, Any], user: str, method: str, path: str, body: bytes
) -> Answer | None:
    """The answer to a UC tracing route, or None when the path is not one of them (or is a v4
    call about experiment locations only: the caller then answers ENDPOINT_NOT_FOUND)."""
    query = _query(environ)
    if path == _LOCATIONS and method == "POST":
        return _create_location(shim, user, shim._body_json(body))
    if (match := _LOCATION.match(path)) and method == "GET":
        return _get_location(shim, user, match["id"])
    if (match := _LINK.match(path)) and method == "POST":
        return _link(shim, user, match["exp"], shim._body_json(body))
    if path == _OTLP:
        if method != "POST":
            raise _error(405, "BAD_REQUEST", f"{method} not allowed on {path}")
        return _ingest(shim, environ, user, body)
    if path == _SEARCH and method == "POST":
        return _search(shim, user, shim._body_json(body))
    if (match := _OPERATION.match(path)) and method == "GET":
        return _poll(shim, match["name"])
    if (match := _BATCH_GET.match(path)) and method == "GET":
        return _batch_get(shim, user, match["loc"], query)
    if match := _ONE.match(path):
        location, hex_id, what = match["loc"], match["hex"], match["what"]
        if what == "info" and method == "POST":
            return _create_info(shim, user, location, hex_id, shim._body_json(body))
        if what == "info" and method == "GET":
            return _get_info(shim, user, location, hex_id, query)
        if what == "tags" and method == "PATCH":
            return _set_tag(shim, user, location, hex_id, shim._body_json(body))
    return None


def _query(environ: dict[str, Any]) -> dict[str, list[str]]:
    import urllib.parse

    return urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))


def _json(status: int, payload: Json) -> Answer:
    return status, [("Content-Type", "application/json")], json.dumps(payload).encode()


# ---- the span/info store ---------------------------------------------------------------------


def _store_path(shim: DatabricksShim) -> Path:
    return Path(shim.root) / STORE_FILE


def _load_store(shim: DatabricksShim) -> Json:
    path = _store_path(shim)
    store: Json = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    store.setdefault("rows", {})  # table -> [{"trace": hex, "span": hex, "proto": b64}]
    store.setdefault("infos", {})  # location -> {hex: TraceInfo JSON}
    return store


def _save_store(shim: DatabricksShim, store: Json) -> None:
    path = _store_path(shim)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(store), encoding="utf-8")
    tmp.replace(path)


def _record_otlp(shim: DatabricksShim, entry: Json) -> None:
    with (Path(shim.root) / REQUESTS_FILE).open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


# ---- privileges --------------------------------------------------------------------------------


def _has(state: Json, user: str, full_name: str, privilege: str, *, all_counts: bool) -> bool:
    parts = full_name.split(".")
    for depth in range(1, len(parts) + 1):
        if _owner(state, ".".join(parts[:depth])) == user:
            return True
    found = uc_state.privileges(state, user, full_name)
    return privilege in found or (all_counts and "ALL_PRIVILEGES" in found)


def _owner(state: Json, full_name: str) -> str | None:
    parts = full_name.split(".")
    catalog = state["catalogs"].get(parts[0], {})
    if len(parts) == 1:
        owner = catalog.get("owner")
    elif len(parts) == 2:
        owner = catalog.get("schemas", {}).get(parts[1], {}).get("owner")
    else:
        owner = state["tables"].get(full_name, {}).get("owner")
    return str(owner) if owner else None


def _require_table(state: Json, user: str, table: str, privilege: str) -> None:
    if not _has(state, user, table, privilege, all_counts=False):
        raise _error(
            403,
            "PERMISSION_DENIED",
            f"User {user} does not have {privilege} on Table '{table}'.",
        )


# ---- locations and links -----------------------------------------------------------------------


def _prefix_fields(request: Json) -> tuple[str, str, str]:
    prefix = request.get("uc_table_prefix")
    if not isinstance(prefix, dict):
        raise _error(400, "INVALID_PARAMETER_VALUE", "Missing required field: uc_table_prefix")
    names = [str(prefix.get(k) or "") for k in ("catalog_name", "schema_name", "table_prefix")]
    for field, value in zip(("catalog_name", "schema_name", "table_prefix"), names, strict=True):
        if not value:
            raise _error(
                400, "INVALID_PARAMETER_VALUE", f"Missing required field: uc_table_prefix.{field}"
            )
        if not _IDENTIFIER.match(value):
            raise _error(400, "INVALID_PARAMETER_VALUE", f"Invalid {field}: '{value}'.")
    return names[0], names[1], names[2]


def _location_json(full: str, entry: Json) -> Json:
    catalog, schema, prefix = full.split(".")
    tables = entry["tables"]
    return {
        "catalog_name": catalog,
        "schema_name": schema,
        "table_prefix": prefix,
        "location_id": entry["location_id"],
        "spans_table_name": tables["spans"],
        "logs_table_name": tables["logs"],
        "metrics_table_name": tables["metrics"],
        "annotations_table_name": tables["annotations"],
    }


def _create_location(shim: DatabricksShim, user: str, request: Json) -> Answer:
    catalog, schema, prefix = _prefix_fields(request)
    full = f"{catalog}.{schema}.{prefix}"
    with _lock:
        state = uc_state.load(shim.root)
        if not uc_state.schema_exists(state, catalog, schema):
            raise _error(404, "NOT_FOUND", f"Schema '{catalog}.{schema}' does not exist.")
        needs = (
            (catalog, "USE_CATALOG", "Catalog"),
            (f"{catalog}.{schema}", "USE_SCHEMA", "Schema"),
            (f"{catalog}.{schema}", "CREATE_TABLE", "Schema"),
        )
        for name, privilege, kind in needs:
            if not _has(state, user, name, privilege, all_counts=True):
                raise _error(
                    403,
                    "PERMISSION_DENIED",
                    f"User {user} does not have {privilege} on {kind} '{name}'.",
                )
        warehouse_id = str(request.get("sql_warehouse_id") or "")
        if not warehouse_id:
            raise _error(
                400,
                "INVALID_PARAMETER_VALUE",
                "Could not resolve a SQL warehouse ID. Please provide sql_warehouse_id.",
            )
        if uc_state.warehouse(state, warehouse_id) is None:
            raise _error(
                404, "RESOURCE_DOES_NOT_EXIST", f"SQL warehouse {warehouse_id} does not exist."
            )
        entry = state["locations"].get(full)
        if entry is None:  # create-or-get: an existing location is answered as it is
            tables = {kind: f"{full}_otel_{kind}" for kind in KINDS}
            entry = {
                "sql_warehouse_id": warehouse_id,
                "tables": tables,
                "location_id": str(uuid.uuid5(uuid.NAMESPACE_URL, full)),
                "owner": user,
            }
            state["locations"][full] = entry
            for table in tables.values():
                state["tables"].setdefault(table, {"grants": {}})["owner"] = user
            uc_state.save(shim.root, state)
    return _json(200, {"uc_table_prefix": _location_json(full, entry)})


def _find_location(state: Json, key: str) -> tuple[str, Json] | None:
    if key in state["locations"]:
        return key, state["locations"][key]
    for full, entry in state["locations"].items():
        if entry.get("location_id") == key:
            return full, entry
    return None


def _get_location(shim: DatabricksShim, user: str, key: str) -> Answer:
    state = uc_state.load(shim.root)
    found = _find_location(state, key)
    if found is None:
        raise _error(404, "RESOURCE_DOES_NOT_EXIST", f"Trace location '{key}' does not exist.")
    full, entry = found
    if not _has(state, user, entry["tables"]["spans"], "SELECT", all_counts=False):
        _require_table(state, user, entry["tables"]["spans"], "SELECT")
    return _json(200, {"uc_table_prefix": _location_json(full, entry)})


def _link(shim: DatabricksShim, user: str, experiment_id: str, request: Json) -> Answer:
    catalog, schema, prefix = _prefix_fields(request)
    full = f"{catalog}.{schema}.{prefix}"
    status, _ = shim._internal(
        "GET", "/api/2.0/mlflow/experiments/get", {"experiment_id": experiment_id}
    )
    if status != 200:
        raise _error(
            404, "RESOURCE_DOES_NOT_EXIST", f"Experiment with id '{experiment_id}' not found."
        )
    with _lock:
        state = uc_state.load(shim.root)
        entry = state["locations"].get(full)
        if entry is None:
            raise _error(404, "RESOURCE_DOES_NOT_EXIST", f"Trace location '{full}' does not exist.")
        linked = state["links"].get(experiment_id)
        if linked not in (None, full):
            raise _error(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Experiment {experiment_id} is already linked to trace location '{linked}'.",
            )
        state["links"][experiment_id] = full
        uc_state.save(shim.root, state)
    # Databricks records the link on the experiment itself, so later clients route by its tags.
    tags = {DESTINATION_TAG: full, **{tag: entry["tables"][k] for k, tag in LINK_TAGS.items()}}
    for key, value in tags.items():
        shim._internal(
            "POST",
            "/api/2.0/mlflow/experiments/set-experiment-tag",
            body={"experiment_id": experiment_id, "key": key, "value": value},
        )
    return _json(200, {})


def _location_of(state: Json, full: str) -> Json:
    entry = state["locations"].get(full)
    if entry is None:
        raise _error(404, "RESOURCE_DOES_NOT_EXIST", f"Trace location '{full}' does not exist.")
    found: Json = entry
    return found


def _resolve_warehouse(state: Json, entry: Json, requested: str) -> str:
    warehouse_id = requested or str(entry.get("sql_warehouse_id") or "")
    if requested and uc_state.warehouse(state, requested) is None:
        raise _error(404, "RESOURCE_DOES_NOT_EXIST", f"SQL warehouse {requested} does not exist.")
    if not warehouse_id or uc_state.warehouse(state, warehouse_id) is None:
        raise _error(
            400,
            "INVALID_PARAMETER_VALUE",
            "Could not resolve a SQL warehouse ID for this request. "
            "Please provide sql_warehouse_id.",
        )
    return warehouse_id


# ---- writes ------------------------------------------------------------------------------------


def _ingest(shim: DatabricksShim, environ: dict[str, Any], user: str, body: bytes) -> Answer:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    table = str(environ.get(TABLE_HEADER) or "")
    content_type = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    entry: Json = {"table": table, "content_type": content_type, "user": user, "spans": 0}
    try:
        if not table:
            raise _error(
                400,
                "INVALID_PARAMETER_VALUE",
                "Missing required header X-Databricks-UC-Table-Name.",
            )
        if content_type != "application/x-protobuf":
            raise _error(
                415,
                "INVALID_PARAMETER_VALUE",
                f"Unsupported content type '{content_type}': expected application/x-protobuf.",
            )
        with _lock:
            fault = _take_fault(shim)
            if fault == "otlp_unavailable":
                raise _error(
                    503, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable."
                )
            state = uc_state.load(shim.root)
            location = next(
                (f for f, e in state["locations"].items() if e["tables"]["spans"] == table), None
            )
            if location is None:
                raise _error(404, "TABLE_DOES_NOT_EXIST", f"Table '{table}' does not exist.")
            _require_table(state, user, table, "MODIFY")
            request = ExportTraceServiceRequest()
            try:
                request.ParseFromString(body)
            except Exception as err:
                raise _error(400, "MALFORMED_REQUEST", f"Invalid OTLP protobuf: {err}") from err
            rows = [
                {
                    "trace": span.trace_id.hex(),
                    "span": span.span_id.hex(),
                    "proto": base64.b64encode(span.SerializeToString()).decode(),
                }
                for resource in request.resource_spans
                for scope in resource.scope_spans
                for span in scope.spans
            ]
            store = _load_store(shim)
            store["rows"].setdefault(table, []).extend(rows)
            _save_store(shim, store)
        entry.update(status=200, spans=len(rows), traces=sorted({r["trace"] for r in rows}))
        if fault == "otlp_answer_lost":
            entry["answer_lost"] = True
            raise _error(503, "TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable.")
    except Exception as err:
        entry.update(status=getattr(err, "status", 500), error=str(err))
        _record_otlp(shim, entry)
        raise
    _record_otlp(shim, entry)
    return _json(200, {})


def _take_fault(shim: DatabricksShim) -> str | None:
    path = Path(shim.root) / FAULTS_FILE
    if not path.exists():
        return None
    faults: dict[str, int] = json.loads(path.read_text(encoding="utf-8"))
    for name, left in faults.items():
        if left > 0:
            faults[name] = left - 1
            path.write_text(json.dumps(faults), encoding="utf-8")
            return name
    return None


def _create_info(
    shim: DatabricksShim, user: str, location: str, hex_id: str, request: Json
) -> Answer:
    info = request.get("trace_info") if isinstance(request.get("trace_info"), dict) else request
    if not isinstance(info, dict) or not info.get("trace_id"):
        raise _error(400, "INVALID_PARAMETER_VALUE", "Missing required field: trace_info.trace_id")
    with _lock:
        state = uc_state.load(shim.root)
        entry = _location_of(state, location)
        _require_table(state, user, entry["tables"]["spans"], "MODIFY")
        _resolve_warehouse(state, entry, "")
        info = dict(info)
        info["trace_id"] = hex_id
        info["trace_location"] = {
            "type": "UC_TABLE_PREFIX",
            "uc_table_prefix": _location_json(location, entry),
        }
        store = _load_store(shim)
        store["infos"].setdefault(location, {})[hex_id] = info
        _save_store(shim, store)
    return _json(200, info)


def _set_tag(shim: DatabricksShim, user: str, location: str, hex_id: str, request: Json) -> Answer:
    key = str(request.get("key") or "")
    if not key:
        raise _error(400, "INVALID_PARAMETER_VALUE", "Missing required field: key")
    with _lock:
        state = uc_state.load(shim.root)
        entry = _location_of(state, location)
        _require_table(state, user, entry["tables"]["spans"], "MODIFY")
        store = _load_store(shim)
        info = store["infos"].get(location, {}).get(hex_id)
        if info is None:
            raise _error(404, "RESOURCE_DOES_NOT_EXIST", f"Trace with ID {hex_id} does not exist.")
        info.setdefault("tags", {})[key] = str(request.get("value") or "")
        _save_store(shim, store)
    return _json(200, {})


# ---- reads -------------------------------------------------------------------------------------


def _trace_json(store: Json, entry: Json, location: str, hex_id: str) -> Json | None:
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    info = store["infos"].get(location, {}).get(hex_id)
    if info is None:
        return None
    spans = []
    for row in store["rows"].get(entry["tables"]["spans"], []):
        if row["trace"] == hex_id:
            span = Span()
            span.ParseFromString(base64.b64decode(row["proto"]))
            spans.append(MessageToDict(span, preserving_proto_field_name=True))
    return {"trace_info": info, "spans": spans}


def _batch_get(
    shim: DatabricksShim, user: str, location: str, query: dict[str, list[str]]
) -> Answer:
    state = uc_state.load(shim.root)
    entry = _location_of(state, location)
    _require_table(state, user, entry["tables"]["spans"], "SELECT")
    _resolve_warehouse(state, entry, (query.get("sql_warehouse_id") or [""])[0])
    store = _load_store(shim)
    traces = []
    for trace_id in query.get("trace_ids", []):
        hex_id = trace_id.rsplit("/", 1)[-1]
        found = _trace_json(store, entry, location, hex_id)
        if found is not None:
            traces.append(found)
    return _json(200, {"traces": traces})


def _get_info(
    shim: DatabricksShim, user: str, location: str, hex_id: str, query: dict[str, list[str]]
) -> Answer:
    state = uc_state.load(shim.root)
    entry = _location_of(state, location)
    _require_table(state, user, entry["tables"]["spans"], "SELECT")
    _resolve_warehouse(state, entry, (query.get("sql_warehouse_id") or [""])[0])
    info = _load_store(shim)["infos"].get(location, {}).get(hex_id)
    if info is None:
        raise _error(404, "RESOURCE_DOES_NOT_EXIST", f"Trace with ID {hex_id} does not exist.")
    return _json(200, {"trace": {"trace_info": info}})


def _search_locations(state: Json, request: Json) -> list[str] | None:
    """The UC locations a search names (directly or through linked experiments); None when it
    names only unlinked experiments (answered ENDPOINT_NOT_FOUND, as without v4)."""
    found: list[str] = []
    for location in request.get("locations") or []:
        prefix = location.get("uc_table_prefix")
        experiment = location.get("mlflow_experiment")
        if isinstance(prefix, dict):
            found.append(
                f"{prefix.get('catalog_name')}.{prefix.get('schema_name')}."
                f"{prefix.get('table_prefix')}"
            )
        elif isinstance(experiment, dict):
            linked = state["links"].get(str(experiment.get("experiment_id")))
            if linked is None:
                return None
            found.append(linked)
        else:
            raise _error(400, "INVALID_PARAMETER_VALUE", f"Unsupported location: {location}")
    return found or None


def _search(shim: DatabricksShim, user: str, request: Json) -> Answer | None:
    from google.protobuf.json_format import ParseDict
    from mlflow.entities import TraceInfo
    from mlflow.protos.databricks_tracing_pb2 import TraceInfo as ProtoTraceInfo
    from mlflow.utils.search_utils import SearchTraceUtils

    state = uc_state.load(shim.root)
    locations = _search_locations(state, request)
    if locations is None:
        return None
    store = _load_store(shim)
    infos: list[Any] = []
    for location in locations:
        entry = _location_of(state, location)
        _require_table(state, user, entry["tables"]["spans"], "SELECT")
        _resolve_warehouse(state, entry, str(request.get("sql_warehouse_id") or ""))
        for info in store["infos"].get(location, {}).values():
            infos.append(TraceInfo.from_proto(ParseDict(info, ProtoTraceInfo())))
    try:
        utils: Any = SearchTraceUtils
        infos = utils.filter(infos, request.get("filter") or None)
        infos = utils.sort(infos, request.get("order_by") or ["timestamp_ms DESC"])
    except Exception as err:
        raise _error(400, "INVALID_PARAMETER_VALUE", f"Invalid filter or order: {err}") from err
    offset = int(request.get("page_token") or 0)
    size = int(request.get("max_results") or 100)
    page = infos[offset : offset + size]
    next_token = str(offset + size) if offset + size < len(infos) else ""
    from mlflow.utils.proto_json_utils import message_to_json

    response: Json = {"trace_infos": [json.loads(message_to_json(i.to_proto())) for i in page]}
    if next_token:
        response["next_page_token"] = next_token
    name = f"operations/{uuid.uuid4().hex}"
    with _lock:
        _operations[name.split("/", 1)[1]] = {"polls": 0, "response": response}
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return _json(
        200,
        {"name": name.split("/", 1)[1], "done": False, "metadata": {"start_time": started}},
    )


def _poll(shim: DatabricksShim, name: str) -> Answer:
    with _lock:
        operation = _operations.get(name)
        if operation is None:
            raise _error(404, "RESOURCE_DOES_NOT_EXIST", f"Operation {name} does not exist.")
        operation["polls"] += 1
        polls = operation["polls"]
    if polls == 1:  # the real search is slow: the first poll finds it still running
        return _json(200, {"name": name, "done": False})
    return _json(200, {"name": name, "done": True, "response": operation["response"]})
