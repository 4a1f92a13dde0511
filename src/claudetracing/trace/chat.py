"""A model call as MLflow's UI draws a conversation: Anthropic messages of only the block kinds its
Anthropic parser accepts (one unknown block and the UI shows raw JSON instead of chat bubbles),
the call's name from what it did, the exception event of a failed span."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from claudetracing.transcript.model import AgentRun, LlmCall, ToolCall

MESSAGE_FORMAT_ATTRIBUTE = "mlflow.message.format"  # tells the UI how to read inputs/outputs
MESSAGE_FORMAT = "anthropic"
EXCEPTION_EVENT = "exception"  # the event name the UI marks a span red for
_NAME_CHARS = 80
UNRECORDED_ROLE = "unknown"  # transcript/requests.py's placeholder for a message not recorded
_AGENT_ID_TRAILER = "agentId:"  # Claude Code's note after a subagent's answer, not the answer


@dataclass
class Event:
    """A span event (MLflow's SpanEvent): name, time, attributes."""

    name: str
    at_ns: int
    attributes: dict[str, str] = field(default_factory=dict)


def exception_event(kind: str, message: str, at_ns: int) -> Event:
    """What MLflow's `record_exception` writes, from a failure we only know as text."""
    return Event(EXCEPTION_EVENT, at_ns, {"exception.type": kind, "exception.message": message})


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _image_note(block: dict[str, Any]) -> dict[str, Any]:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    data = source.get("data") if isinstance(source, dict) else None
    kind = source.get("media_type") if isinstance(source, dict) else None
    size = f": {len(data)} chars" if isinstance(data, str) else ""
    return _text(f"[{kind or block.get('type')} omitted{size}]")


def _result_part(part: Any) -> dict[str, Any]:
    """A block inside a tool result: text, else a note of what it was."""
    if isinstance(part, dict) and part.get("type") == "text":
        return _text(str(part.get("text", "")))
    if isinstance(part, dict) and part.get("type") in ("image", "document"):
        return _image_note(part)
    if isinstance(part, dict):
        return _text(f"[{part.get('type', 'block')}]")
    return _text(str(part))


def _result_content(content: Any) -> str | list[dict[str, Any]]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return [_result_part(p) for p in content]
    return json.dumps(content, ensure_ascii=False, default=str)


def _web_results(content: Any) -> str:
    if not isinstance(content, list):
        return json.dumps(content, ensure_ascii=False, default=str)
    found = [r for r in content if isinstance(r, dict)]
    return "\n".join(f"{r.get('title', '')} {r.get('url', '')}".strip() for r in found)


def ui_block(block: Any) -> dict[str, Any]:
    """One content block in a shape MLflow's UI draws (text, thinking, tool call, tool result);
    anything else becomes a text note saying what it was. Signatures and image data go."""
    if not isinstance(block, dict):
        return _text(str(block))
    kind = block.get("type")
    if kind == "text":
        return _text(str(block.get("text", "")))
    if kind == "thinking":
        return {"type": "thinking", "thinking": str(block.get("thinking", ""))}
    if kind in ("tool_use", "server_tool_use"):
        given = block.get("input")
        return {
            "type": "tool_use",
            "id": str(block.get("id", "")),
            "name": str(block.get("name", "tool")),
            "input": given if isinstance(given, dict) else {"input": given},
        }
    if kind == "tool_result":
        result: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": str(block.get("tool_use_id", "")),
            "content": _result_content(block.get("content")),
        }
        if "is_error" in block:
            result["is_error"] = bool(block["is_error"])
        return result
    if kind == "web_search_tool_result":
        return {
            "type": "tool_result",
            "tool_use_id": str(block.get("tool_use_id", "")),
            "content": _web_results(block.get("content")),
        }
    if kind in ("image", "document"):
        return _image_note(block)
    if kind == "redacted_thinking":
        return _text("[thinking redacted by the API]")
    return _text(f"[{kind or 'block'}]")


def ui_message(message: Any) -> dict[str, Any]:
    """An API message as the UI reads it: role user or assistant, content a string or UI blocks.
    The UI draws no other role: a `system` message Claude Code sent is a user message whose
    first block says `[system message]`; one it did not record, a user message saying so."""
    if not isinstance(message, dict):
        return {"role": "user", "content": str(message)}
    role = message.get("role")
    content = message.get("content")
    if isinstance(content, list):
        blocks = [ui_block(b) for b in content]
    else:
        blocks = [_text("" if content is None else str(content))]
    if role == UNRECORDED_ROLE:
        return {"role": "user", "content": blocks}
    if role not in ("user", "assistant"):
        return {"role": "user", "content": [_text(f"[{role} message]"), *blocks]}
    if isinstance(content, str):
        return {"role": role, "content": content}
    return {"role": role, "content": blocks}


def tool_result_message(tools: list[ToolCall]) -> dict[str, Any]:
    """The user message that carried these tools' results back to the model."""
    blocks = []
    for tool in tools:
        content = _result_content(tool.output)
        blocks.append(
            {
                "type": "tool_result",
                "tool_use_id": tool.id,
                "content": content,
                "is_error": tool.is_error,
            }
        )
    return {"role": "user", "content": blocks}


def added_messages(call: LlmCall, prompt: str | None, tools: list[ToolCall]) -> list[Any]:
    """The messages this call added: Claude Code's request record where there is one (2.1.3xx),
    else the prompt (the run's first call) or the tool results since the previous call."""
    if call.request is not None:
        return [ui_message(m) for m in call.request.added]
    messages: list[dict[str, Any]] = []
    if prompt is not None:
        messages.append({"role": "user", "content": prompt})
    if tools:
        messages.append(tool_result_message(tools))
    return messages


def response_blocks(call: LlmCall) -> list[dict[str, Any]]:
    return [ui_block(b) for b in call.blocks]


def call_name(call: LlmCall) -> str:
    """What the call did: `→ Edit, Read ×2` (the tools it asked for), `answer` (text only),
    `thinking` (only thought), `response` (nothing of these)."""
    tools = Counter(
        str(b.get("name", "tool"))
        for b in call.blocks
        if b.get("type") in ("tool_use", "server_tool_use")
    )
    if tools:
        name = "→ " + ", ".join(f"{n} ×{c}" if c > 1 else n for n, c in tools.items())
        return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"
    if call.text.strip():
        return "answer"
    if any(b.get("type") in ("thinking", "redacted_thinking") for b in call.blocks):
        return "thinking"
    return "response"


def subagent_answer(tool: ToolCall, run: AgentRun) -> str | None:
    """A subagent's answer from its Agent/Task tool result, when its own lines lack it (its
    file is gone or was pruned, older layouts): the result's text without Claude Code's
    `agentId:` note. None when the run has its answer, or the result cannot be it."""
    if run.final_text or tool.background is not None or tool.is_error or not tool.finished:
        return None
    output = tool.output
    parts = output if isinstance(output, list) else [output]
    texts = []
    for part in parts:
        text = part if isinstance(part, str) else None
        if isinstance(part, dict) and part.get("type") == "text":
            text = str(part.get("text", ""))
        if text and not text.lstrip().startswith(_AGENT_ID_TRAILER):
            texts.append(text)
    answer = "\n".join(texts).strip()
    return answer or None
