"""Scripted local Anthropic Messages API server that the real Claude Code CLI can talk to offline.

How a request is answered
-------------------------
Every POST /v1/messages is classified into an *agent thread*:

* a **subagent** thread when the text of its first user message contains the ``marker`` of one of
  the scenario's :class:`Subagent` entries (the Agent tool's ``prompt`` becomes that message);
* a **fork** subagent thread (``subagent_type: "fork"``, Claude Code 2.1.3xx) when a user message
  holds the fork's start: the parent's whole conversation comes first, then a user message with
  the Agent call's tool_result ("Fork started — that fork is you.") and a text block
  ``<fork-boilerplate>…</fork-boilerplate> Your directive: PROMPT``. The directive is matched
  against the :class:`Subagent` markers like a subagent's first message; the step is the number
  of assistant runs after that message. The parent's own requests never hold the boilerplate
  (its tool_result says "Async agent launched"), so they stay main-thread requests;
* the **main** thread when the first user message contains the prompt of the scenario's first
  :class:`Turn`;
* a **compact** thread when the last user message asks for a conversation summary (a context
  compaction, manual ``/compact`` or automatic): answered with :data:`COMPACT_TEXT` and
  :data:`COMPACT_USAGE`; after it the main thread is recognised by the summary Claude Code puts
  first (:data:`COMPACT_SUMMARY_PREFIX`);
* anything else (no tools offered, unknown conversation: title/topic generation, summaries, ...)
  is **auxiliary** and gets a short generic text answer with small fixed usage.

Scripted threads must offer tools: Claude Code's side requests reuse the user's prompt text but
never carry tools, and this is how they are told apart from the agent loop.

The step answered is a pure function of the request body, so client retries get the same answer:

* main thread: the *turn* is the last real user prompt (a user text, not a tool result) in
  ``messages`` that contains a :class:`Turn` prompt (``--resume`` appends later prompts); the *step*
  is the number of assistant runs after that prompt (consecutive assistant messages count once);
* subagent thread: one turn; the step is the number of assistant runs in ``messages`` (for a
  fork: after the fork's start message).

A subagent that must outlive its launching turn (2.1.3xx runs subagents in the background) gets
a ``delay``: :class:`Subagent` ``delay`` stalls its first response that many seconds (like
``Step.stall``, pings keep the stream alive), so its work ends long after the parent's Stop.

Markers are checked before the main prompt, so a main prompt must not contain a subagent marker.
Usage is fixed per script position (see :func:`scripted_usage`), so it stays deterministic even
when parallel subagents make their requests in any order. Ids (``msg_``, ``toolu_``, ``req_``)
come from one counter and are unique per server. A step past the end of a script is answered with
a plain final text (``end_turn``). A step with an :class:`ApiError` is answered with that HTTP error
instead of a message (retries get the same error).

How a response is streamed
--------------------------
By default every event is written at once. ``block_pause`` pauses after each
``content_block_stop`` (so also before ``message_delta``), the way a real model takes time between
blocks. What Claude Code 2.1.197 then writes:

* main thread: a line is held back until its response's ``message_delta`` and written with the
  final ``stop_reason`` and usage, however long the pause (each line keeps the time its block
  ended). Pacing alone never yields the ``stop_reason: null`` real transcripts mostly have;
* subagent files: each line is written when its block ends, so with a pause it keeps
  ``stop_reason: null`` and message_start's placeholder ``output_tokens`` (1), as real ones
  sometimes do; the real output count then exists only in ``modelUsage`` (and, for a subagent's
  last response, in the Agent tool result's ``usage``).

``withhold_stop_reason`` sends ``stop_reason: null`` in ``message_delta``: main-thread lines then
carry null too (held back until the run ends: written just after the Stop hook). :data:`REAL_LIKE`
(both) is what the pytest fixture uses; the recorded ``response`` keeps the scripted stop reason.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Text:
    """A text content block."""

    text: str


@dataclass(frozen=True)
class Thinking:
    """A (visible) thinking content block, streamed with a fake signature."""

    thinking: str


@dataclass(frozen=True)
class ToolUse:
    """A tool_use content block; its id is assigned by the server when it is sent."""

    name: str
    input: dict[str, Any]


Block = Text | Thinking | ToolUse


@dataclass(frozen=True)
class ApiError:
    """An HTTP error answer in the Anthropic error format (``{"type": "error", "error": ...}``)."""

    status: int = 400
    type: str = "invalid_request_error"
    message: str = "Scripted API error"

    def body(self) -> dict[str, Any]:
        return {"type": "error", "error": {"type": self.type, "message": self.message}}


@dataclass(frozen=True)
class Step:
    """One scripted API response: content blocks, stop reason and (optional) explicit usage."""

    blocks: tuple[Block, ...] = ()
    stop_reason: str | None = None  # None: "tool_use" if any ToolUse block, else "end_turn"
    usage: dict[str, Any] | None = None  # None: distinct numbers derived from the step's position
    error: ApiError | None = None  # answer with this HTTP error instead of a message
    # seconds between message_start and the first block (a slow model; pings keep it alive)
    stall: float = 0.0

    @property
    def effective_stop_reason(self) -> str:
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"


@dataclass(frozen=True)
class Turn:
    """One user prompt of the main thread and the responses that answer it."""

    prompt: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Subagent:
    """A subagent thread, recognised by ``marker`` occurring in its first user message (or, for a
    fork, in its directive). ``delay`` seconds stall its first response (added to that step's
    ``stall``): a subagent slower than the turn that launched it."""

    marker: str
    steps: tuple[Step, ...]
    delay: float = 0.0

    def step(self, index: int) -> Step | None:
        """The scripted step at ``index`` with the subagent's delay applied to the first."""
        step = _pick(self.steps, index)
        if index == 0 and self.delay > 0 and step is not None:
            return replace(step, stall=step.stall + self.delay)
        return step


@dataclass(frozen=True)
class Scenario:
    """A scripted conversation: main-thread turns (one per ``claude`` invocation) and subagents."""

    name: str
    turns: tuple[Turn, ...]
    subagents: tuple[Subagent, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Position:
    """Where a response sits in the script: "main", a subagent marker, "compact" or "aux"."""

    thread: str
    thread_index: int  # 0 main, 1.. subagents, -1 auxiliary, -2 compaction
    turn: int
    step: int


@dataclass
class RecordedRequest:
    """A request the server received and, for /v1/messages, what it answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    position: Position | None = None
    response: dict[str, Any] | None = None  # the full message sent (final usage included)
    error: ApiError | None = None  # the scripted error answered instead of a message
    completed: bool = False  # the whole answer was written (False: the client hung up first)


AUX_USAGE: dict[str, Any] = {
    "input_tokens": 9,
    "output_tokens": 4,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
}
AUX_TEXT = "Scripted side answer"
FALLBACK_TEXT = "Done (script exhausted)."
# What Claude Code 2.1.197 asks for when it compacts, and how the compacted conversation starts.
COMPACT_REQUEST_MARKER = "Your task is to create a detailed summary"
COMPACT_SUMMARY_PREFIX = "This session is being continued from a previous conversation"
# What Claude Code 2.1.3xx sends a fork subagent after the parent's conversation
FORK_BOILERPLATE_MARKER = "<fork-boilerplate>"
FORK_DIRECTIVE_PREFIX = "Your directive:"
COMPACT_TEXT = "Scripted summary: the user asked for small shell tasks and they were done."
COMPACT_USAGE: dict[str, Any] = {
    "input_tokens": 7001,
    "output_tokens": 702,
    "cache_read_input_tokens": 70003,
    "cache_creation_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
}


@dataclass(frozen=True)
class Streaming:
    """How streamed responses are paced (see the module docstring)."""

    block_pause: float = 0.0  # seconds after each content_block_stop (so before message_delta)
    event_delay: float = 0.0  # seconds after every event (slow; block_pause is usually enough)
    withhold_stop_reason: bool = False  # message_delta carries stop_reason null


INSTANT = Streaming()
# stop_reason null on every line, a timestamp per block, placeholder output counts in subagent
# files: what real transcripts show. Costs block_pause per content block.
REAL_LIKE = Streaming(block_pause=0.2, withhold_stop_reason=True)


def scripted_usage(thread_index: int, turn: int, step: int) -> dict[str, Any]:
    """Distinct usage per script position; each field has its own scale so sums stay decodable."""
    k = 1 + thread_index * 100 + turn * 20 + step
    five_m, one_h = 200 * k + 4, 30 * k + 5
    return {
        "input_tokens": 100 * k + 1,
        "output_tokens": 10 * k + 2,
        "cache_read_input_tokens": 1000 * k + 3,
        "cache_creation_input_tokens": five_m + one_h,
        "cache_creation": {"ephemeral_5m_input_tokens": five_m, "ephemeral_1h_input_tokens": one_h},
    }


def _text_of(content: Any) -> str:
    """Concatenated text of a message's content (string or block list), tool results excluded."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def _is_prompt(message: dict[str, Any]) -> bool:
    """A user message that carries text rather than only tool results."""
    return message.get("role") == "user" and bool(_text_of(message.get("content")).strip())


def _fork_start(messages: Sequence[dict[str, Any]]) -> tuple[int, str] | None:
    """(index, directive) of the user message that starts a fork subagent, None if none does."""
    for idx, message in enumerate(messages):
        if message.get("role") != "user":
            continue
        text = _text_of(message.get("content"))
        if FORK_BOILERPLATE_MARKER in text:
            _, _, directive = text.rpartition(FORK_DIRECTIVE_PREFIX)
            return idx, directive
    return None


def _assistant_runs(messages: Sequence[dict[str, Any]]) -> int:
    """Number of maximal runs of consecutive assistant messages (one per API response)."""
    runs, previous = 0, None
    for m in messages:
        role = m.get("role")
        if role == "assistant" and previous != "assistant":
            runs += 1
        previous = role
    return runs


class MessagesAPI:
    """A scripted Messages API on 127.0.0.1; use as a context manager or start()/stop()."""

    def __init__(self, scenario: Scenario | None = None, *, streaming: Streaming = INSTANT) -> None:
        self.scenario = scenario
        self.streaming = streaming  # may be replaced at any time; read once per response
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> MessagesAPI:
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> MessagesAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_port}"

    def set_scenario(self, scenario: Scenario | None) -> None:
        with self._lock:
            self.scenario = scenario

    # -- inspection ------------------------------------------------------------------------------
    def error_requests(self) -> list[RecordedRequest]:
        """Requests to /v1/messages that were answered with a scripted error."""
        with self._lock:
            return [r for r in self.requests if r.error is not None]

    def message_requests(self) -> list[RecordedRequest]:
        """Requests to /v1/messages that were answered with a message (count_tokens excluded)."""
        with self._lock:
            return [r for r in self.requests if r.response is not None]

    def responses(self, thread: str | None = None) -> list[dict[str, Any]]:
        """Messages sent, optionally only for one thread ("main", "aux" or a subagent marker)."""
        return [
            r.response
            for r in self.message_requests()
            if r.response is not None
            and (thread is None or (r.position is not None and r.position.thread == thread))
        ]

    def usage_totals(self, *, include_aux: bool = True) -> dict[str, dict[str, int]]:
        """Sum of sent usage per model, each response counted once; a response the client hung
        up on (an interrupt) never got its message_delta, so it is not counted."""
        totals: dict[str, dict[str, int]] = {}
        for r in self.message_requests():
            assert r.response is not None and r.position is not None
            if not r.completed or (not include_aux and r.position.thread == "aux"):
                continue
            t = totals.setdefault(r.response["model"], {})
            for key in (
                "input_tokens",
                "output_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
            ):
                t[key] = t.get(key, 0) + int(r.response["usage"].get(key, 0))
            t["responses"] = t.get("responses", 0) + 1
        return totals

    # -- answering -------------------------------------------------------------------------------
    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def next_id(self, prefix: str) -> str:
        with self._lock:
            n = next(self._ids)
        return f"{prefix}{n:024d}"

    def classify(self, body: dict[str, Any]) -> tuple[Position, Step | None]:
        """Find the thread and step a /v1/messages body belongs to (None step: auxiliary)."""
        with self._lock:
            scenario = self.scenario
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        aux = Position("aux", -1, 0, 0)
        # 2.1.197 may append role "system" messages after the last user message
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        if COMPACT_REQUEST_MARKER in _text_of(last.get("content")):
            return Position("compact", -2, 0, 0), Step((Text(COMPACT_TEXT),), usage=COMPACT_USAGE)
        if scenario is None or not body.get("tools") or not messages:
            return aux, None
        first = _text_of(messages[0].get("content")) if messages[0].get("role") == "user" else ""
        fork = _fork_start(messages)
        for i, sub in enumerate(scenario.subagents, start=1):
            if fork is not None and sub.marker in fork[1]:
                step = _assistant_runs(messages[fork[0] + 1 :])
                return Position(sub.marker, i, 0, step), sub.step(step)
            if fork is None and sub.marker in first:
                step = _assistant_runs(messages)
                return Position(sub.marker, i, 0, step), sub.step(step)
        if not scenario.turns or (
            scenario.turns[0].prompt not in first and COMPACT_SUMMARY_PREFIX not in first
        ):
            return aux, None
        for idx in range(len(messages) - 1, -1, -1):
            if not _is_prompt(messages[idx]):
                continue
            text = _text_of(messages[idx].get("content"))
            # later turns first: a later prompt may contain an earlier one as a substring
            for t in range(len(scenario.turns) - 1, -1, -1):
                if scenario.turns[t].prompt in text:
                    step = _assistant_runs(messages[idx + 1 :])
                    return Position("main", 0, t, step), _pick(scenario.turns[t].steps, step)
        return aux, None

    def build_message(
        self, body: dict[str, Any], position: Position, step: Step | None
    ) -> dict[str, Any]:
        """The complete assistant message for a request (ids assigned, usage resolved)."""
        model = str(body.get("model") or "claude-sonnet-4-5-20250929")
        if step is None:
            step = Step((Text(_aux_text(body) if position.thread == "aux" else FALLBACK_TEXT),))
            usage = dict(AUX_USAGE) if position.thread == "aux" else None
        else:
            usage = step.usage
        if usage is None:
            usage = scripted_usage(position.thread_index, position.turn, position.step)
        usage = {**usage, "service_tier": "standard"}
        content: list[dict[str, Any]] = []
        for block in step.blocks:
            if isinstance(block, Text):
                content.append({"type": "text", "text": block.text})
            elif isinstance(block, Thinking):
                content.append(
                    {"type": "thinking", "thinking": block.thinking, "signature": "c2lnbmF0dXJl"}
                )
            else:
                content.append(
                    {
                        "type": "tool_use",
                        "id": self.next_id("toolu_"),
                        "name": block.name,
                        "input": block.input,
                    }
                )
        return {
            "id": self.next_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": step.effective_stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }


def _aux_text(body: dict[str, Any]) -> str:
    """Generic side answer; JSON that fits the schema when structured output is requested."""
    fmt = (body.get("output_config") or {}).get("format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return json.dumps(_instance(fmt.get("schema") or {}))
    return AUX_TEXT


def _instance(schema: dict[str, Any]) -> Any:
    """A minimal value satisfying a simple JSON schema (title generation asks for {"title"})."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _instance(v) for k, v in props.items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    return AUX_TEXT


def _pick(steps: Sequence[Step], index: int) -> Step | None:
    return steps[index] if index < len(steps) else Step((Text(FALLBACK_TEXT),))


def _chunks(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


def _event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


def sse_events(
    message: dict[str, Any], *, withhold_stop_reason: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The server-sent events that stream ``message`` like the real API does."""
    usage = message["usage"]
    # message_start carries input/cache usage and a placeholder output count, as the real API does
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield _event("message_start", message=start)
    yield _event("ping")
    for i, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "text":
            yield _event("content_block_start", index=i, content_block={"type": "text", "text": ""})
            for part in _chunks(block["text"], 16):
                delta = {"type": "text_delta", "text": part}
                yield _event("content_block_delta", index=i, delta=delta)
        elif kind == "thinking":
            empty = {"type": "thinking", "thinking": "", "signature": ""}
            yield _event("content_block_start", index=i, content_block=empty)
            for part in _chunks(block["thinking"], 16):
                delta = {"type": "thinking_delta", "thinking": part}
                yield _event("content_block_delta", index=i, delta=delta)
            delta = {"type": "signature_delta", "signature": block["signature"]}
            yield _event("content_block_delta", index=i, delta=delta)
        else:
            yield _event("content_block_start", index=i, content_block={**block, "input": {}})
            for part in _chunks(json.dumps(block["input"]), 24):
                delta = {"type": "input_json_delta", "partial_json": part}
                yield _event("content_block_delta", index=i, delta=delta)
        yield _event("content_block_stop", index=i)
    # the final message_delta repeats the cumulative usage with the real output count
    stop_reason = None if withhold_stop_reason else message["stop_reason"]
    yield _event(
        "message_delta",
        delta={"stop_reason": stop_reason, "stop_sequence": None},
        usage={k: v for k, v in usage.items() if k != "service_tier"},
    )
    yield _event("message_stop")


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the owning :class:`MessagesAPI` (set as a class attribute)."""

    api: MessagesAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; every request is recorded in memory instead

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _record(self) -> RecordedRequest:
        raw = self._read_body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        url = urlsplit(self.path)
        rec = RecordedRequest(self.command, url.path, url.query, dict(self.headers.items()), body)
        self.api.record(rec)
        return rec

    def _send(self, status: int, payload: bytes, content_type: str, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("request-id", self.api.next_id("req_"))
        self.end_headers()
        if not head:
            self.wfile.write(payload)

    def _stream(self, message: dict[str, Any], stall: float) -> bool:
        """Write the response's events; False when the client went away before the end."""
        pacing = self.api.streaming
        events = [
            (name, f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            for name, data in sse_events(message, withhold_stop_reason=pacing.withhold_stop_reason)
        ]
        if pacing.event_delay <= 0 and pacing.block_pause <= 0 and stall <= 0:
            self._send(200, b"".join(e for _, e in events), "text/event-stream")
            return True
        # paced stream: no length known up front, so the connection's end ends the body
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.send_header("request-id", self.api.next_id("req_"))
        self.end_headers()
        self.close_connection = True
        try:
            for name, event in events:
                self.wfile.write(event)
                self.wfile.flush()
                if name == "message_start":
                    self._stall(stall)
                wait = pacing.event_delay
                if name == "content_block_stop":
                    wait += pacing.block_pause
                if wait > 0:
                    time.sleep(wait)
        except (BrokenPipeError, ConnectionResetError):
            return False  # the client gave up (an interrupt): nothing left to answer
        return True

    def _stall(self, seconds: float) -> None:
        """Wait, sending pings as the real API does; a write fails soon after the client left."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.25, left))
            self.wfile.write(b'event: ping\ndata: {"type": "ping"}\n\n')
            self.wfile.flush()

    def _json(self, status: int, obj: Any, head: bool = False) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", head)

    def do_POST(self) -> None:
        rec = self._record()
        body = rec.body if isinstance(rec.body, dict) else {}
        if rec.path.rstrip("/") == "/v1/messages":
            position, step = self.api.classify(body)
            rec.position = position
            if step is not None and step.error is not None:
                rec.error = step.error
                self._json(step.error.status, step.error.body())
                return
            message = self.api.build_message(body, position, step)
            rec.response = message
            if body.get("stream"):
                rec.completed = self._stream(message, step.stall if step is not None else 0.0)
            else:
                # one write: mark it first, or a client that read the answer could see it unmarked
                rec.completed = True
                self._json(200, message)
        elif rec.path.rstrip("/").endswith("/count_tokens"):
            size = len(json.dumps(body))
            self._json(200, {"input_tokens": max(1, size // 4)})
        else:
            self._json(200, {})

    def do_GET(self) -> None:
        self._record()
        self._json(200, {})

    def do_HEAD(self) -> None:
        self._record()
        self._json(200, {}, head=True)

    def do_PUT(self) -> None:
        self._record()
        self._json(200, {})

    do_PATCH = do_PUT
    do_DELETE = do_PUT


__all__ = [
    "AUX_TEXT",
    "AUX_USAGE",
    "COMPACT_REQUEST_MARKER",
    "COMPACT_SUMMARY_PREFIX",
    "COMPACT_TEXT",
    "COMPACT_USAGE",
    "FALLBACK_TEXT",
    "FORK_BOILERPLATE_MARKER",
    "FORK_DIRECTIVE_PREFIX",
    "INSTANT",
    "REAL_LIKE",
    "ApiError",
    "Block",
    "MessagesAPI",
    "Position",
    "RecordedRequest",
    "Scenario",
    "Step",
    "Streaming",
    "Subagent",
    "Text",
    "Thinking",
    "ToolUse",
    "Turn",
    "scripted_usage",
    "sse_events",
]
