"""Claude Code's own accounting (cost-state records) against ours, on real 2.1.328 transcripts.

Expected numbers come from what the scripted API sent and from the raw cost-state lines, never
from the reader under test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claudetracing.trace import reconcile
from claudetracing.transcript import accounting
from claudetracing.transcript.model import Turn
from claudetracing.transcript.turns import read_session
from tests.accounting_cases import (
    KINDS,
    copy_case,
    drop_lines,
    raw_cost_states,
    raw_delta,
    sent,
    sent_usage,
    transcript,
)
from tests.sessions import recorded


def _intervals(path: Path, start: int = 0) -> tuple[list[accounting.Interval], list[Turn]]:
    session = read_session(path, start_offset=start, final=True)
    main = [r for r in session.read.records if not r.data.get("isSidechain")]
    states = accounting.states_in(main, session.read.end_offset)
    previous = accounting.previous_state(path, start)
    return accounting.intervals(session.turns, states, previous), session.turns


def _tokens(usage: accounting.Usage) -> dict[str, int]:
    return {k: getattr(usage, k) for k in KINDS}


def _by_model(models: dict[str, accounting.Usage]) -> dict[str, dict[str, int]]:
    return {m: _tokens(u) for m, u in models.items()}


@pytest.mark.parametrize("name", ["subagent", "resume", "parallel_subagents"])
def test_each_interval_equals_the_cost_state_delta_and_what_the_api_sent(name: str) -> None:
    path = transcript(name)
    raw = raw_cost_states(path)
    intervals, turns = _intervals(path)
    assert len(intervals) == len(raw) >= 1
    before = None
    for index, (interval, state) in enumerate(zip(intervals, raw, strict=True)):
        assert _by_model(interval.models) == raw_delta(before, state)
        expected_cost = state["totalCostUSD"] - (before["totalCostUSD"] if before else 0.0)
        assert interval.cost_usd == pytest.approx(expected_cost, abs=1e-9)
        # Each process of a `-p` case is one entry of `turn` in sent.json (resume: 0, then 1).
        calls = [e for e in sent(name) if len(raw) == 1 or e["turn"] == index]
        assert _by_model(interval.models) == sent_usage(calls)
        result = reconcile.reconcile(interval, turns)
        assert result.status == reconcile.MATCH, result.note
        assert _by_model(result.ours) == sent_usage(calls)
        assert result.ours_total.cost_usd == pytest.approx(expected_cost, rel=reconcile.TOLERANCE)
        before = state


def test_an_interval_of_two_turns_is_carried_by_its_last_turn() -> None:
    path = transcript("subagent")
    intervals, turns = _intervals(path)
    (interval,) = intervals
    assert [t.key for t in interval.turns] == [t.key for t in turns] and len(turns) == 2
    launching, notification = turns
    tags = reconcile.tags(reconcile.reconcile(interval, turns))
    assert tags[launching.key] == {reconcile.IN_TURN: notification.key}
    carried = tags[notification.key]
    assert carried[reconcile.TURNS] == "2"
    (state,) = raw_cost_states(path)
    assert float(carried[reconcile.COST]) == pytest.approx(state["totalCostUSD"], abs=1e-6)
    usage = sent_usage(sent("subagent"))["claude-opus-5-5"]
    assert int(carried[reconcile.INPUT]) == usage["input"]
    assert int(carried[reconcile.OUTPUT]) == usage["output"]
    assert int(carried[reconcile.CACHE_READ]) == usage["cache_read"]
    assert int(carried[reconcile.CACHE_CREATION]) == usage["cache_creation"]
    # The subagent's two calls are in the launching turn, yet billed in the same interval.
    assert len(launching.run.walk_llm_calls()) == 4 and carried[reconcile.STATUS] == "match"


def test_summing_the_figures_over_a_session_gives_claude_codes_total() -> None:
    path = transcript("resume")
    intervals, turns = _intervals(path)
    total = 0.0
    for interval in intervals:
        for body in reconcile.tags(reconcile.reconcile(interval, turns)).values():
            total += float(body.get(reconcile.COST, 0.0))
    assert total == pytest.approx(raw_cost_states(path)[-1]["totalCostUSD"], abs=1e-5)


def test_a_read_from_an_offset_finds_the_record_before_it() -> None:
    path = transcript("resume")
    first, second = raw_cost_states(path)
    turns = read_session(path, final=True).turns
    start = turns[1].start_offset
    previous = accounting.previous_state(path, start)
    assert previous is not None and previous.total_cost_usd == first["totalCostUSD"]
    assert previous.after_ns is not None and previous.after_ns < turns[1].run.start_ns
    (interval,), _ = _intervals(path, start)
    assert interval.previous == previous
    assert _by_model(interval.models) == raw_delta(first, second)
    assert _by_model(interval.models) == sent_usage([e for e in sent("resume") if e["turn"] == 1])


def test_the_backward_scan_agrees_with_a_forward_read_at_every_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = transcript("resume")
    monkeypatch.setattr(accounting, "_CHUNK", 97)  # many chunk borders, inside long lines too
    offsets, states = [], []
    offset = 0
    for line in path.read_bytes().splitlines(keepends=True):
        offsets.append(offset)
        if b'"type":"cost-state"' in line:
            states.append(offset)
        offset += len(line)
    for at in [*offsets, offset]:
        found = accounting.previous_state(path, at)
        expected = max((s for s in states if s < at), default=None)
        assert (found.offset if found else None) == expected


def test_a_call_with_no_assistant_record_is_named_with_its_amount(tmp_path: Path) -> None:
    path = copy_case("subagent", tmp_path / "case")
    main_calls = [e for e in sent("subagent") if e["thread"] == "main"]
    dropped = main_calls[1]  # the launching turn's second response
    drop_lines(path, lambda r: (r.get("message") or {}).get("id") != dropped["message_id"])
    (interval,), turns = _intervals(path)
    result = reconcile.reconcile(interval, turns)
    assert result.status == reconcile.DIFFERS
    (cause,) = result.causes
    assert cause.cause == reconcile.NO_ASSISTANT_RECORD_RESIDUAL
    assert _tokens(cause.amount) == sent_usage([dropped])["claude-opus-5-5"]
    expected = reconcile.pricing.price("claude-opus-5-5", dropped["usage"])
    assert expected is not None
    assert cause.amount.cost_usd == pytest.approx(expected.total_usd, rel=0.01)
    explained = json.loads(reconcile.tags(result)[turns[-1].key][reconcile.EXPLANATION])
    assert explained[0]["input_tokens"] == dropped["usage"]["input_tokens"]


def test_a_model_with_no_recorded_call_is_named(tmp_path: Path) -> None:
    path = copy_case("parallel_subagents", tmp_path / "case")
    for agent_file in (path.parent / path.stem / "subagents").glob("agent-*.jsonl"):
        drop_lines(
            agent_file, lambda r: (r.get("message") or {}).get("model") != "claude-haiku-5-5"
        )
    (interval,), turns = _intervals(path)
    result = reconcile.reconcile(interval, turns)
    assert result.status == reconcile.DIFFERS
    (cause,) = result.causes
    assert (cause.cause, cause.model) == (reconcile.NO_ASSISTANT_RECORD, "claude-haiku-5-5")
    haiku = [e for e in sent("parallel_subagents") if e["model"] == "claude-haiku-5-5"]
    assert _tokens(cause.amount) == sent_usage(haiku)["claude-haiku-5-5"]
    (state,) = raw_cost_states(path)
    billed = state["modelUsage"]["claude-haiku-5-5"]["costUSD"]
    assert cause.amount.cost_usd == pytest.approx(billed, abs=1e-9)
    assert "claude-haiku-5-5" in result.note


def test_a_placeholder_output_count_is_named(tmp_path: Path) -> None:
    path = copy_case("resume", tmp_path / "case")
    target = [e for e in sent("resume") if e["turn"] == 1][-1]
    lines = path.read_text(encoding="utf-8").splitlines()
    edited = []
    for line in lines:
        body = json.loads(line)
        message = body.get("message") or {}
        if body.get("type") == "assistant" and message.get("id") == target["message_id"]:
            message["usage"]["output_tokens"] = 1  # a single line's placeholder
            line = json.dumps(body)
        edited.append(line + "\n")
    path.write_text("".join(edited), encoding="utf-8")
    first, second = _intervals(path)[0]
    turns = _intervals(path)[1]
    assert reconcile.reconcile(first, turns).status == reconcile.MATCH
    result = reconcile.reconcile(second, turns)
    assert result.status == reconcile.DIFFERS
    (cause,) = result.causes
    assert cause.cause == reconcile.PLACEHOLDER_OUTPUT and cause.calls == 1
    assert cause.amount.output == target["usage"]["output_tokens"] - 1
    assert cause.amount.input == 0 and cause.amount.cost_usd > 0


def test_the_first_record_after_copied_history_is_not_compared() -> None:
    path = transcript("resume")
    intervals, turns = _intervals(path)
    for call in intervals[0].turns[0].run.walk_llm_calls():
        call.copied = True  # as the exporter marks a forked file's copied history
    result = reconcile.reconcile(intervals[0], turns)
    assert result.status == reconcile.NOT_COMPARABLE and "copied" in result.note
    assert reconcile.EXPLANATION not in reconcile.tags(result)[turns[0].key]
    # A later record of the same file is compared as usual.
    assert reconcile.reconcile(intervals[1], turns).status == reconcile.MATCH


def test_older_transcripts_have_no_cost_state_and_get_no_intervals() -> None:
    path = recorded("resume").transcript
    intervals, turns = _intervals(path)
    assert intervals == [] and len(turns) == 2
    assert accounting.previous_state(path, path.stat().st_size) is None
