"""Turns exported by the real `traces` CLI into an experiment linked to a Unity Catalog location
(the stand-in workspace): one OTLP request per turn, read back by id, exactly once across
failures, errors that `traces status` shows, and reads that work unchanged."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.databricks_standin.fixtures import StandinWorkspace
from tests.sessions import copy_recorded
from tests.tracing import fire_hook, run_exporter, settings_env, traces

pytestmark = pytest.mark.server

CATALOG, SCHEMA, PREFIX, WAREHOUSE = "main", "agents", "widgets", "wh-1"
LOCATION = f"{CATALOG}.{SCHEMA}.{PREFIX}"
SPANS = f"{LOCATION}_otel_spans"
EXPERIMENT = "/Shared/claude-code/widgets"
_STAMP = re.compile(r'"timestamp":\s*"([0-9T:.\-]+)Z"')


def _restamp(folder: Path) -> None:
    """Move a recorded session's times so that it ended a minute ago (`--hours 24` finds it)."""
    files = list(folder.rglob("*.jsonl"))
    stamps = [
        datetime.fromisoformat(m).replace(tzinfo=timezone.utc)
        for p in files
        for m in _STAMP.findall(p.read_text(encoding="utf-8"))
    ]
    shift = datetime.now(timezone.utc) - timedelta(minutes=1) - max(stamps)

    def moved(match: re.Match[str]) -> str:
        at = datetime.fromisoformat(match.group(1)).replace(tzinfo=timezone.utc) + shift
        return f'"timestamp":"{at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}"'

    for path in files:
        path.write_text(_STAMP.sub(moved, path.read_text(encoding="utf-8")), encoding="utf-8")


def _linked_repo(repo: Path, ws: StandinWorkspace) -> None:
    done = traces("init", "--profile", ws.profile, "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr
    ws.add_catalog(CATALOG, grants={ws.user: ["USE_CATALOG"]})
    ws.add_schema(CATALOG, SCHEMA, grants={ws.user: ["USE_SCHEMA", "CREATE_TABLE"]})
    ws.add_warehouse(WAREHOUSE, "Starter Warehouse")
    ws.link_to_uc(EXPERIMENT, LOCATION, WAREHOUSE)


def _export(name: str, repo: Path, tmp_path: Path) -> Path:
    path = copy_recorded(name, tmp_path / name)
    _restamp(path.parent)
    assert fire_hook("Stop", path, repo).returncode == 0
    exporter = run_exporter(settings_env(repo))
    assert exporter.returncode == 0, exporter.stderr
    return path


def _status(repo: Path) -> tuple[int, dict[str, Any]]:
    done = traces("status", "--json", cwd=repo)
    return done.returncode, json.loads(done.stdout)


def _tree(ws: StandinWorkspace, hex_id: str) -> dict[str, Any]:
    """The stored spans of one trace: name -> (span id, parent id)."""
    import base64

    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    found: dict[str, Any] = {}
    for row in ws.uc_spans(LOCATION):
        if row["trace"] == hex_id:
            span = Span()
            span.ParseFromString(base64.b64decode(row["proto"]))
            found.setdefault(span.name, []).append((span.span_id.hex(), span.parent_span_id.hex()))
    return found


def test_turns_land_in_uc_one_request_each_and_read_back_unchanged(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    _linked_repo(repo, ws)
    ws.clear_requests()
    _export("subagent", repo, tmp_path)
    _export("tool_call", repo, tmp_path)

    infos = ws.uc_trace_infos(LOCATION)
    requests = ws.otel_requests()
    assert len(infos) == 2
    # Exactly one OTLP request per turn, each carrying all of that turn's spans.
    assert [r["status"] for r in requests] == [200, 200]
    assert sorted(t for r in requests for t in r["traces"]) == sorted(infos)
    assert all(len(r["traces"]) == 1 and r["table"] == SPANS for r in requests)
    for request in requests:
        rows = [x for x in ws.uc_spans(LOCATION) if x["trace"] == request["traces"][0]]
        assert request["spans"] == len(rows) == len({x["span"] for x in rows}) > 1
    # Read back by id, never a UC search (each polls at least a second) while exporting.
    routes = ws.routes()
    assert not [p for _, p in routes if "search" in p]
    assert any(p.endswith("/batchGet") for _, p in routes)
    assert ws.unknown_routes() == []

    # The subagent's spans nest under the Agent call that launched it.
    subagent_hex = next(h for h, i in infos.items() if "subagent" in json.dumps(_tree(ws, h)))
    tree = _tree(ws, subagent_hex)
    (agent_id, agent_parent), *_ = tree["subagent:general-purpose"]
    roots = [name for name, spans in tree.items() for _, parent in spans if not parent]
    assert len(roots) == 1 and agent_parent
    assert any(parent == agent_id for spans in tree.values() for _, parent in spans)
    # Tags and metadata as experiment storage gets them.
    info = infos[subagent_hex]
    session = info["trace_metadata"]["mlflow.trace.session"]
    assert info["tags"]["claudetracing.turn_key"].startswith(session)
    assert info["trace_metadata"]["mlflow.trace.user"] == ws.user
    assert "mlflow.trace.tokenUsage" in info["trace_metadata"]
    assert info["request_preview"] and info["response_preview"]

    found = traces("search", "--hours", "24", "-f", "json", cwd=repo)
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert sorted(r["trace_id"] for r in rows) == sorted(f"trace:/{LOCATION}/{h}" for h in infos)
    assert all(r["user"] == ws.user for r in rows)
    assert ("POST", "/api/4.0/mlflow/traces/search-long-running") in ws.routes()
    shown = traces("show", f"trace:/{LOCATION}/{subagent_hex}", cwd=repo)
    assert shown.returncode == 0, shown.stderr
    assert "subagent:general-purpose" in shown.stdout
    usage = json.loads(traces("usage", "-f", "json", cwd=repo).stdout)
    assert sum(row["turns"] for row in usage) == 2
    listed = traces("search", "-f", "json", cwd=repo)  # no time given: the default UC window
    assert len(json.loads(listed.stdout)) == 2


def test_a_failed_info_write_stays_spooled_and_the_retry_writes_once(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    _linked_repo(repo, ws)
    ws.remove_warehouse(WAREHOUSE)  # the info write cannot resolve the location's warehouse
    _export("tool_call", repo, tmp_path)
    code, report = _status(repo)
    assert code == 1 and report["pending"] == 1
    text = json.dumps(report)
    assert "no usable SQL warehouse" in text and "--warehouse" in text
    assert ws.uc_trace_infos(LOCATION) == {} and ws.otel_requests() == []

    ws.add_warehouse(WAREHOUSE, "Starter Warehouse")
    flushed = traces("flush", cwd=repo)
    assert flushed.returncode == 0, flushed.stderr
    assert "1 turn(s) exported" in flushed.stderr
    assert len(ws.uc_trace_infos(LOCATION)) == 1
    rows = [r["span"] for r in ws.uc_spans(LOCATION)]
    assert len(rows) == len(set(rows)) > 1 and len(ws.otel_requests()) == 1
    assert _status(repo)[1]["pending"] == 0


def test_a_failure_between_info_and_spans_is_completed_not_duplicated(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    _linked_repo(repo, ws)
    ws.fail_otlp(unavailable=1)  # the info is stored, the spans are not
    transcript = _export("subagent", repo, tmp_path)
    (hex_id,) = ws.uc_trace_infos(LOCATION)
    assert ws.uc_spans(LOCATION) == []
    assert _status(repo)[1]["pending"] == 1

    ws.fail_otlp(answer_lost=1)  # the spans are stored, their answer is lost
    traces("flush", cwd=repo)
    stored = [r["span"] for r in ws.uc_spans(LOCATION)]
    assert stored and _status(repo)[1]["pending"] == 1

    flushed = traces("flush", cwd=repo)  # recognises both: no second info, no span again
    assert flushed.returncode == 0, flushed.stderr
    assert list(ws.uc_trace_infos(LOCATION)) == [hex_id]
    assert [r["span"] for r in ws.uc_spans(LOCATION)] == stored
    assert len(stored) == len(set(stored))
    assert [r["status"] for r in ws.otel_requests()] == [503, 503]
    assert _status(repo)[1]["pending"] == 0
    # Imported again with the ledgers lost: the turn is found by its id, nothing is written.
    import shutil

    from claudetracing.core import paths

    shutil.rmtree(paths.data_dir() / "state")
    again = traces("import", str(transcript), cwd=repo)
    assert again.returncode == 0, again.stderr
    assert [r["span"] for r in ws.uc_spans(LOCATION)] == stored
    assert len(ws.otel_requests()) == 2 and list(ws.uc_trace_infos(LOCATION)) == [hex_id]


def test_a_write_without_modify_stays_spooled_with_the_grant_to_ask_for(
    repo: Path, databricks_workspace: StandinWorkspace, tmp_path: Path
) -> None:
    ws = databricks_workspace
    _linked_repo(repo, ws)
    ws.revoke_table(SPANS, ws.user, ["OWNERSHIP"])
    ws.grant_table(SPANS, ws.user, ["ALL_PRIVILEGES", "SELECT"])
    _export("tool_call", repo, tmp_path)
    code, report = _status(repo)
    text = json.dumps(report)
    assert code == 1 and report["pending"] == 1
    assert f"GRANT MODIFY, SELECT ON TABLE {SPANS}" in text
    assert ws.uc_trace_infos(LOCATION) == {} and ws.uc_spans(LOCATION) == []

    ws.grant_table(SPANS, ws.user, ["MODIFY"])
    flushed = traces("flush", cwd=repo)
    assert flushed.returncode == 0, flushed.stderr
    assert len(ws.uc_trace_infos(LOCATION)) == 1
