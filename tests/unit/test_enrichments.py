"""Built-in enrichments and the registry's contract: prefixes, limits, failures contained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claudetracing.enrichments import cost, files, tokens
from claudetracing.enrichments import registry as reg
from claudetracing.enrichments.api import Enrichment, TurnContext
from claudetracing.enrichments.files import _bash_targets
from claudetracing.trace import pricing
from claudetracing.transcript.model import run_tokens
from claudetracing.transcript.turns import read_session
from tests.sessions import recorded


def _context(name: str, index: int = 0) -> TurnContext:
    case = recorded(name)
    turn = read_session(case.transcript).turns[index]
    cwd = Path(case.case["cwd"])
    return TurnContext(turn=turn, tokens=run_tokens(turn.run), cwd=cwd, repo_root=cwd, recent=False)


def test_built_ins_register_through_entry_points_like_plugins() -> None:
    registry = reg.load_registry()
    assert set(reg.BUILT_INS) <= set(registry.available)
    assert registry.sources["git"] == "claudetracing"


def test_files_written_by_write_and_edit_are_repo_relative() -> None:
    tags = reg.tags_of(files.enrichment, files.enrichment.enrich(_context("write_edit")))
    assert tags == {"files.modified": '["notes.txt"]', "files.count": "1"}


def test_files_include_subagent_writes() -> None:
    tags = reg.tags_of(files.enrichment, files.enrichment.enrich(_context("parallel_subagents")))
    assert "alpha.txt" in json.loads(tags["files.modified"])


def test_files_ignore_failed_tools_and_paths_outside_the_repo() -> None:
    context = _context("failing_bash")
    assert files.enrichment.enrich(context) == {"modified": [], "count": 0}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("echo hi > out.txt", ["out.txt"]),
        ("cat a | tee -a log.txt b.txt", ["log.txt", "b.txt"]),
        ("sed -i 's/a/b/' x.py", ["x.py"]),
        ("mv a.py b.py && rm c.py", ["a.py", "b.py", "c.py"]),
        ("python -m pytest -q 2>/dev/null", []),
        ("echo 'unclosed", []),
    ],
)
def test_shell_writes_as_far_as_text_tells(command: str, expected: list[str]) -> None:
    assert _bash_targets(command) == expected


def test_tokens_per_turn_not_cumulative() -> None:
    first, second = (_context("resume", i) for i in (0, 1))
    t1 = tokens.enrichment.enrich(first)
    t2 = tokens.enrichment.enrich(second)
    assert t1 != t2
    assert t1["total"] == t1["input"] + t1["output"]  # type: ignore[operator]
    usage = recorded("resume").results
    assert t2["output"] == sum(u["outputTokens"] for u in usage[1]["modelUsage"].values())


def test_cost_matches_claude_codes_own_total() -> None:
    for name in ("subagent", "parallel_subagents"):
        got = float(str(cost.enrichment.enrich(_context(name))["usd"]))
        assert got == pytest.approx(recorded(name).total_cost_usd(), abs=0.01)


def test_an_unknown_model_gives_no_cost_rather_than_a_wrong_one(caplog) -> None:  # type: ignore[no-untyped-def]
    context = _context("tool_call")
    for call in context.turn.run.llm_calls:
        call.model = "claude-imaginary-99"
    calls = len(context.turn.run.llm_calls)
    assert cost.enrichment.enrich(context) == {
        "unpriced_calls": calls,
        "unpriced_models": '["claude-imaginary-99"]',
    }
    assert "no price for model 'claude-imaginary-99'" in caplog.text


def test_one_unpriced_call_keeps_the_price_of_the_rest() -> None:
    context = _context("subagent")
    calls = context.turn.run.walk_llm_calls()
    assert len(calls) >= 3
    whole = float(str(cost.enrichment.enrich(context)["usd"]))
    odd = calls[-1]
    odd_price = pricing.price(odd.model, odd.usage)
    assert odd_price is not None and odd_price.total_usd > 0
    odd.model = "claude-imaginary-99"
    tags = cost.enrichment.enrich(context)
    assert float(str(tags["usd"])) == pytest.approx(whole - odd_price.total_usd, abs=1e-6)
    assert tags["unpriced_calls"] == 1
    assert tags["unpriced_models"] == '["claude-imaginary-99"]'


def _fake(name: str, result: object) -> Enrichment:
    def enrich(context: TurnContext) -> object:
        if isinstance(result, Exception):
            raise result
        return result

    return Enrichment(name=name, description="test", enrich=enrich)  # type: ignore[arg-type]


def test_registry_prefixes_converts_and_enforces_limits() -> None:
    big = [f"file-{i:05d}.py" for i in range(2000)]
    tags = reg.tags_of(
        _fake("x", None), {"a": 1, "b": True, "c": big, "x.d": "kept", "e": None, "f": "v" * 9000}
    )
    assert tags["x.a"] == "1" and tags["x.b"] == "true" and tags["x.d"] == "kept"
    assert "x.e" not in tags
    assert (
        len(tags["x.c"]) <= reg.MAX_VALUE
        and json.loads(tags["x.c"]) == big[: len(json.loads(tags["x.c"]))]
    )
    assert len(tags["x.f"]) == reg.MAX_VALUE


def test_a_raising_or_malformed_enrichment_is_reported_and_skipped() -> None:
    registry = reg.Registry(
        available={
            "good": _fake("good", {"k": "v"}),
            "boom": _fake("boom", RuntimeError("kaput")),
            "bad": _fake("bad", ["not", "a", "dict"]),
            "keys": _fake("keys", {"has space": 1}),
        }
    )
    applied = reg.apply(registry, ["good", "boom", "bad", "keys", "missing"], _context("tool_call"))
    assert applied.tags == {"good.k": "v"}
    assert set(applied.errors) == {"boom", "bad", "keys", "missing"}
    assert "kaput" in applied.errors["boom"]


def test_enabled_names() -> None:
    assert reg.enabled_names(None) == list(reg.BUILT_INS)
    assert reg.enabled_names("git, tokens") == ["git", "tokens"]
    assert reg.enabled_names("none") == []
