"""Token totals per model by ccusage's rules, and the differences from ours, each with its cause.

ccusage (the most used Claude Code usage counter) reads every `*.jsonl` under a project folder,
keeps each assistant line that has `message.usage`, and skips a line whose `message.id` +
`requestId` pair it has already seen: the FIRST line of a response wins. A line lacking either id is
never deduplicated. We keep the largest output count of a response's lines instead (the first
line of a multi-line response often carries a placeholder of 1), and identify responses without a
`requestId` by `message.id`. Written from ccusage's documented behaviour, not from its code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_input_tokens",
    "cache_creation": "cache_creation_input_tokens",
}


@dataclass
class Comparison:
    ccusage: dict[str, dict[str, int]] = field(default_factory=dict)
    # Each cause of a difference, per model and field, as what WE count minus what ccusage does:
    grown_output: dict[str, dict[str, int]] = field(default_factory=dict)  # last line vs first
    repeated_idless: dict[str, dict[str, int]] = field(default_factory=dict)  # negative
    progress_only: dict[str, dict[str, int]] = field(default_factory=dict)  # never top-level

    def explained(self) -> dict[str, dict[str, int]]:
        """ccusage's totals plus every explained difference: what we must report."""
        total: dict[str, dict[str, int]] = {}
        for part in (self.ccusage, self.grown_output, self.repeated_idless, self.progress_only):
            for model, values in part.items():
                per_model = total.setdefault(model, dict.fromkeys(FIELDS, 0))
                for name, value in values.items():
                    per_model[name] += value
        return total


def _records(folder: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(folder.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def _usage(record: dict[str, Any]) -> tuple[str, dict[str, int]] | None:
    message = record.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
        return None
    values = {}
    for name, key in FIELDS.items():
        value = message["usage"].get(key)
        values[name] = value if isinstance(value, int) and not isinstance(value, bool) else 0
    return str(message.get("model") or "unknown"), values


def _add(
    totals: dict[str, dict[str, int]], model: str, values: dict[str, int], sign: int = 1
) -> None:
    per_model = totals.setdefault(model, dict.fromkeys(FIELDS, 0))
    for name, value in values.items():
        per_model[name] += sign * value


def compare(folder: Path) -> Comparison:
    result = Comparison()
    records = _records(folder)
    top_level_ids = set()
    seen: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}  # first line of a response
    grown: dict[tuple[str, str], int] = {}
    idless: dict[str, list[tuple[str, dict[str, int]]]] = {}  # message id -> its lines
    for record in records:
        found = _usage(record) if record.get("type") == "assistant" else None
        if found is None:
            continue
        model, values = found
        message_id, request_id = record["message"].get("id"), record.get("requestId")
        if isinstance(message_id, str):
            top_level_ids.add(message_id)
        if not (isinstance(message_id, str) and isinstance(request_id, str)):
            _add(result.ccusage, model, values)  # ccusage counts every such line
            if isinstance(message_id, str):
                idless.setdefault(message_id, []).append((model, values))
            continue
        key = (message_id, request_id)
        if key not in seen:
            seen[key] = (model, values)
            _add(result.ccusage, model, values)
        grown[key] = max(grown.get(key, 0), values["output"] - seen[key][1]["output"])
    for key, extra in grown.items():
        _add(result.grown_output, seen[key][0], {"output": extra})
    for lines in idless.values():
        # We count such a response once (its largest output); ccusage counted each line.
        model = lines[0][0]
        for _, values in lines:
            _add(result.repeated_idless, model, values, sign=-1)
        best = max((v for _, v in lines), key=lambda v: v["output"])
        _add(result.repeated_idless, model, best)
    progress: dict[str, tuple[str, dict[str, int]]] = {}
    for record in records:
        data = record.get("data")
        if record.get("type") != "progress" or not isinstance(data, dict):
            continue
        inner = data.get("message")
        if data.get("type") != "agent_progress" or not isinstance(inner, dict):
            continue
        found = _usage(inner) if inner.get("type") == "assistant" else None
        message_id = (inner.get("message") or {}).get("id")
        if found is None or not isinstance(message_id, str) or message_id in top_level_ids:
            continue
        model, values = found
        if message_id not in progress or values["output"] > progress[message_id][1]["output"]:
            progress[message_id] = (model, values)
    for model, values in progress.values():
        _add(result.progress_only, model, values)
    return result
