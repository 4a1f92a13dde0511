"""Claude Code's own figures reach the stored traces, also when the cost-state record is written
after its turns were exported, and `traces usage`/`show` read them back (real MLflow store)."""

from __future__ import annotations

import json
from pathlib import Path

from claudetracing.core import config as config_mod
from claudetracing.export import ledger
from claudetracing.export.exporter import Exporter
from claudetracing.trace import reconcile
from claudetracing.trace.builder import TURN_KEY_TAG
from tests.accounting_cases import copy_case, raw_cost_states, session_id
from tests.tracing import traces


def _exporter(root: Path) -> Exporter:
    return Exporter(config_mod.load(root, environ={}))


def _stored_tags(exporter: Exporter) -> dict[str, dict[str, str]]:
    backend = exporter.backend
    found = backend.client.search_traces(locations=[backend.connect()], max_results=500)
    return {t.info.tags[TURN_KEY_TAG]: dict(t.info.tags) for t in found}


def _billed_sum(tags: dict[str, dict[str, str]]) -> float:
    return sum(float(t.get(reconcile.COST, 0.0)) for t in tags.values())


def test_a_whole_session_carries_claude_codes_figures(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    path = copy_case("resume", tmp_path / "projects" / "resume")
    exporter = _exporter(repo)
    assert len(exporter.export_transcript(path, final=True).exported) == 2
    tags = _stored_tags(exporter)
    first, second = raw_cost_states(path)
    assert abs(_billed_sum(tags) - second["totalCostUSD"]) < 2e-6
    carried = sorted(float(t[reconcile.COST]) for t in tags.values())  # one per process
    expected = sorted([first["totalCostUSD"], second["totalCostUSD"] - first["totalCostUSD"]])
    assert [round(v, 6) for v in carried] == [round(v, 6) for v in expected]
    assert all(t[reconcile.STATUS] == reconcile.MATCH for t in tags.values())
    # Ours, on the same trace, agrees within 1%.
    for t in tags.values():
        ours = json.loads(t[reconcile.OURS])["cost_usd"]
        assert abs(ours - float(t[reconcile.COST])) <= 0.01 * float(t[reconcile.COST])


def test_a_record_written_after_its_turns_tags_their_stored_traces(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    path = copy_case("subagent", tmp_path / "projects" / "subagent")
    whole = path.read_bytes()
    at = whole.index(b'{"type":"cost-state"')
    path.write_bytes(whole[:at])  # what the Stop-time export sees: the record comes later
    exporter = _exporter(repo)
    assert len(exporter.export_transcript(path, final=True).exported) == 2
    before = _stored_tags(exporter)
    assert not any(k.startswith(reconcile.PREFIX) for t in before.values() for k in t)

    path.write_bytes(whole)
    report = exporter.export_transcript(path, final=True)
    assert report.exported == []  # nothing written again
    tags = _stored_tags(exporter)
    assert set(tags) == set(before)
    (state,) = raw_cost_states(path)
    carriers = [k for k, t in tags.items() if reconcile.COST in t]
    (carrier,) = carriers
    assert tags[carrier][reconcile.TURNS] == "2"
    (other,) = set(tags) - {carrier}
    assert tags[other][reconcile.IN_TURN] == carrier
    assert abs(_billed_sum(tags) - state["totalCostUSD"]) < 2e-6
    config = config_mod.load(repo, environ={})
    session = ledger.open_session(config.tracking_uri, config.experiment, session_id("subagent"))
    assert session.offset >= at  # the record is not read again

    usage = traces("usage", "--by", "session", "-f", "json", "--since", "3000d", cwd=repo)
    assert usage.returncode == 0, usage.stderr
    (row,) = json.loads(usage.stdout)
    assert row["billed_turns"] == 2 == row["turns"]
    assert abs(row["billed_cost_usd"] - state["totalCostUSD"]) < 2e-6
    shown = traces("show", _id(exporter, carrier), cwd=repo)
    assert shown.returncode == 0, shown.stderr
    assert "billed by Claude Code: $" in shown.stdout and "for 2 turn(s)" in shown.stdout


def _id(exporter: Exporter, key: str) -> str:
    found = exporter.backend.find_turn(key)
    assert found is not None
    return found


def test_a_difference_is_explained_on_the_trace_and_in_show(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    path = copy_case("parallel_subagents", tmp_path / "projects" / "parallel")
    for agent_file in (path.parent / path.stem / "subagents").glob("agent-*.jsonl"):
        lines = agent_file.read_text(encoding="utf-8").splitlines()
        kept = [x for x in lines if "claude-haiku-5-5" not in x or '"assistant"' not in x]
        agent_file.write_text("".join(x + "\n" for x in kept), encoding="utf-8")
    exporter = _exporter(repo)
    exporter.export_transcript(path, final=True)
    tags = _stored_tags(exporter)
    (carrier,) = [k for k, t in tags.items() if reconcile.COST in t]
    assert tags[carrier][reconcile.STATUS] == reconcile.DIFFERS
    (cause,) = json.loads(tags[carrier][reconcile.EXPLANATION])
    (state,) = raw_cost_states(path)
    haiku = state["modelUsage"]["claude-haiku-5-5"]
    assert cause["cause"] == reconcile.NO_ASSISTANT_RECORD
    assert cause["input_tokens"] == haiku["inputTokens"]
    assert abs(cause["cost_usd"] - haiku["costUSD"]) < 2e-6
    shown = traces("show", _id(exporter, carrier), cwd=repo)
    assert shown.returncode == 0, shown.stderr
    assert "differs" in shown.stdout and "no_assistant_record [claude-haiku-5-5]" in shown.stdout
    assert f"input {haiku['inputTokens']:+,}" in shown.stdout
