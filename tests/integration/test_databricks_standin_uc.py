"""The stand-in's Unity Catalog tracing routes, driven by MLflow's OWN client (3.17): a UC-linked
experiment, a traced function, search and read-back; and each rejection Databricks makes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.databricks_standin.fixtures import StandinWorkspace

pytestmark = pytest.mark.server

CATALOG, SCHEMA, PREFIX, WAREHOUSE = "main", "agents", "claude", "wh-1"
LOCATION = f"{CATALOG}.{SCHEMA}.{PREFIX}"
SPANS = f"{LOCATION}_otel_spans"
WRITER = ["USE_SCHEMA", "CREATE_TABLE"]


@pytest.fixture
def mlflow_uc(
    databricks_workspace: StandinWorkspace, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """MLflow in this process on `databricks://dev`, synchronous, with a warehouse id; the
    warehouse-running probe (a WorkspaceClient without profile) switched off by its own knob."""
    import mlflow
    from mlflow.tracking import fluent

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    monkeypatch.setenv("MLFLOW_TRACING_SQL_WAREHOUSE_ID", WAREHOUSE)
    monkeypatch.setenv("MLFLOW_SQL_WAREHOUSE_AUTO_START", "false")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", databricks_workspace.profile)
    mlflow.set_tracking_uri(f"databricks://{databricks_workspace.profile}")
    try:
        yield mlflow
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        fluent._active_experiment_id = None
        fluent._sync_trace_destination_and_provider(None)


def _setup(ws: StandinWorkspace, grants: list[str] | None = None) -> None:
    ws.add_catalog(CATALOG, grants={ws.user: ["USE_CATALOG"]})
    ws.add_schema(CATALOG, SCHEMA, grants={ws.user: WRITER if grants is None else grants})
    ws.add_warehouse(WAREHOUSE, "Starter Warehouse")


def _post(
    ws: StandinWorkspace, path: str, body: bytes, headers: dict[str, str], method: str = "POST"
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{ws.host}{path}",
        data=body if method != "GET" else None,
        method=method,
        headers={"Authorization": f"Bearer {ws.token}", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _create(ws: StandinWorkspace, warehouse: str = WAREHOUSE, prefix: str = PREFIX) -> Any:
    body = {
        "uc_table_prefix": {"catalog_name": CATALOG, "schema_name": SCHEMA, "table_prefix": prefix},
        "sql_warehouse_id": warehouse,
    }
    headers = {"Content-Type": "application/json"}
    return _post(ws, "/api/5.0/mlflow/tracing/locations", json.dumps(body).encode(), headers)


def _otlp(trace_hex: str, span_hex: str = "00000000000000aa") -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex(trace_hex)
    span.span_id = bytes.fromhex(span_hex)
    span.name = "root"
    span.start_time_unix_nano, span.end_time_unix_nano = 1, 2
    encoded: bytes = request.SerializeToString()
    return encoded


# ---- MLflow's own client round trip ------------------------------------------------------------


def test_mlflow_writes_and_reads_a_uc_linked_experiment(
    databricks_workspace: StandinWorkspace, mlflow_uc: Any
) -> None:
    from mlflow.entities.trace_location import UnityCatalog

    ws = databricks_workspace
    _setup(ws)
    experiment = mlflow_uc.set_experiment(
        f"/Users/{ws.user}/uc-demo", trace_location=UnityCatalog(CATALOG, SCHEMA, PREFIX)
    )
    assert experiment.trace_location.full_table_prefix == LOCATION
    stored = mlflow_uc.MlflowClient().get_experiment(experiment.experiment_id)
    assert stored.tags["mlflow.experiment.databricksTraceDestinationPath"] == LOCATION
    assert ws.uc_state()["links"] == {experiment.experiment_id: LOCATION}
    assert sorted(ws.uc_state()["tables"]) == sorted(
        f"{LOCATION}_otel_{kind}" for kind in ("spans", "logs", "metrics", "annotations")
    )

    @mlflow_uc.trace(name="outer")  # type: ignore[untyped-decorator]
    def outer(x: int) -> int:
        return int(inner(x)) + 1

    @mlflow_uc.trace(name="inner")  # type: ignore[untyped-decorator]
    def inner(x: int) -> int:
        return x * 2

    assert outer(3) == 7
    trace_id = mlflow_uc.get_last_active_trace_id()
    assert trace_id is not None and trace_id.startswith(f"trace:/{LOCATION}/")

    # MLflow's synchronous UC writer: one OTLP request per span (FACTS.md), each accepted.
    accepted = [r for r in ws.otel_requests() if r["status"] == 200]
    assert [r["spans"] for r in accepted] == [1, 1]
    assert {r["table"] for r in accepted} == {SPANS}
    hex_id = trace_id.rsplit("/", 1)[1]
    assert list(ws.uc_trace_infos(LOCATION)) == [hex_id]
    assert {row["trace"] for row in ws.uc_spans(LOCATION)} == {hex_id}

    found = mlflow_uc.search_traces(
        locations=[experiment.experiment_id], return_type="list", include_spans=True
    )
    assert [t.info.trace_id for t in found] == [trace_id]
    spans = {s.name: s for s in found[0].data.spans}
    assert set(spans) == {"outer", "inner"}
    assert spans["inner"].parent_id == spans["outer"].span_id
    assert spans["outer"].outputs == 7 and spans["inner"].inputs == {"x": 3}
    # The long-running search was polled until done (first poll: still running).
    routes = ws.routes()
    assert ("POST", "/api/4.0/mlflow/traces/search-long-running") in routes
    polls = [p for m, p in routes if p.startswith("/api/4.0/mlflow/traces/search/operations/")]
    assert len(polls) >= 2

    fetched = mlflow_uc.get_trace(trace_id)
    assert fetched is not None and len(fetched.data.spans) == 2
    mlflow_uc.MlflowClient().set_trace_tag(trace_id, "reviewed", "yes")
    assert ws.uc_trace_infos(LOCATION)[hex_id]["tags"]["reviewed"] == "yes"
    assert ws.unknown_routes() == []


def test_experiment_searches_without_a_link_still_fall_back_to_v3(
    databricks_workspace: StandinWorkspace, mlflow_uc: Any
) -> None:
    mlflow_uc.set_experiment(f"/Users/{databricks_workspace.user}/plain")
    with mlflow_uc.start_span("plain"):
        pass
    found = mlflow_uc.search_traces(return_type="list")
    assert len(found) == 1 and found[0].info.trace_id.startswith("tr-")
    assert ("POST", "/api/3.0/mlflow/traces/search") in databricks_workspace.routes()


# ---- rejections ----------------------------------------------------------------------------------


def test_creating_a_location_needs_schema_grants_and_warehouse(
    databricks_workspace: StandinWorkspace,
) -> None:
    ws = databricks_workspace
    status, answer = _create(ws)
    assert (status, answer["error_code"]) == (404, "NOT_FOUND")
    assert f"Schema '{CATALOG}.{SCHEMA}' does not exist" in answer["message"]

    _setup(ws, grants=["USE_SCHEMA"])
    status, answer = _create(ws)
    assert (status, answer["error_code"]) == (403, "PERMISSION_DENIED")
    assert "CREATE_TABLE" in answer["message"]

    ws.add_schema(CATALOG, SCHEMA, grants={ws.user: ["CREATE_TABLE"]})
    status, answer = _create(ws, warehouse="")
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "Could not resolve a SQL warehouse ID" in answer["message"]
    status, answer = _create(ws, warehouse="nope")
    assert (status, answer["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert ws.uc_state()["locations"] == {}

    status, answer = _create(ws)
    assert status == 200
    assert answer["uc_table_prefix"]["spans_table_name"] == SPANS
    # Create-or-get: asking again answers the same location.
    assert _create(ws) == (200, answer)
    location_id = answer["uc_table_prefix"]["location_id"]
    status, got = _post(ws, f"/api/5.0/mlflow/tracing/locations/{location_id}", b"", {}, "GET")
    assert (status, got) == (200, answer)


def test_linking_needs_a_location_and_refuses_a_second_one(
    databricks_workspace: StandinWorkspace, mlflow_uc: Any
) -> None:
    ws = databricks_workspace
    _setup(ws)
    experiment_id = mlflow_uc.MlflowClient().create_experiment(f"/Users/{ws.user}/linked")
    path = f"/api/5.0/mlflow/experiments/{experiment_id}/trace-location:link"

    def link(prefix: str) -> tuple[int, dict[str, Any]]:
        body = {
            "experiment_id": experiment_id,
            "uc_table_prefix": {
                "catalog_name": CATALOG,
                "schema_name": SCHEMA,
                "table_prefix": prefix,
            },
        }
        return _post(ws, path, json.dumps(body).encode(), {"Content-Type": "application/json"})

    assert link(PREFIX)[0] == 404  # no such location yet
    assert _create(ws)[0] == 200 and _create(ws, prefix="other")[0] == 200
    assert link(PREFIX) == (200, {})
    assert link(PREFIX) == (200, {})  # idempotent
    status, answer = link("other")
    assert status == 400 and "already linked" in answer["message"]
    tags = mlflow_uc.MlflowClient().get_experiment(experiment_id).tags
    assert tags["mlflow.experiment.databricksTraceDestinationPath"] == LOCATION
    assert tags["mlflow.experiment.databricksTraceSpanStorageTable"] == SPANS


def test_otlp_rejects_bad_header_type_table_and_missing_modify(
    databricks_workspace: StandinWorkspace,
) -> None:
    ws = databricks_workspace
    _setup(ws)
    assert _create(ws)[0] == 200
    body = _otlp("0" * 31 + "1")
    proto = {"Content-Type": "application/x-protobuf"}
    cases = [
        ({**proto}, 400, "X-Databricks-UC-Table-Name"),
        ({"Content-Type": "application/json", "X-Databricks-UC-Table-Name": SPANS}, 415, "type"),
        ({**proto, "X-Databricks-UC-Table-Name": f"{LOCATION}_x"}, 404, "does not exist"),
    ]
    for headers, status, words in cases:
        got, answer = _post(ws, "/api/2.0/otel/v1/traces", body, headers)
        assert got == status and words in answer["message"], (headers, answer)
    # The tables' owner (the location's creator) may write; without ownership and MODIFY not,
    # and ALL_PRIVILEGES does not count (FACTS.md).
    ws.revoke_table(SPANS, ws.user, ["OWNERSHIP"])
    ws.grant_table(SPANS, ws.user, ["ALL_PRIVILEGES", "SELECT"])
    headers = {**proto, "X-Databricks-UC-Table-Name": SPANS}
    got, answer = _post(ws, "/api/2.0/otel/v1/traces", body, headers)
    assert got == 403 and "MODIFY" in answer["message"]
    assert ws.uc_spans(LOCATION) == []
    ws.grant_table(SPANS, ws.user, ["MODIFY"])
    assert _post(ws, "/api/2.0/otel/v1/traces", body, headers)[0] == 200
    assert [r["trace"] for r in ws.uc_spans(LOCATION)] == ["0" * 31 + "1"]
    assert [r["status"] for r in ws.otel_requests()] == [400, 415, 404, 403, 200]


def test_reads_need_select_and_a_warehouse(databricks_workspace: StandinWorkspace) -> None:
    ws = databricks_workspace
    _setup(ws)
    assert _create(ws)[0] == 200
    hex_id = "0" * 31 + "2"
    info = {
        "trace_id": hex_id,
        "request_time": "2026-01-01T00:00:00Z",
        "state": "OK",
        "trace_location": {"type": "UC_TABLE_PREFIX"},
    }
    json_type = {"Content-Type": "application/json"}
    info_path = f"/api/4.0/mlflow/traces/{LOCATION}/{hex_id}/info"
    assert _post(ws, info_path, json.dumps(info).encode(), json_type)[0] == 200
    batch = f"/api/4.0/mlflow/traces/{LOCATION}/batchGet?trace_ids={hex_id}"
    status, answer = _post(ws, batch, b"", {}, "GET")
    assert status == 200 and [t["trace_info"]["trace_id"] for t in answer["traces"]] == [hex_id]

    status, answer = _post(ws, f"{batch}&sql_warehouse_id=gone", b"", {}, "GET")
    assert (status, answer["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    ws.remove_warehouse(WAREHOUSE)
    status, answer = _post(ws, batch, b"", {}, "GET")
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "Could not resolve a SQL warehouse ID" in answer["message"]
    status, answer = _post(ws, info_path, json.dumps(info).encode(), json_type)
    assert "Could not resolve a SQL warehouse ID" in answer["message"]

    ws.add_warehouse(WAREHOUSE, "back")
    ws.revoke_table(SPANS, ws.user, ["OWNERSHIP"])
    status, answer = _post(ws, batch, b"", {}, "GET")
    assert status == 403 and "SELECT" in answer["message"]
    search = {
        "locations": [
            {
                "uc_table_prefix": {
                    "catalog_name": CATALOG,
                    "schema_name": SCHEMA,
                    "table_prefix": PREFIX,
                }
            }
        ]
    }
    status, answer = _post(
        ws, "/api/4.0/mlflow/traces/search-long-running", json.dumps(search).encode(), json_type
    )
    assert status == 403 and "SELECT" in answer["message"]
