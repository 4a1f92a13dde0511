"""Turns written together in one transaction are the same traces MLflow's exporter writes one by
one, field for field, as MLflow's client reads them back; and a failed batch leaves nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import paths
from claudetracing.core.errors import BackendError
from claudetracing.export.backend import MlflowBackend
from claudetracing.setup.sample_sessions import write_synthetic_session
from claudetracing.trace.builder import TURN_KEY_TAG, TurnTrace, build_trace
from claudetracing.transcript.turns import read_session
from tests.sessions import all_recorded, recorded

EXPERIMENT = "claude-code/compare"
REAL = Path(__file__).resolve().parents[1] / "corpus" / "real"


def _store(template: Path, folder: Path) -> MlflowBackend:
    folder.mkdir(parents=True)
    shutil.copy(template, folder / "mlflow.db")
    return MlflowBackend(f"sqlite:///{folder / 'mlflow.db'}", EXPERIMENT)


def _turn_traces(tmp_path: Path) -> list[TurnTrace]:
    """Every recorded and real shape, and a long synthetic session with subagents."""
    transcripts = [recorded(name).transcript for name in all_recorded()]
    transcripts += sorted(p for p in REAL.glob("*/*.jsonl") if not p.name.startswith("agent-"))
    transcripts.append(
        write_synthetic_session(
            tmp_path / "synthetic" / "synthetic-session.jsonl", turns=6, subagent_every=2
        )
    )
    return [
        build_trace(turn, "dev@example.com")
        for path in transcripts
        for turn in read_session(path, final=True).turns
    ]


def _normal(value: Any, ids: dict[str, str]) -> Any:
    """Ids the store made up (trace and span ids) replaced by their place in the comparison."""
    if isinstance(value, str):
        for real, alias in ids.items():
            value = value.replace(real, alias)
        return value
    if isinstance(value, dict):
        return {_normal(k, ids): _normal(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v, ids) for v in value]
    return value


def _view(trace: Any) -> dict[str, Any]:
    """Everything MLflow's client shows of a trace, with made-up ids named by position."""
    spans = [json.loads(json.dumps(s.to_dict())) for s in trace.data.spans]
    ids = {trace.info.trace_id: "<trace>"}
    ids.update({s.span_id: f"<span {i}>" for i, s in enumerate(trace.data.spans)})
    encoded = {s["span_id"]: f"<span {i}>" for i, s in enumerate(spans)}
    for span in spans:  # the OTLP encodings of the same ids
        span["trace_id"] = "<trace>"
        span["span_id"] = encoded[span["span_id"]]
        span["parent_span_id"] = encoded.get(span["parent_span_id"], span["parent_span_id"])
    view: dict[str, Any] = _normal(
        {"info": trace.info.to_dict(), "token_usage": trace.info.token_usage, "spans": spans}, ids
    )
    return view


def _by_key(backend: MlflowBackend, with_spans: bool) -> dict[str, dict[str, Any]]:
    found = backend.client.search_traces(
        locations=[backend.connect()], max_results=500, include_spans=with_spans
    )
    if not with_spans:
        found = [backend.client.get_trace(t.info.trace_id) for t in found]
    return {t.info.tags[TURN_KEY_TAG]: _view(t) for t in found}


def test_a_batch_stores_what_the_per_turn_path_stores(
    _store_template: Path, tmp_path: Path
) -> None:
    one_by_one = _store(_store_template, tmp_path / "per-turn")
    together = _store(_store_template, tmp_path / "batched")
    assert together.batches
    traces = _turn_traces(tmp_path)
    assert len(traces) > 20 and any(len(t.root.walk()) > 10 for t in traces)
    for trace in traces:
        one_by_one.write(trace)
    artifacts = paths.local_store_dir() / "artifacts"
    assert not list(artifacts.rglob("traces.json"))  # spans live in the store, not in files
    ids = together.write_many(traces[:7]) + together.write_many(traces[7:])
    assert not list(artifacts.rglob("traces.json"))
    together.confirm_many(
        {i: (t.key, len(t.root.walk())) for i, t in zip(ids, traces, strict=True)}
    )
    for with_spans in (True, False):  # search_traces with spans, get_trace one by one
        expected = _by_key(one_by_one, with_spans)
        got = _by_key(together, with_spans)
        assert set(got) == set(expected) == {t.key for t in traces}
        for key, view in expected.items():
            assert got[key]["info"] == view["info"], key
            assert got[key]["token_usage"] == view["token_usage"], key
            assert got[key]["spans"] == view["spans"], key
    # The aggregates really are there, not equal because both are empty.
    assert any(v["token_usage"] for v in expected.values())
    assert any("mlflow.trace.cost" in v["info"]["trace_metadata"] for v in expected.values())


def test_a_batch_that_fails_midway_leaves_nothing_behind(
    _store_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _store(_store_template, tmp_path / "store")
    traces = _turn_traces(tmp_path)[:5]
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    started = SqlAlchemyStore.start_trace
    calls = []

    def fourth_fails(self: SqlAlchemyStore, trace_info: Any) -> Any:
        calls.append(trace_info.trace_id)
        if len(calls) == 4:
            raise OSError("disk full")
        return started(self, trace_info)

    monkeypatch.setattr(SqlAlchemyStore, "start_trace", fourth_fails)
    with pytest.raises(BackendError, match="disk full"):
        backend.write_many(traces)
    monkeypatch.setattr(SqlAlchemyStore, "start_trace", started)
    client = backend.client
    assert client.search_traces(locations=[backend.connect()], max_results=50) == []
    # Nothing half-written either: no trace rows, no span rows.
    assert not client.search_traces(
        locations=[backend.connect()], max_results=50, include_spans=False
    )
    ids = backend.write_many(traces)
    backend.confirm_many({i: (t.key, len(t.root.walk())) for i, t in zip(ids, traces, strict=True)})
    assert backend.session_turns(traces[0].session_id) == {
        t.key: i for i, t in zip(ids, traces, strict=True) if t.session_id == traces[0].session_id
    }
