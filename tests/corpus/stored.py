"""What `traces import` stored, read back from the MLflow store, in the oracle's terms."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claudetracing.core import config as config_mod
from claudetracing.export import backfill
from claudetracing.export.exporter import Exporter
from claudetracing.export.prepare import Preparer
from claudetracing.export.tally import Tally
from claudetracing.trace.builder import TURN_KEY_TAG
from claudetracing.transcript import discovery

CORPUS = Path(__file__).parent / "real"
TOKEN_KEYS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_input_tokens",
    "cache_creation": "cache_creation_input_tokens",
}


@dataclass
class StoredTurn:
    key: str
    ok: bool
    outcome: str
    cost_usd: float | None
    unpriced_models: str | None


@dataclass
class StoredFacts:
    responses: int = 0  # LLM spans that are no copies
    tokens_by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    compaction_responses: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    turns: dict[str, StoredTurn] = field(default_factory=dict)  # prompt uuid -> turn


def corpus_projects() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and p.name != "LICENSES")


def copy_project(name: str, target: Path) -> Path:
    """A copy of a corpus project folder whose sessions all look over (untouched for hours)."""
    shutil.copytree(CORPUS / name, target)
    old = time.time() - 86_400
    for path in target.rglob("*"):
        os.utime(path, (old, old))
    return target


def import_project(folder: Path, repo: Path) -> tuple[Tally, list[Any]]:
    cfg = config_mod.load(repo, environ={})
    exporter = Exporter(cfg, pipeline=Preparer(cfg))
    summary = backfill.run_import(exporter, discovery.expand([folder]))
    backend = exporter.backend
    found = backend.client.search_traces(locations=[backend.connect()], max_results=5000)
    return summary, found


def stored_facts(traces: list[Any]) -> StoredFacts:
    facts = StoredFacts()
    for trace in traces:
        spans = {s.span_id: s for s in trace.data.spans}
        for span in spans.values():
            if span.span_type == "LLM" and not span.attributes.get("claude_code.copied_response"):
                facts.responses += 1
                model = span.attributes.get("mlflow.llm.model") or "unknown"
                usage = span.attributes.get("anthropic.usage") or {}  # input without cache
                per_model = facts.tokens_by_model.setdefault(model, dict.fromkeys(TOKEN_KEYS, 0))
                for name, key in TOKEN_KEYS.items():
                    per_model[name] += int(usage.get(key, 0))
                parent = spans.get(span.parent_id)
                if parent is not None and parent.name == "compaction":
                    facts.compaction_responses += 1
            elif span.span_type == "TOOL":
                facts.tool_calls += 1
                facts.tool_errors += span.status.status_code == "ERROR"
        root = next(s for s in spans.values() if s.parent_id is None)
        key = trace.info.tags[TURN_KEY_TAG]
        cost = trace.info.tags.get("cost.usd")
        facts.turns[key.rsplit(":", 1)[-1]] = StoredTurn(
            key=key,
            ok=trace.info.state.value == "OK",
            outcome=str(root.attributes.get("claude_code.outcome")),
            cost_usd=float(cost) if cost is not None else None,
            unpriced_models=trace.info.tags.get("cost.unpriced_models"),
        )
    return facts
