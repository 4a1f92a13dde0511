"""Transcripts shaped like the ones Claude Code 2.x really writes (see ../shared/FACTS.md).

Each content block of a response is its own line, `stop_reason` is null on every line, the lines
of one response share `message.id` and `requestId` and repeat its usage, uuids chain through
`parentUuid`. Used where our scripted Messages API would hide a difference that matters.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

MODEL = "claude-sonnet-4-5-20250929"
START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def usage(inp: int, out: int, *, read: int = 0, write: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
        "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
        "service_tier": "standard",
    }


@dataclass
class Transcript:
    """One transcript file being written, line by line, in Claude Code 2.x's shape."""

    path: Path
    session_id: str
    version: str = "2.1.17"
    lines: list[dict[str, Any]] = field(default_factory=list)
    clock: datetime = START
    parent: str | None = None
    sidechain: bool = False
    agent_id: str | None = None

    def _add(self, record: dict[str, Any], *, seconds: float = 1.0) -> dict[str, Any]:
        self.clock += timedelta(seconds=seconds)
        line_uuid = str(uuid.uuid4())
        base = {
            "parentUuid": self.parent,
            "isSidechain": self.sidechain,
            "userType": "external",
            "cwd": "/home/dev/widgets",
            "sessionId": self.session_id,
            "version": self.version,
            "gitBranch": "main",
            "uuid": line_uuid,
            "timestamp": self.clock.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        if self.agent_id:
            base["agentId"] = self.agent_id
        full = {**base, **record}
        self.lines.append(full)
        self.parent = line_uuid
        return full

    def prompt(self, text: str | list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return self._add({"type": "user", "message": {"role": "user", "content": text}, **extra})

    def response(self, *blocks: dict[str, Any], use: dict[str, Any], model: str = MODEL) -> str:
        """One API response written as one line per block; returns its message id."""
        message_id = f"msg_01{uuid.uuid4().hex[:22]}"
        request_id = f"req_011C{uuid.uuid4().hex[:20]}"
        for block in blocks:
            message = {
                "model": model,
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "content": [block],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": use,
            }
            self._add({"type": "assistant", "message": message, "requestId": request_id})
        return message_id

    def tool_result(
        self, tool_id: str, content: Any, *, is_error: bool = False, meta: Any = None
    ) -> None:
        block = {"type": "tool_result", "tool_use_id": tool_id, "content": content}
        if is_error:
            block["is_error"] = True
        record: dict[str, Any] = {"type": "user", "message": {"role": "user", "content": [block]}}
        record["toolUseResult"] = meta if meta is not None else content
        self._add(record)

    def interrupt(self, *, for_tool_use: bool = False) -> None:
        text = "[Request interrupted by user" + (" for tool use]" if for_tool_use else "]")
        self._add(
            {
                "type": "user",
                "message": {"role": "user", "content": [{"type": "text", "text": text}]},
            }
        )

    def synthetic(self, text: str, *, api_error: bool = False) -> None:
        message = {
            "id": str(uuid.uuid4()),
            "model": "<synthetic>",
            "role": "assistant",
            "type": "message",
            "stop_reason": "stop_sequence",
            "content": [{"type": "text", "text": text}],
            "usage": usage(0, 0),
        }
        record: dict[str, Any] = {"type": "assistant", "message": message}
        if api_error:
            record["isApiErrorMessage"] = True
            record["error"] = "unknown"
        self._add(record)

    def raw(self, **record: Any) -> dict[str, Any]:
        return self._add(record)

    def save(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(line) + "\n" for line in self.lines)
        self.path.write_text(text, encoding="utf-8")
        return self.path


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(tool_id: str, name: str, **inputs: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": inputs}


def session(folder: Path, session_id: str | None = None, **extra: Any) -> Transcript:
    sid = session_id or str(uuid.uuid4())
    return Transcript(folder / f"{sid}.jsonl", sid, **extra)


def subagent(main: Transcript, agent_id: str) -> Transcript:
    """A subagent's own file (`<session>/subagents/agent-<id>.jsonl`), starting at main's clock."""
    return Transcript(
        main.path.parent / main.session_id / "subagents" / f"agent-{agent_id}.jsonl",
        main.session_id,
        version=main.version,
        clock=main.clock,
        sidechain=True,
        agent_id=agent_id,
    )


def compaction(main: Transcript, *, summary: str, use: dict[str, Any]) -> Transcript:
    """The compaction call Claude Code runs (auto or `/compact`), in its own subagent file."""
    agent = Transcript(
        main.path.parent
        / main.session_id
        / "subagents"
        / f"agent-acompact-{uuid.uuid4().hex[:7]}.jsonl",
        main.session_id,
        version=main.version,
        clock=main.clock,
        sidechain=True,
    )
    agent.prompt("Your task is to create a detailed summary of the conversation so far.")
    agent.response(text(summary), use=use)
    agent.save()
    main.clock = agent.clock
    return agent
