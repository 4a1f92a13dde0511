"""Real, public Claude Code transcripts (tests/corpus/real, sources in its SOURCES.md) imported
into a real store, checked against facts computed without our reader (tests/corpus/oracle.py) and
against ccusage's accounting (tests/corpus/ccusage.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import ccusage, oracle
from tests.corpus.stored import CORPUS, copy_project, corpus_projects, import_project, stored_facts

PROJECTS = corpus_projects()


def _nonzero(totals: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {model: values for model, values in totals.items() if any(values.values())}


def test_the_corpus_spans_versions_and_features() -> None:
    """The oracle is only worth its corpus: keep it broad (see SOURCES.md)."""
    assert len(PROJECTS) >= 9
    series = set()
    for name in PROJECTS:
        for path in (CORPUS / name).rglob("*.jsonl"):
            records, _ = oracle.read_records(path)
            for record in records:
                version = record.get("version")
                if isinstance(version, str) and version.count(".") == 2:
                    series.add(version.rsplit(".", 1)[0])  # 1.0, 2.0, 2.1
    assert {"1.0", "2.0", "2.1"} <= series, series


@pytest.mark.parametrize("name", PROJECTS)
def test_import_agrees_with_the_independent_count(
    name: str, repo: Path, local_store: Path, tmp_path: Path
) -> None:
    folder = copy_project(name, tmp_path / "projects" / name)
    expected = oracle.project_facts(folder)
    summary, traces = import_project(folder, repo)
    assert summary.errors == {}
    got = stored_facts(traces)

    # Every real API call is one LLM span, counted once; tokens per model equal.
    assert got.responses == expected.responses
    assert got.compaction_responses == expected.compaction_responses
    assert got.tokens_by_model == _nonzero(expected.tokens_by_model)
    assert (got.tool_calls, got.tool_errors) == (expected.tool_calls, expected.tool_errors)

    # Every turn once; resumed copies add nothing; answered <=> OK.
    turns = {
        t.prompt_uuid: t
        for session in expected.sessions.values()
        for t in session.turns
        if t.responses and not t.copied
    }
    extra = {k: t.outcome for k, t in got.turns.items() if k not in turns}
    assert all(outcome == "api_error" for outcome in extra.values()), extra
    assert set(turns) <= set(got.turns)
    wrong = {
        uuid: (got.turns[uuid].outcome, t.prompt_text_start)
        for uuid, t in turns.items()
        if got.turns[uuid].ok != t.answered
    }
    assert wrong == {}, "answered turns must be OK and only they"
    assert len(summary.exported) == len(got.turns)

    # Cost on every trace whose models are priced; what is not priced is named.
    for turn in got.turns.values():
        assert turn.cost_usd is not None or turn.unpriced_models, turn.key

    # Importing again adds nothing.
    again, after = import_project(folder, repo)
    assert again.exported == [] and len(after) == len(traces)


@pytest.mark.parametrize("name", PROJECTS)
def test_token_totals_equal_ccusage_up_to_named_causes(name: str, tmp_path: Path) -> None:
    """ccusage keeps a response's FIRST line; we keep its largest output count. Every other
    difference has a named cause (docs/transcripts.md)."""
    folder = copy_project(name, tmp_path / name)
    ours = _nonzero(oracle.project_facts(folder).tokens_by_model)
    comparison = ccusage.compare(folder)
    assert _nonzero(comparison.explained()) == ours
