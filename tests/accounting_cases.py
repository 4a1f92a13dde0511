"""The 2.1.328 recordings (tests/fixtures/sessions-2.1.328) and oracles computed without the
reader: from what the scripted API sent (`sent.json`) and from the raw `cost-state` lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

SESSIONS_328 = Path(__file__).parent / "fixtures" / "sessions-2.1.328"
KINDS = ("input", "output", "cache_read", "cache_creation")


def case_dir(name: str) -> Path:
    return SESSIONS_328 / name


def session_id(name: str) -> str:
    return str(json.loads((case_dir(name) / "case.json").read_text())["session_id"])


def transcript(name: str) -> Path:
    return case_dir(name) / f"{session_id(name)}.jsonl"


def copy_case(name: str, target: Path) -> Path:
    """A writable copy (subagent files included); its transcript path."""
    shutil.copytree(case_dir(name), target)
    return target / f"{session_id(name)}.jsonl"


def sent(name: str) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = json.loads((case_dir(name) / "sent.json").read_text())
    return body


def sent_usage(entries: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per model: the tokens the server sent, summed."""
    totals: dict[str, dict[str, int]] = {}
    for entry in entries:
        usage = entry["usage"]
        t = totals.setdefault(entry["model"], dict.fromkeys(KINDS, 0))
        t["input"] += usage["input_tokens"]
        t["output"] += usage["output_tokens"]
        t["cache_read"] += usage["cache_read_input_tokens"]
        t["cache_creation"] += usage["cache_creation_input_tokens"]
    return totals


def raw_cost_states(path: Path) -> list[dict[str, Any]]:
    """The cost-state lines of a transcript, parsed with nothing but json."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        body = json.loads(line)
        if body.get("type") == "cost-state":
            found.append(body)
    return found


def raw_delta(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, dict[str, int]]:
    names = {
        "input": "inputTokens",
        "output": "outputTokens",
        "cache_read": "cacheReadInputTokens",
        "cache_creation": "cacheCreationInputTokens",
    }
    previous = (before or {}).get("modelUsage", {})
    delta = {}
    for model, usage in after["modelUsage"].items():
        old = previous.get(model, {})
        d = {k: usage[v] - old.get(v, 0) for k, v in names.items()}
        if any(d.values()):
            delta[model] = d
    return delta


def drop_lines(path: Path, keep: Any) -> None:
    """Rewrite a transcript keeping only the records `keep(record)` accepts."""
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if keep(json.loads(line))]
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
