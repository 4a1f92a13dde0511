"""Recorded sessions into a real MLflow SQLite store: faithful, and exactly once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from claudetracing.core import config as config_mod
from claudetracing.export import ledger
from claudetracing.export.exporter import Exporter
from claudetracing.trace.builder import TURN_KEY_TAG
from claudetracing.transcript.turns import read_session
from tests.sessions import all_recorded, copy_recorded, recorded
from tests.tracing import anthropic_usage


def _exporter(root: Path) -> Exporter:
    return Exporter(config_mod.load(root, environ={}))


def _traces(exporter: Exporter) -> list:  # type: ignore[type-arg]
    backend = exporter.backend
    return backend.client.search_traces(locations=[backend.connect()], max_results=500)


def _copy(name: str, tmp_path: Path) -> Path:
    return copy_recorded(name, tmp_path / "projects" / name)


@pytest.mark.parametrize("name", all_recorded())
def test_recorded_sessions_land_faithfully(
    name: str, repo: Path, local_store: Path, tmp_path: Path
) -> None:
    case = recorded(name)
    exporter = _exporter(repo)
    report = exporter.export_transcript(_copy(name, tmp_path))
    turns = read_session(case.transcript).turns
    assert len(report.exported) == len(turns) == len(case.case["prompts"])
    stored = {t.info.tags[TURN_KEY_TAG]: t for t in _traces(exporter)}
    assert set(stored) == {t.key for t in turns}
    usage_sum = {"input_tokens": 0, "output_tokens": 0}
    own_input = 0
    for turn in turns:
        trace = stored[turn.key]
        assert trace.info.trace_metadata["mlflow.trace.session"] == case.case["session_id"]
        assert trace.info.trace_metadata["mlflow.trace.user"] == "dev@example.com"
        assert trace.info.request_time == turn.run.start_ns // 1_000_000
        root = next(s for s in trace.data.spans if s.parent_id is None)
        assert root.inputs == {"prompt": turn.run.prompt}
        assert root.start_time_ns == turn.run.start_ns
        for key in usage_sum:
            usage_sum[key] += trace.info.token_usage[key]
        own_input += anthropic_usage(trace.info.token_usage)["input_tokens"]
        tools = [s for s in trace.data.spans if s.span_type == "TOOL"]
        assert len(tools) == len(turn.run.walk_tool_calls())
    expected = case.model_usage_totals()
    # MLflow's aggregate counts the cache in its input, as its Anthropic autolog does...
    cached = expected["input"] + expected["cache_read"] + expected["cache_creation"]
    assert usage_sum == {"input_tokens": cached, "output_tokens": expected["output"]}
    # ...and less the cache, it is Claude Code's (Anthropic's) figure
    assert own_input == expected["input"]


def test_subagent_spans_nest_under_the_agent_tool_span(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    exporter = _exporter(repo)
    exporter.export_transcript(_copy("subagent", tmp_path))
    (trace,) = _traces(exporter)
    by_id = {s.span_id: s for s in trace.data.spans}
    bash = next(s for s in trace.data.spans if s.name == "Bash")
    chain = []
    node = bash
    while node.parent_id:
        node = by_id[node.parent_id]
        chain.append(node.name)
    assert chain == ["subagent:general-purpose", "Agent", "claude_code_turn"]


def test_failed_tool_is_stored_as_error(repo: Path, local_store: Path, tmp_path: Path) -> None:
    exporter = _exporter(repo)
    exporter.export_transcript(_copy("failing_bash", tmp_path))
    (trace,) = _traces(exporter)
    bash = next(s for s in trace.data.spans if s.name == "Bash")
    assert bash.status.status_code == "ERROR"


def test_exactly_once_across_reruns_lost_ledger_and_imports(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    path = _copy("resume", tmp_path)
    exporter = _exporter(repo)
    assert len(exporter.export_transcript(path).exported) == 2
    assert exporter.export_transcript(path).exported == []
    # The local ledger is gone (new machine, wiped data folder): the backend still knows.
    shutil.rmtree(
        ledger.open_session(
            exporter.config.tracking_uri, exporter.config.experiment, path.stem
        ).path.parent
    )
    again = _exporter(repo).export_transcript(path, final=True)
    assert again.exported == [] and again.already == 2
    assert len(_traces(exporter)) == 2


def test_a_trace_cut_short_is_replaced_not_duplicated(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    path = _copy("tool_call", tmp_path)
    exporter = _exporter(repo)
    (turn,) = read_session(path).turns
    # What a kill midway leaves: the turn's tag on a trace that lacks most of its spans.
    from claudetracing.trace.builder import build_trace

    partial = build_trace(turn, "u")
    partial.root.children = partial.root.children[:1]
    exporter.backend.write(partial)
    report = exporter.export_transcript(path)
    assert report.replaced == 1 and len(report.exported) == 1
    (trace,) = _traces(exporter)
    assert len(trace.data.spans) == 1 + len(turn.run.steps)


def test_turns_are_exported_incrementally_as_the_session_grows(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    source = recorded("resume").transcript
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    turns = read_session(source).turns
    cut = next(i for i, line in enumerate(lines) if turns[1].prompt_uuid in line)
    path = tmp_path / source.name
    path.write_text("".join(lines[:cut]), encoding="utf-8")
    exporter = _exporter(repo)
    assert len(exporter.export_transcript(path).exported) == 1
    session_ledger = ledger.open_session(
        exporter.config.tracking_uri, exporter.config.experiment, path.stem
    )
    assert session_ledger.offset == path.stat().st_size
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(lines[cut:]))
    second = exporter.export_transcript(path)
    assert len(second.exported) == 1 and second.already == 0
