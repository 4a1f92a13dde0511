"""Claude Code's request records (2.1.3xx): what each API call sent, tied to its response.

Each API call writes an `api-request` record (`querySource`, `params`, and the messages it sent
as `base`/`keep`/`tail`, see docs/transcripts.md) in the file of the agent that made it. The
messages are content-addressed: `tail` lists hashes (sha256 of the message's canonical JSON);
the message itself is an `api-request-blob` record, or, when Claude Code had already written it
as a transcript line, that `user`/`assistant` line (then no blob is written). This module
rebuilds, for each response, the request that produced it and the messages that call added."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from claudetracing.transcript.model import AgentRun, ApiRequest, LlmCall
from claudetracing.transcript.records import Record, read_transcript

REQUEST = "api-request"
BLOB = "api-request-blob"


def message_hash(message: dict[str, Any]) -> str:
    """Claude Code's content address of a message: sha256 of its sorted, compact JSON."""
    text = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _api_message(role: str, content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    return {"role": role, "content": content}


class MessageStore:
    """Messages by hash: blobs, and transcript lines (alone, and merged the way Claude Code
    merges them into one API message: one response's lines, consecutive tool results).
    `more` is asked once, on the first miss, for further records (the whole file)."""

    def __init__(self, more: Callable[[], Iterable[Record]] | None = None) -> None:
        self.messages: dict[str, dict[str, Any]] = {}
        self._more = more
        self._pending: list[Sequence[Record]] = []

    def add_later(self, records: Sequence[Record]) -> None:
        """Hashed on the first lookup only: transcripts without request records cost nothing."""
        self._pending.append(records)

    def add(self, records: Iterable[Record]) -> None:
        group: list[Record] = []
        for record in records:
            if record.type == BLOB:
                message, digest = record.data.get("message"), record.data.get("hash")
                if isinstance(message, dict) and isinstance(digest, str):
                    self.messages.setdefault(digest, message)
                continue
            if record.type not in ("user", "assistant"):
                continue
            content = record.message.get("content")
            role = record.message.get("role") or record.type
            if not isinstance(role, str) or content is None:
                continue
            self._put(_api_message(role, content))
            if group and _same_message(group[-1], record):
                group.append(record)
                merged = [
                    b for r in group for b in _api_message(role, r.message["content"])["content"]
                ]
                self._put({"role": role, "content": merged})
            else:
                group = [record]

    def _put(self, message: dict[str, Any]) -> None:
        self.messages.setdefault(message_hash(message), message)

    def get(self, digest: str) -> dict[str, Any] | None:
        while self._pending:
            self.add(self._pending.pop(0))
        found = self.messages.get(digest)
        if found is None and self._more is not None:
            more, self._more = self._more, None
            self.add(more())
            found = self.messages.get(digest)
        return found


def session_store(path: Path, records: Sequence[Record], *, whole: bool) -> MessageStore:
    """The messages of a main transcript read from `records`; when they are not the whole file
    (a later export), a message sent again from earlier turns is looked up in the whole file."""
    more = None if whole else (lambda: read_transcript(path, final=True).records)
    store = MessageStore(more)
    store.add_later(records)
    return store


def _same_message(previous: Record, record: Record) -> bool:
    """Two transcript lines that are one API message: blocks of one response, or tool results."""
    if previous.type != record.type:
        return False
    if record.type == "assistant":
        message_id = record.message.get("id")
        return bool(message_id) and previous.message.get("id") == message_id
    both = (previous.message.get("content"), record.message.get("content"))
    return all(isinstance(c, list) and c and c[0].get("type") == "tool_result" for c in both)


def parse_request(record: Record) -> ApiRequest | None:
    data = record.data
    tail = data.get("tail")
    request_id = data.get("id")
    if not isinstance(request_id, str) or not isinstance(tail, list):
        return None
    keep = data.get("keep")
    params = data.get("params")
    source = data.get("querySource")
    base = data.get("base")
    return ApiRequest(
        id=request_id,
        query_source=source if isinstance(source, str) else None,
        params=params if isinstance(params, dict) else {},
        at_ns=record.timestamp_ns,
        base=base if isinstance(base, str) else None,
        keep=keep if isinstance(keep, int) and keep >= 0 else 0,
        tail=[h for h in tail if isinstance(h, str)],
    )


def _full(requests: Sequence[ApiRequest]) -> dict[str, list[str | None]]:
    """Every request's whole message list, as hashes: its base's first `keep`, then its tail.
    A base not among these records leaves its part unknown (None)."""
    full: dict[str, list[str | None]] = {}
    for request in requests:
        base = full.get(request.base) if request.base else None
        if request.keep == 0:
            kept: list[str | None] = []
        elif base is not None and len(base) >= request.keep:
            kept = base[: request.keep]
        else:
            kept = [None] * request.keep
        full[request.id] = [*kept, *request.tail]
    return full


def _added(hashes: list[str | None], store: MessageStore) -> tuple[list[dict[str, Any]], int]:
    """The messages since the last response the call saw: from the last assistant message on
    (a first call, or one after a compaction, adds all it sends)."""
    messages = [store.get(h) if h else None for h in hashes]
    start = 0
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message is not None and message.get("role") == "assistant":
            start = index
            break
    else:
        # No assistant message known: skip the unknown kept part, keep the rest.
        start = next((i for i, h in enumerate(hashes) if h is not None), len(hashes))
    added: list[dict[str, Any]] = []
    missing = 0
    for digest, message in zip(hashes[start:], messages[start:], strict=True):
        if message is None:
            missing += 1
            added.append({"role": "unknown", "content": f"[message not recorded: {digest}]"})
        else:
            added.append(message)
    return added, missing


def attach(run: AgentRun, records: Sequence[Record], store: MessageStore | None = None) -> None:
    """Give each response of `run` (one agent's thread, `records` its lines) the request that
    produced it: the latest request of the same model sent before the response's first line
    and after the previous match. Requests that got no response (API errors, retries) are left
    unmatched without shifting the others. `store` defaults to the messages of `records`."""
    requests = [r for r in (parse_request(x) for x in records if x.type == REQUEST) if r]
    if not requests:
        return
    if store is None:
        store = MessageStore()
        store.add_later(records)
    first_line: dict[str, int] = {}
    for record in records:
        message_id = record.message.get("id") if record.type == "assistant" else None
        if isinstance(message_id, str) and record.timestamp_ns is not None:
            first_line.setdefault(message_id, record.timestamp_ns)
    full = _full(requests)
    position = 0
    for call in run.llm_calls:
        at = first_line.get(call.message_id or "")
        if at is None or call.copied:
            continue
        chosen = _latest_before(requests, position, at, call)
        if chosen is None:
            continue
        request = requests[chosen]
        request.added, request.missing = _added(full[request.id], store)
        call.request = request
        position = chosen + 1


def _latest_before(requests: list[ApiRequest], start: int, at: int, call: LlmCall) -> int | None:
    found = None
    for index in range(start, len(requests)):
        request = requests[index]
        if request.at_ns is None or request.at_ns > at:
            break
        if _same_model(call.model, request.model):
            found = index
    return found


def _same_model(response: str | None, requested: str | None) -> bool:
    """An alias asked for (`claude-sonnet-4-5`) answers as its dated name, and back."""
    if response is None or requested is None:
        return True
    return response.startswith(requested) or requested.startswith(response)


def span_attributes(request: ApiRequest) -> dict[str, Any]:
    """What an LLM span says about its request: the call's purpose and its parameters."""
    attributes: dict[str, Any] = {"claude_code.query_source": request.query_source}
    for name, value in request.params.items():
        attributes[f"anthropic.request.{name}"] = value
    attributes["claude_code.request_id"] = request.id
    if request.missing:
        attributes["claude_code.request_messages_missing"] = request.missing
    return attributes
