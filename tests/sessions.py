"""Access to the transcripts recorded from the real Claude Code CLI (tests/fixtures/sessions)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SESSIONS = Path(__file__).parent / "fixtures" / "sessions"


@dataclass
class RecordedCase:
    name: str
    folder: Path
    case: dict[str, Any]
    results: list[dict[str, Any]]

    @property
    def transcript(self) -> Path:
        return self.folder / f"{self.case['session_id']}.jsonl"

    def model_usage_totals(self) -> dict[str, int]:
        """Claude Code's own accounting, all agents and models, summed over the case's runs."""
        totals = {"input": 0, "output": 0, "cache_read": 0, "cache_creation": 0}
        for result in self.results:
            for usage in result["modelUsage"].values():
                totals["input"] += usage["inputTokens"]
                totals["output"] += usage["outputTokens"]
                totals["cache_read"] += usage["cacheReadInputTokens"]
                totals["cache_creation"] += usage["cacheCreationInputTokens"]
        return totals

    def total_cost_usd(self) -> float:
        return sum(r["total_cost_usd"] for r in self.results)


def recorded(name: str) -> RecordedCase:
    folder = SESSIONS / name
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    result_files = sorted(folder.glob("result*.json"))
    results = [json.loads(p.read_text(encoding="utf-8")) for p in result_files]
    return RecordedCase(name, folder, case, results)


def all_recorded() -> list[str]:
    return sorted(p.name for p in SESSIONS.iterdir() if (p / "case.json").is_file())


def copy_recorded(name: str, target: Path) -> Path:
    """A writable copy of a recorded session (subagent files included); its transcript path."""
    import shutil

    case = recorded(name)
    shutil.copytree(case.folder, target)
    return target / case.transcript.name
