"""Fold transcript records into turns: API responses, tool calls, nested subagent runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from claudetracing.core.regular_files import read_regular
from claudetracing.transcript import forks, prompt_markup, requests
from claudetracing.transcript.model import (
    API_ERROR,
    COMPACTION,
    INTERRUPTED,
    SUBAGENT_TOOLS,
    SYNTHETIC_MODEL,
    AgentRun,
    BackgroundState,
    LlmCall,
    Notice,
    SessionRead,
    ToolCall,
    Turn,
    text_of,
)
from claudetracing.transcript.records import ReadResult, Record, bound_timestamps, read_transcript

# Only used to learn early that a turn is over; whether it was answered comes from its shape,
# because Claude Code 2.x leaves `stop_reason` null on most lines it writes.
FINAL_STOP_REASONS = frozenset({"end_turn", "stop_sequence", "max_tokens", "refusal"})
INTERRUPT_PREFIX = "[Request interrupted by user"
_NOT_PROMPT_PREFIXES = (
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    INTERRUPT_PREFIX,
)
_AGENT_ID_IN_TEXT = re.compile(r"agentId:\s*([A-Za-z0-9_-]+)")
MAX_SUBAGENT_DEPTH = 16


def is_prompt(record: Record) -> bool:
    """A line a person typed (or a slash command), not a tool result, skill body or echo."""
    data = record.data
    if record.type != "user" or data.get("isSidechain") or data.get("isMeta"):
        return False
    if data.get("isCompactSummary") or "toolUseResult" in data:
        return False
    blocks = record.content
    if not blocks or any(b.get("type") == "tool_result" for b in blocks):
        return False
    text = text_of(blocks).lstrip()
    return not text.startswith(_NOT_PROMPT_PREFIXES)


def _text(value: Any) -> str | None:
    """A field that must be a string: anything else (a damaged line) counts as missing."""
    return value if isinstance(value, str) and value else None


def _usage_size(usage: dict[str, Any]) -> tuple[int, int]:
    output = usage.get("output_tokens")
    total = sum(v for v in usage.values() if isinstance(v, int))
    return (output if isinstance(output, int) else -1, total)


class _ThreadBuilder:
    """Folds one agent thread's records, in order, into steps."""

    def __init__(self, run: AgentRun, context: _SessionContext, depth: int) -> None:
        self.run = run
        self.context = context
        self.depth = depth
        self.calls: dict[str, LlmCall] = {}
        self.tools: dict[str, ToolCall] = {}
        self.last_ns = run.start_ns
        self.progress: dict[str, list[Record]] = {}
        self.contents: set[tuple[str, str]] = set()  # (response key, content) already taken

    def add(self, record: Record) -> None:
        ts = record.timestamp_ns or self.last_ns
        if record.type == "assistant":
            self._add_assistant(record, ts)
        elif record.type == "user":
            self._add_user(record, ts)
        elif record.type == "progress":
            self._add_progress(record)
            return
        else:
            return
        self.last_ns = max(self.last_ns, ts)
        self.run.end_ns = max(self.run.end_ns, ts)

    def _add_assistant(self, record: Record, ts: int) -> None:
        message = record.message
        if message.get("model") == SYNTHETIC_MODEL:
            text = text_of(message.get("content"))
            api_error = bool(record.data.get("isApiErrorMessage") or record.data.get("error"))
            self.run.steps.append(
                Notice(text=text, at_ns=ts, api_error=api_error or text.startswith("API Error"))
            )
            return
        request_id = _text(record.data.get("requestId"))
        key = _text(message.get("id")) or request_id or record.uuid or f"line{record.offset}"
        call = self.calls.get(key)
        if call is None:
            call = LlmCall(
                key=key,
                model=_text(message.get("model")),
                start_ns=self.last_ns,
                end_ns=ts,
                request_id=request_id if isinstance(request_id, str) else None,
                message_id=message["id"] if isinstance(message.get("id"), str) else None,
            )
            self.calls[key] = call
            self.run.steps.append(call)
        call.end_ns = max(call.end_ns, ts)
        usage = message.get("usage")
        if isinstance(usage, dict) and _usage_size(usage) >= _usage_size(call.usage):
            call.usage = usage
        if _text(message.get("stop_reason")):
            call.stop_reason = message["stop_reason"]
        # A response is written as one line per content block; a line written again (same
        # response, same content, another uuid) adds nothing but its usage.
        content = (key, json.dumps(record.content, sort_keys=True, default=str))
        if content in self.contents:
            self.context.duplicate_lines += 1
            return
        self.contents.add(content)
        for block in record.content:
            tool_id = block.get("id") if block.get("type") == "tool_use" else None
            if isinstance(tool_id, str) and tool_id in self.tools:
                continue  # the same tool call written again: one span
            call.blocks.append(block)
            if isinstance(tool_id, str):
                tool = ToolCall(
                    id=tool_id,
                    name=str(block.get("name", "?")),
                    input=block.get("input"),
                    start_ns=ts,
                )
                self.tools[tool.id] = tool
                self.run.steps.append(tool)

    def _add_user(self, record: Record, ts: int) -> None:
        meta = record.data.get("toolUseResult")
        blocks = record.content
        if any(
            b.get("type") == "text" and str(b.get("text", "")).lstrip().startswith(INTERRUPT_PREFIX)
            for b in blocks
        ):
            self.run.interrupted = True
        results = [b for b in blocks if b.get("type") == "tool_result"]
        for block in results:
            tool = self.tools.get(str(block.get("tool_use_id")))
            if tool is None:
                continue
            tool.end_ns = max(ts, tool.start_ns)
            tool.output = block.get("content")
            tool.is_error = bool(block.get("is_error"))
            inner = block.get("toolUseResult")
            if isinstance(inner, dict):
                tool.result_meta = inner
            elif isinstance(meta, dict) and len(results) == 1:
                tool.result_meta = meta

    def _add_progress(self, record: Record) -> None:
        data = record.data.get("data")
        parent = record.data.get("parentToolUseID") or record.data.get("toolUseID")
        if not isinstance(data, dict) or not isinstance(parent, str):
            return
        inner = data.get("message")
        if data.get("type") != "agent_progress" or not isinstance(inner, dict):
            return
        merged = dict(inner)
        merged.setdefault("timestamp", record.data.get("timestamp"))
        if data.get("agentId"):
            merged.setdefault("agentId", data["agentId"])
        self.progress.setdefault(parent, []).append(Record(merged, record.line_no, record.offset))

    def finish(self) -> AgentRun:
        if self.depth < MAX_SUBAGENT_DEPTH:
            for tool in self.run.tool_calls:
                if tool.name in SUBAGENT_TOOLS:
                    # Whether it ended is learnt before its file is read: a file read first
                    # could miss lines written just before `finished` was set.
                    if _launched_in_background(tool):
                        tool.background = self.context.background_state(tool)
                    tool.subagent = self.context.subagent_for(tool, self.progress, self.depth + 1)
                    if tool.subagent is not None:
                        _take_final_usage(tool.subagent, tool.result_meta.get("usage"))
        return self.run


def _launched_in_background(tool: ToolCall) -> bool:
    """The call returned at once and its subagent works on: 2.1.3xx does this by default
    (`isAsync`, `async_launched`); older versions when asked (`run_in_background`)."""
    meta = tool.result_meta
    if meta.get("isAsync") is True or meta.get("status") == "async_launched":
        return True
    asked = isinstance(tool.input, dict) and tool.input.get("run_in_background") is True
    return asked and "status" not in meta


def _take_final_usage(run: AgentRun, reported: Any) -> None:
    """Claude Code writes a subagent's lines before their `message_delta`, so they can keep the
    placeholder output count; the Agent result reports the final usage of the subagent's last
    response. Taken when it is that response's (same input and cache figures) and larger."""
    calls = run.llm_calls
    if not calls or not isinstance(reported, dict):
        return
    last = calls[-1]
    same = all(
        last.usage.get(key) == reported.get(key)
        for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    output = reported.get("output_tokens")
    recorded = last.usage.get("output_tokens")
    if same and isinstance(output, int) and (not isinstance(recorded, int) or output > recorded):
        last.usage = {**last.usage, "output_tokens": output}
        last.output_from_result = True


class _SessionContext:
    """Finds subagent transcripts for one session, in every layout Claude Code has used."""

    def __init__(self, transcript: Path, session_id: str, sidechains: list[Record]) -> None:
        self.transcript = transcript
        self.session_id = session_id
        self.sidechains = sidechains
        self.read_files: set[Path] = set()
        self.skipped_lines = 0  # unusable lines of subagent files
        self.repaired_lines = 0  # repaired lines of subagent files and nested records
        self.duplicate_lines = 0  # lines written twice, read once (all files of the session)
        self._meta: dict[str, str] | None = None
        # `<task-notification>`s seen in the main thread, by task id and by tool use id
        self.notifications: dict[str, dict[str, str]] = {}

    def count(self, result: ReadResult) -> None:
        self.skipped_lines += len(result.skipped)
        self.repaired_lines += result.repaired
        self.duplicate_lines += result.duplicates

    def note_notification(self, record: Record) -> None:
        if record.type != "user":
            return
        fields = prompt_markup.notification(text_of(record.message.get("content")))
        for key in ("task_id", "task_tool_use_id"):
            if fields and fields.get(key):
                self.notifications[fields[key]] = fields

    def background_state(self, tool: ToolCall) -> BackgroundState:
        """Whether a background subagent has ended: Claude Code's notification that it did
        (all versions that run subagents in the background write one), or `finished` in its
        meta file (2.1.3xx). Without either it is taken as still running."""
        agent_id = self._agent_id(tool)
        fields = self.notifications.get(tool.id) or (
            self.notifications.get(agent_id) if agent_id else None
        )
        if fields is not None:
            return BackgroundState(agent_id, finished=True, status=fields.get("task_status"))
        meta = self._meta_for(agent_id) if agent_id else {}
        return BackgroundState(agent_id, finished=meta.get("finished") is True)

    def _subagent_dir(self) -> Path:
        return self.transcript.parent / self.session_id / "subagents"

    def _agent_id_by_tool(self) -> dict[str, str]:
        if self._meta is None:
            self._meta = {}
            folder = self._subagent_dir()
            if folder.is_dir():
                for meta_file in folder.glob("agent-*.meta.json"):
                    try:
                        meta = json.loads(read_regular(meta_file))
                    except (OSError, ValueError):
                        continue
                    if isinstance(meta, dict) and isinstance(meta.get("toolUseId"), str):
                        agent_id = meta_file.name[len("agent-") : -len(".meta.json")]
                        self._meta[meta["toolUseId"]] = agent_id
        return self._meta

    def _agent_id(self, tool: ToolCall) -> str | None:
        agent_id = tool.result_meta.get("agentId")
        if isinstance(agent_id, str) and agent_id:
            return agent_id
        found = self._agent_id_by_tool().get(tool.id)
        if found:
            return found
        match = _AGENT_ID_IN_TEXT.search(text_of(tool.output))
        return match.group(1) if match else None

    def _agent_file(self, agent_id: str) -> Path | None:
        for candidate in (
            self._subagent_dir() / f"agent-{agent_id}.jsonl",
            self.transcript.parent / f"agent-{agent_id}.jsonl",
        ):
            if candidate.is_file():
                return candidate
        return None

    def subagent_for(
        self, tool: ToolCall, progress: dict[str, list[Record]], depth: int
    ) -> AgentRun | None:
        prompt = tool.input.get("prompt", "") if isinstance(tool.input, dict) else ""
        records: list[Record] = []
        agent_id = self._agent_id(tool)
        path = self._agent_file(agent_id) if agent_id else None
        if path is not None and path not in self.read_files:
            self.read_files.add(path)
            result = read_transcript(path, final=True)
            self.count(result)
            records = result.records
        elif tool.id in progress:
            records = progress[tool.id]  # nested in `progress` lines: their times checked here
            self.repaired_lines += len(bound_timestamps(records))
        elif prompt:
            records = self._sidechain_run(str(prompt))
        if not records:
            return None
        meta = self._meta_for(agent_id) if agent_id else {}
        return build_run(
            records,
            self,
            depth,
            agent_id=agent_id,
            agent_type=meta.get("agentType")
            or (tool.input.get("subagent_type") if isinstance(tool.input, dict) else None),
            description=meta.get("description")
            or (tool.input.get("description") if isinstance(tool.input, dict) else None),
            fallback_start=tool.start_ns,
        )

    def side_runs(self, not_before_ns: int = 0) -> list[AgentRun]:
        """Agent files of this session that no tool call led to, read once each: compactions
        (`agent-acompact-*`), warm-up calls of 2.0.x, anything else Claude Code ran by itself.
        Files last written before `not_before_ns` belong to turns read before: not read again,
        so an export's work stays proportional to its turns, not to the session."""
        folder = self._subagent_dir()
        nested = sorted(folder.glob("agent-*.jsonl")) if folder.is_dir() else []
        flat = sorted(self.transcript.parent.glob("agent-*.jsonl"))
        runs = []
        for path in [*nested, *flat]:
            if path in self.read_files or _modified_ns(path) < not_before_ns:
                continue
            if not path.is_file():
                continue  # a FIFO or folder named like one is no agent's file: never opened
            result = read_transcript(path, final=True)
            if path in flat and not any(
                r.data.get("sessionId") == self.session_id for r in result.records[:5]
            ):
                continue  # a flat agent file of another session in the same folder
            self.read_files.add(path)
            self.count(result)
            agent_id = path.name[len("agent-") : -len(".jsonl")]
            run = build_run(
                result.records, self, 1, agent_id=agent_id, agent_type=self._side_kind(agent_id)
            )
            if run.agent_type == COMPACTION:
                run.description = "context compaction (summarises the conversation so far)"
            if run.llm_calls:
                runs.append(run)
        return runs

    def _side_kind(self, agent_id: str) -> str:
        if agent_id.startswith("acompact"):
            return COMPACTION
        kind = self._meta_for(agent_id).get("agentType")
        return kind if isinstance(kind, str) and kind else "unlinked"

    def _meta_for(self, agent_id: str) -> dict[str, Any]:
        path = self._subagent_dir() / f"agent-{agent_id}.meta.json"
        try:
            meta = json.loads(read_regular(path))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def _sidechain_run(self, prompt: str) -> list[Record]:
        """Oldest layout: subagent lines inside the parent file, matched by their prompt."""
        for index, record in enumerate(self.sidechains):
            starts_run = record.type == "user" and record.data.get("parentUuid") is None
            if starts_run and text_of(record.message.get("content")).strip() == prompt.strip():
                run = [record]
                for nxt in self.sidechains[index + 1 :]:
                    if nxt.type == "user" and nxt.data.get("parentUuid") is None:
                        break
                    run.append(nxt)
                return run
        return []


def build_run(
    records: list[Record],
    context: _SessionContext,
    depth: int,
    *,
    agent_id: str | None = None,
    agent_type: str | None = None,
    description: str | None = None,
    fallback_start: int = 0,
) -> AgentRun:
    """A subagent's run: its first user line is its prompt, the rest is its work."""
    records = forks.own_records(records)
    first = next((r for r in records if r.type == "user"), None)
    start = (first.timestamp_ns if first else None) or fallback_start
    prompt = text_of(first.message.get("content")) if first else ""
    run = AgentRun(
        prompt=prompt,
        start_ns=start,
        end_ns=start,
        agent_id=agent_id,
        agent_type=agent_type,
        description=description,
    )
    builder = _ThreadBuilder(run, context, depth)
    for record in records:
        if record is first:
            continue
        builder.add(record)
    requests.attach(builder.finish(), records)
    return run


def _ended(run: AgentRun, has_next: bool) -> bool:
    """Nothing more will be written to this turn: a later prompt, an interruption or an API
    failure closed it, or its last response carries a final stop reason (older versions, and
    lines written after `message_delta`)."""
    if has_next or run.outcome in (INTERRUPTED, API_ERROR):
        return True
    calls = run.llm_calls
    finished = all(tool.finished for tool in run.tool_calls)
    return bool(calls) and finished and calls[-1].stop_reason in FINAL_STOP_REASONS


def _modified_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


SIDE_RUN_SLACK_NS = 60 * 1_000_000_000  # clocks of file systems and transcripts differ a little


def _attach_side_runs(turns: list[Turn], side_runs: list[AgentRun]) -> None:
    """Each side run goes to the first turn still running when it started (a manual `/compact`
    is written after its call, so its own turn ends later; a warm-up precedes the first prompt),
    else to the last turn read."""
    for side in side_runs:
        owner = next((t for t in turns if t.run.end_ns >= side.start_ns), None)
        if owner is None and turns:
            owner = turns[-1]
        if owner is not None:
            owner.run.side_runs.append(side)
            owner.run.end_ns = max(owner.run.end_ns, side.end_ns)


def _is_notification(record: Record) -> bool:
    return prompt_markup.notification(text_of(record.message.get("content"))) is not None


def _answered_together(main: list[Record], prompts: list[int]) -> list[list[int]]:
    """Prompts grouped by the API turn that answers them. Background tasks that end while
    Claude Code is busy queue their `<task-notification>`s; it dequeues them together, one
    after the other, and answers them with one response: one turn, not one per notification."""
    groups: list[list[int]] = []
    for index in prompts:
        if groups and _is_notification(main[index]) and _is_notification(main[groups[-1][-1]]):
            between = main[groups[-1][-1] + 1 : index]
            if not any(r.type == "assistant" for r in between):
                groups[-1].append(index)
                continue
        groups.append([index])
    return groups


def _prompt_of(records: list[Record]) -> tuple[str, dict[str, str]]:
    """The text and context of a turn's prompt; several notifications answered together are
    joined, their task fields listed comma-separated."""
    texts: list[str] = []
    context: dict[str, str] = {}
    for record in records:
        text, found = prompt_markup.clean(text_of(record.message.get("content")))
        texts.append(text)
        for key, value in found.items():
            context[key] = f"{context[key]},{value}" if key in context else value
    return "\n".join(texts), context


def answered_turns_before(path: Path, end_offset: int) -> int:
    """How many turns with a response (or an API error) begin before `end_offset`: those an
    earlier export dealt with, counted without building them (`traces import` run again)."""
    read = read_transcript(path, final=True, end_offset=end_offset)
    main = [r for r in read.records if not r.data.get("isSidechain")]
    starts = [
        group[0]
        for group in _answered_together(main, [i for i, r in enumerate(main) if is_prompt(r)])
    ]
    bounds = [*starts[1:], len(main)]
    return sum(
        any(r.type == "assistant" for r in main[start + 1 : stop])
        for start, stop in zip(starts, bounds, strict=True)
    )


def read_session(path: Path, *, start_offset: int = 0, final: bool = False) -> SessionRead:
    """Every turn in the transcript from `start_offset` on (which must be a prompt's line)."""
    read = read_transcript(path, start_offset=start_offset, final=final)
    main: list[Record] = []
    sidechains: list[Record] = []
    for record in read.records:
        (sidechains if record.data.get("isSidechain") else main).append(record)
    session_id = next(
        (r.data["sessionId"] for r in read.records if isinstance(r.data.get("sessionId"), str)),
        path.stem,
    )
    context = _SessionContext(path, session_id, sidechains)
    for record in main:
        context.note_notification(record)
    prompts = [i for i, r in enumerate(main) if is_prompt(r)]
    store = requests.session_store(path, read.records, whole=start_offset == 0)
    turns: list[Turn] = []
    groups = _answered_together(main, prompts)
    prompts = [group[0] for group in groups]
    for n, index in enumerate(prompts):
        stop = prompts[n + 1] if n + 1 < len(prompts) else len(main)
        prompt = main[index]
        start = prompt.timestamp_ns or 0
        text, prompt_context = _prompt_of([main[i] for i in groups[n]])
        run = AgentRun(prompt=text, start_ns=start, end_ns=start)
        builder = _ThreadBuilder(run, context, depth=0)
        for record in main[index + 1 : stop]:
            builder.add(record)
        builder.finish()
        requests.attach(run, main[index + 1 : stop], store)
        end_offset = main[stop].offset if stop < len(main) else read.end_offset
        turns.append(
            Turn(
                session_id=session_id,
                prompt_uuid=prompt.uuid or f"offset{prompt.offset}",
                run=run,
                ended=_ended(run, has_next=n + 1 < len(prompts)),
                start_offset=prompt.offset,
                end_offset=end_offset,
                cwd=prompt.data.get("cwd"),
                git_branch=prompt.data.get("gitBranch"),
                claude_version=prompt.data.get("version"),
                permission_mode=prompt.data.get("permissionMode"),
                prompt_context=prompt_context,
            )
        )
    # A read that starts mid-session skips agent files older than its first turn.
    not_before = turns[0].run.start_ns - SIDE_RUN_SLACK_NS if start_offset and turns else 0
    _attach_side_runs(turns, context.side_runs(not_before))
    return SessionRead(
        turns=turns,
        read=read,
        subagent_lines_skipped=context.skipped_lines,
        subagent_lines_repaired=context.repaired_lines,
        duplicate_lines=read.duplicates + context.duplicate_lines,
    )
