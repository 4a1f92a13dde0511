"""Turn a parsed turn into a backend-neutral span tree: the trace model, in plain Python."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from claudetracing.core import keys
from claudetracing.trace import chat, pricing
from claudetracing.trace.chat import Event
from claudetracing.transcript import requests
from claudetracing.transcript.model import (
    ANSWERED,
    API_ERROR,
    COMPACTION,
    INTERRUPTED,
    SUBAGENT_TOOLS,
    AgentRun,
    LlmCall,
    Notice,
    TokenTotals,
    ToolCall,
    Turn,
    run_tokens,
    text_of,
)
from claudetracing.transcript.records import TOO_DEEP

DEFAULT_MAX_CHARS = 100_000
TURN_KEY_TAG = "claudetracing.turn_key"
BACKGROUND_LAUNCHED_TAG = "claude_code.background.launched"
BACKGROUND_UNFINISHED_TAG = "claude_code.background.unfinished"
BACKGROUND_REPORTS_TAG = "claude_code.background.reports"
# How many TOOL spans of the trace (subagents' included) are ERROR: the turn's status stays OK
# when it was answered, so this is what says a tool failed on the way (issue 17's name).
TOOL_ERRORS_TAG = "tools.errors"
COST_ATTRIBUTE = "mlflow.llm.cost"
# An LLM span's tokens as Anthropic counts them (input excludes the cache): `mlflow.chat.tokenUsage`
# follows MLflow's convention instead. Spans written before it existed have only the latter,
# then in Anthropic's convention.
ANTHROPIC_USAGE_ATTRIBUTE = "anthropic.usage"
_META_SCALARS = 20  # toolUseResult fields kept as span attributes, at most


@dataclass
class SpanNode:
    name: str
    span_type: str  # MLflow span types: AGENT, LLM, TOOL
    start_ns: int
    end_ns: int
    inputs: Any = None
    outputs: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "OK"
    status_message: str = ""
    children: list[SpanNode] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # `exception` on a failed span

    def walk(self) -> list[SpanNode]:
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes


@dataclass
class TurnTrace:
    key: str
    session_id: str
    root: SpanNode
    tokens: TokenTotals
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    # The Traces list's Request and Response columns: the prompt as typed, the answer's text
    # (MLflow would show the root span's inputs and outputs as JSON).
    request_preview: str = ""
    response_preview: str = ""


MAX_NESTING = 100  # transcripts are cut at MAX_DEPTH levels when read; this guards the rest


def max_chars() -> int:
    try:
        return max(1_000, int(os.environ.get(keys.MAX_CONTENT_CHARS, DEFAULT_MAX_CHARS)))
    except ValueError:
        return DEFAULT_MAX_CHARS


def clip(value: Any, limit: int, _depth: int = 0) -> Any:
    """Cut long strings with a visible marker and their original size; keep the structure
    (down to MAX_NESTING levels: deeper, a dict or list becomes TOO_DEEP)."""
    if isinstance(value, dict | list) and _depth >= MAX_NESTING:
        return TOO_DEEP
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}\n…[truncated by claudetracing: {len(value)} chars, kept {limit}]"
    if isinstance(value, dict):
        if value.get("type") in ("image", "document") and isinstance(value.get("source"), dict):
            source = dict(value["source"])
            data = source.get("data")
            if isinstance(data, str) and len(data) > 256:
                source["data"] = (
                    f"…[{source.get('media_type', 'binary')} omitted: {len(data)} chars]"
                )
            return {**value, "source": source}
        return {k: clip(v, limit, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clip(v, limit, _depth + 1) for v in value]
    return value


@dataclass
class Shaper:
    """How content is made fit to leave the machine: scrubbed (redaction), then cut to size."""

    limit: int = DEFAULT_MAX_CHARS
    scrub: Callable[[Any], Any] | None = None

    def content(self, value: Any) -> Any:
        if self.scrub is not None:
            value = self.scrub(value)
        return clip(value, self.limit)

    def text(self, value: str) -> str:
        scrubbed = self.scrub(value) if self.scrub is not None else value
        return scrubbed if isinstance(scrubbed, str) else str(scrubbed)


def token_usage(usage: dict[str, Any]) -> dict[str, int]:
    """MLflow's `mlflow.chat.tokenUsage` from an Anthropic usage object, as MLflow's Anthropic
    autolog writes it: `input_tokens` counts cache reads and writes too (Anthropic's excludes
    them), with the cache counts beside it, and the 1-hour part of the cache writes."""
    totals = TokenTotals()
    totals.add_usage(usage)
    cached = totals.cache_read + totals.cache_creation
    result = {
        "input_tokens": totals.input + cached,
        "output_tokens": totals.output,
        "total_tokens": totals.total + cached,
        "cache_read_input_tokens": totals.cache_read,
        "cache_creation_input_tokens": totals.cache_creation,
    }
    if isinstance(usage.get("cache_creation"), dict):
        result["cache_creation_input_tokens_above_1hr"] = totals.cache_creation_1h
    return result


def anthropic_usage(usage: dict[str, Any]) -> dict[str, int]:
    """The four token counts as Anthropic reports them (input excludes the cache): what our
    reads and `tokens.*` tags use."""
    totals = TokenTotals()
    totals.add_usage(usage)
    return {
        "input_tokens": totals.input,
        "output_tokens": totals.output,
        "cache_read_input_tokens": totals.cache_read,
        "cache_creation_input_tokens": totals.cache_creation,
    }


def span_count(run: AgentRun) -> int:
    """How many spans `build_trace` makes for a run, without building (or redacting) them."""
    count = 1 + len(run.llm_calls) + len(run.notices)
    for tool in run.tool_calls:
        count += 1 + (span_count(tool.subagent) if tool.subagent is not None else 0)
    return count + sum(span_count(r) for r in run.side_runs)


STATUS_MESSAGES = {
    INTERRUPTED: "interrupted by the user before a final answer",
    API_ERROR: "the API request failed; Claude Code gave up",
}


def _llm_span(call: LlmCall, added: list[Any], shape: Shaper) -> SpanNode:
    """One API response, as MLflow's UI draws a chat: inputs `{model, messages}` (the messages
    this call added), outputs the response as an Anthropic message, both after redaction and
    size caps. Named by what it did; the model is an attribute (the UI shows it as a chip)."""
    attributes: dict[str, Any] = {
        chat.MESSAGE_FORMAT_ATTRIBUTE: chat.MESSAGE_FORMAT,
        "anthropic.stop_reason": call.stop_reason,
        "anthropic.message_id": call.key,
    }
    if call.model:
        attributes["mlflow.llm.model"] = call.model
        attributes["mlflow.llm.provider"] = "anthropic"
    if call.copied:
        # A resumed session's copy of a response traced before: shown, but never counted twice.
        attributes["claude_code.copied_response"] = True
        attributes[COST_ATTRIBUTE] = None
    else:
        attributes["mlflow.chat.tokenUsage"] = token_usage(call.usage)
        attributes[ANTHROPIC_USAGE_ATTRIBUTE] = anthropic_usage(call.usage)
        cost = pricing.price(call.model, call.usage)
        # An explicit null tells MLflow not to look a price up itself (it would guess).
        attributes[COST_ATTRIBUTE] = cost.as_mlflow() if cost else None
    if call.request_id:
        attributes["anthropic.request_id"] = call.request_id
    if call.request is not None:
        attributes.update(requests.span_attributes(call.request))
    if call.output_from_result:
        attributes["claude_code.output_tokens_source"] = "agent_result"
    for extra in ("service_tier", "speed"):
        if call.usage.get(extra) is not None:
            attributes[f"anthropic.{extra}"] = call.usage[extra]
    split = call.usage.get("cache_creation")
    if isinstance(split, dict):
        attributes["anthropic.cache_creation"] = split
    outputs: dict[str, Any] = {
        "id": call.message_id,
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": shape.content(chat.response_blocks(call)),
        "stop_reason": call.stop_reason,
        "usage": call.usage,
    }
    return SpanNode(
        name=chat.call_name(call),
        span_type="LLM",
        start_ns=call.start_ns,
        end_ns=max(call.end_ns, call.start_ns),
        inputs={"model": call.model, "messages": shape.content(added)},
        outputs=outputs,
        attributes=attributes,
    )


def _tool_output(tool: ToolCall) -> Any:
    output = tool.output
    if isinstance(output, list) and all(
        isinstance(b, dict) and b.get("type") == "text" for b in output
    ):
        return text_of(output)
    return output


def _tool_span(tool: ToolCall, end_fallback: int, shape: Shaper, depth: int) -> SpanNode:
    end = tool.end_ns if tool.end_ns is not None else max(end_fallback, tool.start_ns)
    attributes: dict[str, Any] = {"tool.use_id": tool.id}
    for key, value in list(tool.result_meta.items())[:_META_SCALARS]:
        if isinstance(value, (bool, int, float)):
            attributes[f"tool.result.{key}"] = value
        elif isinstance(value, str) and len(value) < 500:
            attributes[f"tool.result.{key}"] = shape.text(value)
    node = SpanNode(
        name=tool.name,
        span_type="TOOL",
        start_ns=tool.start_ns,
        end_ns=end,
        inputs=shape.content(tool.input),
        outputs=shape.content(_tool_output(tool)),
        attributes=attributes,
    )
    if tool.is_error:
        _fail(node, "tool_error", shape.text(text_of(tool.output))[:500])
        node.status_message = node.status_message or "the tool reported an error"
    elif not tool.finished:
        _fail(node, "no_tool_result", "no tool result was recorded (interrupted or still running)")
    if tool.background is not None:
        # Launched in the background: the call returned at once, the subagent worked on.
        node.attributes["subagent.background"] = True
        if tool.background.status:
            node.attributes["subagent.background.status"] = tool.background.status
        if tool.background.released:
            node.attributes["subagent.background.unfinished"] = tool.background.released
    if tool.subagent is not None:
        child = _agent_span(tool.subagent, shape, depth + 1)
        answer = chat.subagent_answer(tool, tool.subagent)
        if answer is not None:
            # The subagent's own lines lack its answer (file gone, older layout): its result has it.
            child.outputs = shape.content({"answer": answer})
            child.attributes["subagent.answer_source"] = "tool_result"
        node.children.append(child)
        node.end_ns = max(node.end_ns, child.end_ns)
    elif tool.name in SUBAGENT_TOOLS:
        node.attributes["subagent.transcript"] = "not found"
    return node


def _children(run: AgentRun, shape: Shaper, depth: int) -> list[SpanNode]:
    nodes: list[SpanNode] = []
    prompt: str | None = run.prompt  # what the run's first call answered
    results: list[ToolCall] = []  # tools whose results the next call answers
    steps = run.steps
    for index, step in enumerate(steps):
        if isinstance(step, LlmCall):
            nodes.append(_llm_span(step, chat.added_messages(step, prompt, results), shape))
            prompt, results = None, []
        elif isinstance(step, Notice):
            nodes.append(_notice_span(step, shape))
        else:
            later = [s.start_ns for s in steps[index + 1 :] if isinstance(s, LlmCall)]
            nodes.append(_tool_span(step, later[0] if later else run.end_ns, shape, depth))
            results.append(step)
    for side in run.side_runs:
        node = _agent_span(side, shape, depth + 1)
        node.attributes["subagent.launched_by"] = "claude_code"  # no tool call of the model
        at = next((i for i, n in enumerate(nodes) if n.start_ns > node.start_ns), len(nodes))
        nodes.insert(at, node)
    return nodes


def _notice_span(notice: Notice, shape: Shaper) -> SpanNode:
    """Claude Code's own message: what it is, never an API call (no usage, no price)."""
    node = SpanNode(
        name="claude_code_message",
        span_type="UNKNOWN",
        start_ns=notice.at_ns,
        end_ns=notice.at_ns,
        outputs=shape.content({"text": notice.text}),
        attributes={"claude_code.synthetic": True, "claude_code.api_error": notice.api_error},
    )
    if notice.api_error:
        _fail(node, "api_error", shape.text(notice.text)[:500] or "API error")
    return node


def _fail(node: SpanNode, kind: str, message: str) -> None:
    """ERROR, with the `exception` event MLflow's UI needs to show the span as failed (status
    alone looks normal there): `kind` and the (already redacted, capped) message."""
    node.status = "ERROR"
    node.status_message = message
    node.events.append(chat.exception_event(kind, message or kind, node.end_ns))


def _agent_span(run: AgentRun, shape: Shaper, depth: int) -> SpanNode:
    children = _children(run, shape, depth)
    end = max([run.end_ns, run.start_ns, *(c.end_ns for c in children)])
    attributes: dict[str, Any] = {}
    if run.agent_id:
        attributes["subagent.id"] = run.agent_id
    if run.agent_type:
        attributes["subagent.type"] = run.agent_type
    if run.description:
        attributes["subagent.description"] = shape.text(run.description)
    if run.agent_type == COMPACTION:
        name = COMPACTION
    else:
        name = f"subagent:{run.agent_type or 'agent'}" if depth else "claude_code_turn"
    return SpanNode(
        name=name,
        span_type="AGENT",
        start_ns=run.start_ns,
        end_ns=end,
        inputs=shape.content({"prompt": run.prompt}),
        outputs=shape.content({"answer": run.final_text}),
        attributes=attributes,
        children=children,
    )


def tool_errors(root: SpanNode) -> int:
    """Failed tool calls in the tree: TOOL spans whose status is ERROR."""
    return sum(1 for node in root.walk() if node.span_type == "TOOL" and node.status == "ERROR")


def _background_tags(turn: Turn) -> dict[str, str]:
    """Tie a background subagent's two turns together: the one whose trace holds its run
    (`launched`, agent ids) and the one its `<task-notification>` started (`reports`)."""
    tags: dict[str, str] = {}
    launched = [t for t in turn.run.walk_tool_calls() if t.background is not None]
    ids = [t.background.agent_id or t.id for t in launched if t.background is not None]
    if ids:
        tags[BACKGROUND_LAUNCHED_TAG] = ",".join(ids)
    unfinished = [t for t in launched if t.background is not None and t.background.released]
    if unfinished:
        tags[BACKGROUND_UNFINISHED_TAG] = str(len(unfinished))
    reported = turn.prompt_context.get("task_id")
    if reported:
        tags[BACKGROUND_REPORTS_TAG] = reported
    return tags


def build_trace(
    turn: Turn, user: str, *, limit: int | None = None, scrub: Callable[[Any], Any] | None = None
) -> TurnTrace:
    """The whole trace of one turn. Timestamps are the transcript's, never the export's clock.
    `scrub` (redaction) sees every piece of content before it is cut to `limit`."""
    shape = Shaper(limit or max_chars(), scrub)
    root = _agent_span(turn.run, shape, depth=0)
    root.attributes.update(
        {
            "claude_code.session_id": turn.session_id,
            "claude_code.version": turn.claude_version,
            "claude_code.cwd": turn.cwd,
            "claude_code.permission_mode": turn.permission_mode,
        }
    )
    root.attributes["claude_code.outcome"] = turn.outcome
    for name, value in turn.prompt_context.items():
        root.attributes[f"claude_code.prompt.{name}"] = shape.text(value)
    if turn.outcome != ANSWERED:
        notices = [n.text for n in turn.run.notices if n.api_error]
        message = STATUS_MESSAGES.get(
            turn.outcome, "the turn ended without a final answer (on a tool call, or no response)"
        )
        if notices:
            message += f": {shape.text(notices[-1])[:300]}"
        _fail(root, turn.outcome, message)
    metadata = {
        "mlflow.trace.session": turn.session_id,
        "mlflow.trace.user": user,
        "mlflow.source.name": "claude-code",
        "mlflow.source.type": "LOCAL",
    }
    tags = {TURN_KEY_TAG: turn.key, "claude_code.session_id": turn.session_id}
    tags.update(_background_tags(turn))
    tags[TOOL_ERRORS_TAG] = str(tool_errors(root))
    return TurnTrace(
        key=turn.key,
        session_id=turn.session_id,
        root=root,
        tokens=run_tokens(turn.run),
        tags=tags,
        metadata=metadata,
        request_preview=shape.text(turn.run.prompt),
        response_preview=shape.text(turn.run.final_text),
    )
