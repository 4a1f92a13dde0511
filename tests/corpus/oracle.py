"""Test oracle: the expected facts of a Claude Code project folder of transcripts.

It is written independently of the product's own reader, from the documented transcript
format alone, so tests can check the product's numbers against a second opinion.
Standard library only. ``python -m tests.corpus.oracle FOLDER`` prints the facts as JSON.

Facts: distinct real API responses (deduplicated across the whole folder), tokens per
model, compaction responses, tool calls and errors, and per main session its turns.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

Record = dict[str, Any]
Key = tuple[str, str]  # (message.id, requestId or "")

SYNTHETIC = "<synthetic>"
INTERRUPT = "[Request interrupted by user"
NOT_PROMPT_PREFIXES = (
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    INTERRUPT,
)
TOKEN_FIELDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_input_tokens",
    "cache_creation": "cache_creation_input_tokens",
}
NO_TIME = datetime.max.replace(tzinfo=timezone.utc)


@dataclass
class TurnFacts:
    prompt_uuid: str
    prompt_text_start: str
    responses: int  # distinct responses in the turn's main-chain lines, new or copied
    new_responses: int
    answered: bool
    copied: bool


@dataclass
class SessionFacts:
    turns: list[TurnFacts] = field(default_factory=list)


@dataclass
class ProjectFacts:
    responses: int = 0
    tokens_by_model: dict[str, dict[str, int]] = field(default_factory=dict)
    compaction_responses: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    skipped_lines: int = 0  # broken JSON or non-object lines (blank lines are not counted)
    sessions: dict[str, SessionFacts] = field(default_factory=dict)


def read_records(path: Path) -> tuple[list[Record], int]:
    """The JSON objects of a .jsonl file, in file order, and how many lines were skipped."""
    records: list[Record] = []
    skipped = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                skipped += 1
                continue
            if isinstance(obj, dict):
                records.append(obj)
            else:
                skipped += 1
    return records, skipped


def message(rec: Record) -> Record:
    msg = rec.get("message")
    return msg if isinstance(msg, dict) else {}


def blocks(rec: Record) -> list[Record]:
    content = message(rec).get("content")
    if not isinstance(content, list):
        return []
    return [block for block in content if isinstance(block, dict)]


def text_of(rec: Record) -> str:
    """A record's text: string content, or its text blocks joined by newlines."""
    content = message(rec).get("content")
    if isinstance(content, str):
        return content
    parts = [b.get("text") for b in blocks(rec) if b.get("type") == "text"]
    return "\n".join(part for part in parts if isinstance(part, str))


def is_synthetic(rec: Record) -> bool:
    return message(rec).get("model") == SYNTHETIC


def expand(records: list[Record]) -> Iterator[Record]:
    """Each record, followed by the inner subagent record an agent_progress record carries."""
    for rec in records:
        yield rec
        data = rec.get("data")
        if rec.get("type") == "progress" and isinstance(data, dict):
            inner = data.get("message")
            if data.get("type") == "agent_progress" and isinstance(inner, dict):
                yield inner


def raw_key(rec: Record) -> tuple[str, str] | None:
    """(message.id, requestId or "") of a real API response line, else None."""
    if rec.get("type") != "assistant" or is_synthetic(rec):
        return None
    mid = message(rec).get("id")
    if not isinstance(mid, str) or not mid:
        return None
    rid = rec.get("requestId")
    return mid, rid if isinstance(rid, str) else ""


class Keys:
    """Resolves response keys. A line without requestId is identified by message.id alone,
    so it must match a copy of the same message that does carry a requestId (progress
    records, for one, may lack it): such lines borrow the smallest requestId seen."""

    def __init__(self, all_records: Iterator[Record]) -> None:
        self.default_rid: dict[str, str] = {}
        for rec in all_records:
            key = raw_key(rec)
            if key and key[1]:
                known = self.default_rid.get(key[0])
                self.default_rid[key[0]] = key[1] if known is None else min(known, key[1])

    def __call__(self, rec: Record) -> Key | None:
        key = raw_key(rec)
        if key is None or key[1]:
            return key
        return key[0], self.default_rid.get(key[0], "")


def first_time(records: list[Record]) -> datetime:
    """The first parseable timestamp of a file; files without one sort last."""
    for rec in records:
        value = rec.get("timestamp")
        if not isinstance(value, str):
            continue
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    return NO_TIME


def is_prompt(rec: Record) -> bool:
    """Whether a main-file record is a human prompt that starts a turn."""
    if rec.get("type") != "user" or "toolUseResult" in rec:
        return False
    if rec.get("isSidechain") or rec.get("isMeta") or rec.get("isCompactSummary"):
        return False
    content = message(rec).get("content")
    text = text_of(rec)
    if isinstance(content, list):
        if any(b.get("type") == "tool_result" for b in blocks(rec)):
            return False
        # Non-empty: some text, or a non-text block such as a pasted image.
        if not text.strip() and not any(b.get("type") != "text" for b in blocks(rec)):
            return False
    elif not isinstance(content, str) or not content.strip():
        return False
    return not text.lstrip().startswith(NOT_PROMPT_PREFIXES)


def is_api_error(rec: Record) -> bool:
    """Whether a synthetic assistant record reports an API failure (not e.g. a polite note)."""
    return (
        rec.get("isApiErrorMessage") is True
        or bool(rec.get("error"))
        or text_of(rec).lstrip().startswith("API Error")
    )


def is_answered(turn: list[Record], key_of: Keys) -> bool:
    """Decided from the shape of the turn's main-chain records only, never stop_reason."""
    real = [rec for rec in turn if key_of(rec) is not None]
    if not real:
        return False
    last = key_of(real[-1])
    # The final response must not be asking for a tool (its result would still be pending).
    for rec in real:
        if key_of(rec) == last and any(b.get("type") == "tool_use" for b in blocks(rec)):
            return False
    if any(r.get("type") == "user" and text_of(r).lstrip().startswith(INTERRUPT) for r in turn):
        return False
    assistants = [rec for rec in turn if rec.get("type") == "assistant"]
    return not (is_synthetic(assistants[-1]) and is_api_error(assistants[-1]))


def session_turns(
    records: list[Record], index: int, first_file: dict[Key, int], key_of: Keys
) -> list[TurnFacts]:
    """Split a main file into turns (prompt to next prompt) over its main-chain records."""
    groups: list[list[Record]] = []
    for rec in records:
        if is_prompt(rec):
            groups.append([rec])
        elif groups and not rec.get("isSidechain"):
            groups[-1].append(rec)
    turns: list[TurnFacts] = []
    credited: set[Key] = set()  # responses already attributed to an earlier turn of this file
    for group in groups:
        keys = list(dict.fromkeys(k for k in map(key_of, group) if k is not None))
        new = [k for k in keys if first_file[k] == index and k not in credited]
        credited.update(keys)
        uuid = group[0].get("uuid")
        turns.append(
            TurnFacts(
                prompt_uuid=uuid if isinstance(uuid, str) else "",
                prompt_text_start=text_of(group[0])[:60],
                responses=len(keys),
                new_responses=len(new),
                answered=is_answered(group, key_of),
                # Every response was first written by an earlier file: a resumed copy.
                copied=bool(keys) and all(first_file[k] < index for k in keys),
            )
        )
    return turns


def project_facts(folder: Path) -> ProjectFacts:
    """Compute the expected facts of one Claude Code project folder."""
    facts = ProjectFacts()
    files: list[tuple[Path, list[Record]]] = []
    # Main files at the top; agent-*.jsonl flat or under <session>/subagents/ (any depth).
    for path in sorted(folder.rglob("*.jsonl")):
        if path.is_file():
            records, skipped = read_records(path)
            facts.skipped_lines += skipped
            files.append((path, records))
    # "New" means first seen in the earliest file; path order breaks ties (main file first).
    files.sort(key=lambda item: (first_time(item[1]), str(item[0])))
    key_of = Keys(rec for _, records in files for rec in expand(records))

    first_file: dict[Key, int] = {}
    model_of: dict[Key, str] = {}
    usage_of: dict[Key, dict[str, int]] = {}
    compaction: set[Key] = set()
    tool_ids: set[str] = set()
    error_ids: set[str] = set()
    for index, (path, records) in enumerate(files):
        in_compaction = path.name.startswith("agent-acompact-")
        for rec in expand(records):
            for block in blocks(rec):
                kind, ident = block.get("type"), block.get("id")
                if kind == "tool_use" and isinstance(ident, str) and not is_synthetic(rec):
                    tool_ids.add(ident)
                target = block.get("tool_use_id")
                erred = kind == "tool_result" and block.get("is_error") is True
                if erred and isinstance(target, str):
                    error_ids.add(target)
            key = key_of(rec)
            if key is None:
                continue
            first_file.setdefault(key, index)
            if in_compaction:
                compaction.add(key)
            model = message(rec).get("model")
            model_of.setdefault(key, model if isinstance(model, str) and model else "unknown")
            usage = message(rec).get("usage")
            usage = usage if isinstance(usage, dict) else {}
            totals = usage_of.setdefault(key, dict.fromkeys(TOKEN_FIELDS, 0))
            # Lines of one response repeat its usage; output may grow, so keep maxima.
            for name, source in TOKEN_FIELDS.items():
                value = usage.get(source)
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[name] = max(totals[name], value)
        if path.parent == folder and not path.name.startswith("agent-"):
            facts.sessions[path.stem] = SessionFacts(
                session_turns(records, index, first_file, key_of)
            )

    for key, totals in usage_of.items():
        per_model = facts.tokens_by_model.setdefault(model_of[key], dict.fromkeys(TOKEN_FIELDS, 0))
        for name, value in totals.items():
            per_model[name] += value
    facts.responses = len(first_file)
    facts.compaction_responses = len(compaction)
    facts.tool_calls = len(tool_ids)
    facts.tool_errors = len(tool_ids & error_ids)
    return facts


def new_turns(facts: ProjectFacts) -> int:
    """Turns that are not resumed copies and got at least one response."""
    return sum(
        1
        for session in facts.sessions.values()
        for turn in session.turns
        if not turn.copied and turn.responses > 0
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.corpus.oracle FOLDER", file=sys.stderr)
        return 2
    facts = project_facts(Path(args[0]))
    output = asdict(facts)
    output["new_turns"] = new_turns(facts)
    print(json.dumps(output, sort_keys=True, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
