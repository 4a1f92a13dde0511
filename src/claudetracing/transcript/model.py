"""The turn model: what one turn of a Claude Code session holds, in plain Python.

A turn is a prompt and the agent run that answered it: API responses, tool calls and
subagent runs nested under the tool call that launched them. Everything above `transcript/`
(the trace builder, enrichments, plugins) reads this model, never the transcript's lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claudetracing.transcript.records import ReadResult

SUBAGENT_TOOLS = frozenset({"Agent", "Task"})
SYNTHETIC_MODEL = "<synthetic>"  # Claude Code's own text: no API call, no usage, no price
# How a turn ended, judged from the transcript's shape.
ANSWERED = "answered"  # the last response has no pending tool call
INTERRUPTED = "interrupted"  # the person pressed Esc: an interrupt marker follows
API_ERROR = "api_error"  # Claude Code gave up on the API and wrote an error notice
UNANSWERED = "unanswered"  # ended on a tool call or before any response
COMPACTION = "compaction"  # the agent type of a context compaction's run


@dataclass
class ApiRequest:
    """Claude Code's record of one API call (2.1.3xx `api-request`, read by
    transcript/requests.py), with the messages the call added rebuilt from their hashes."""

    id: str
    query_source: str | None
    params: dict[str, Any]
    at_ns: int | None
    base: str | None
    keep: int
    tail: list[str]
    added: list[dict[str, Any]] = field(default_factory=list)
    missing: int = 0  # added messages whose content was not found (shown as a placeholder)

    @property
    def model(self) -> str | None:
        value = self.params.get("model")
        return value if isinstance(value, str) else None


@dataclass
class LlmCall:
    """One API response, however many transcript lines it was written as."""

    key: str
    model: str | None
    start_ns: int
    end_ns: int
    blocks: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    request_id: str | None = None
    message_id: str | None = None
    copied: bool = False  # the same response was traced before, from another file or turn
    output_from_result: bool = False  # output count from the Agent result, not the transcript
    request: ApiRequest | None = None  # Claude Code's record of the request (2.1.3xx)

    @property
    def response_key(self) -> str | None:
        """Identity of the API response across files (what resumed sessions copy), if known: its
        ids, and the time of its last line, which copies keep too (ids alone can repeat where
        they are not the API's, as with a local test server)."""
        if not self.message_id:
            return None
        return f"{self.message_id}|{self.request_id or ''}|{self.end_ns}"

    @property
    def asks_for_tools(self) -> bool:
        return any(b.get("type") == "tool_use" for b in self.blocks)

    @property
    def text(self) -> str:
        texts = (b.get("text") for b in self.blocks if b.get("type") == "text")
        return "".join(t for t in texts if isinstance(t, str))


@dataclass
class ToolCall:
    id: str
    name: str
    input: Any
    start_ns: int
    end_ns: int | None = None
    output: Any = None
    is_error: bool = False
    result_meta: dict[str, Any] = field(default_factory=dict)  # `toolUseResult`
    subagent: AgentRun | None = None
    # A subagent launched in the background (the call returns at once, the work goes on): where
    # it stands when read. None: not a background launch.
    background: BackgroundState | None = None

    @property
    def finished(self) -> bool:
        return self.end_ns is not None

    @property
    def still_running(self) -> bool:
        """A background subagent that had not finished when the transcript was read."""
        return self.background is not None and not self.background.finished


@dataclass
class BackgroundState:
    """What is known of a background subagent: whether it ended, and how we learnt it."""

    agent_id: str | None
    finished: bool = False
    status: str | None = None  # Claude Code's word in its notification: completed, failed, ...
    # Set when the turn is exported while the subagent still runs: why we stopped waiting.
    released: str | None = None


@dataclass
class Notice:
    """A message Claude Code wrote itself (model `<synthetic>`): an API error notice, "No response
    requested.", an interruption placeholder. Not an API call."""

    text: str
    at_ns: int
    api_error: bool = False


Step = LlmCall | ToolCall | Notice


@dataclass
class AgentRun:
    """The work of one agent thread: the main agent in a turn, or one subagent."""

    prompt: str
    start_ns: int
    end_ns: int
    steps: list[Step] = field(default_factory=list)
    agent_id: str | None = None
    agent_type: str | None = None
    description: str | None = None
    interrupted: bool = False  # an interrupt marker was written in this thread
    # API calls Claude Code made in the turn that no tool call launched: context compactions,
    # warm-up calls, subagent files nothing links to. Counted like any other call.
    side_runs: list[AgentRun] = field(default_factory=list)

    @property
    def llm_calls(self) -> list[LlmCall]:
        return [s for s in self.steps if isinstance(s, LlmCall)]

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [s for s in self.steps if isinstance(s, ToolCall)]

    @property
    def notices(self) -> list[Notice]:
        return [s for s in self.steps if isinstance(s, Notice)]

    @property
    def outcome(self) -> str:
        """How the thread ended, from its shape (never from `stop_reason`)."""
        if self.interrupted:
            return INTERRUPTED
        last_call = next((s for s in reversed(self.steps) if isinstance(s, LlmCall)), None)
        last_index = self.steps.index(last_call) if last_call is not None else -1
        if any(n.api_error for n in self.steps[last_index + 1 :] if isinstance(n, Notice)):
            return API_ERROR
        if last_call is None:
            # A `/compact` turn makes no call of its own: its compaction is its work.
            compacted = any(r.agent_type == COMPACTION for r in self.side_runs)
            return ANSWERED if compacted else UNANSWERED
        return UNANSWERED if last_call.asks_for_tools else ANSWERED

    @property
    def final_text(self) -> str:
        for call in reversed(self.llm_calls):
            if call.text:
                return call.text
        return ""

    def walk_llm_calls(self) -> list[LlmCall]:
        """This run's API responses and, recursively, those of its subagents and side runs."""
        calls = list(self.llm_calls)
        for tool in self.tool_calls:
            if tool.subagent is not None:
                calls.extend(tool.subagent.walk_llm_calls())
        for side in self.side_runs:
            calls.extend(side.walk_llm_calls())
        return calls

    def walk_tool_calls(self) -> list[ToolCall]:
        tools: list[ToolCall] = []
        for tool in self.tool_calls:
            tools.append(tool)
            if tool.subagent is not None:
                tools.extend(tool.subagent.walk_tool_calls())
        return tools


@dataclass
class Turn:
    session_id: str
    prompt_uuid: str
    run: AgentRun
    ended: bool  # nothing more will be written to it: a later prompt or an end marker follows
    start_offset: int  # byte offset of the prompt line
    end_offset: int  # first byte after the turn's last line
    cwd: str | None = None
    git_branch: str | None = None
    claude_version: str | None = None
    permission_mode: str | None = None
    prompt_context: dict[str, str] = field(default_factory=dict)  # IDE context, slash command

    @property
    def outcome(self) -> str:
        return self.run.outcome

    @property
    def answered(self) -> bool:
        return self.run.outcome == ANSWERED

    @property
    def key(self) -> str:
        """Identity of the turn, stable across exports: the exactly-once key."""
        return f"{self.session_id}:{self.prompt_uuid}"

    @property
    def background_running(self) -> list[ToolCall]:
        """Calls that launched a background subagent still at work: the turn's trace waits for
        them (bounded), so that each subagent's run lands once, whole, under its call."""
        return [t for t in self.run.walk_tool_calls() if t.still_running]


@dataclass
class SessionRead:
    turns: list[Turn]
    read: ReadResult
    subagent_lines_skipped: int = 0
    subagent_lines_repaired: int = 0
    duplicate_lines: int = 0  # records written twice, in any file of the session: read once

    @property
    def skipped_lines(self) -> int:
        """Lines of the session's files that could not be used, skipped."""
        return len(self.read.skipped) + self.subagent_lines_skipped

    @property
    def repaired_lines(self) -> int:
        """Lines used after a repair (invalid UTF-8, nesting cut, an absurd timestamp)."""
        return self.read.repaired + self.subagent_lines_repaired


def text_of(blocks: Any) -> str:
    """Plain text of a message or tool-result content (a string or a list of blocks)."""
    if isinstance(blocks, str):
        return blocks
    if isinstance(blocks, list):
        parts = []
        for block in blocks:
            if isinstance(block, dict):
                if block.get("type") == "text":
                    parts.append(str(block.get("text", "")))
                elif block.get("type") == "image":
                    parts.append("[image]")
            elif isinstance(block, str):
                parts.append(block)
        return "\n".join(parts)
    return ""


@dataclass
class TokenTotals:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output

    def add_usage(self, usage: dict[str, Any]) -> None:
        self.input += _int(usage.get("input_tokens"))
        self.output += _int(usage.get("output_tokens"))
        self.cache_read += _int(usage.get("cache_read_input_tokens"))
        self.cache_creation += _int(usage.get("cache_creation_input_tokens"))
        split = usage.get("cache_creation")
        if isinstance(split, dict):
            self.cache_creation_5m += _int(split.get("ephemeral_5m_input_tokens"))
            self.cache_creation_1h += _int(split.get("ephemeral_1h_input_tokens"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def run_tokens(run: AgentRun) -> TokenTotals:
    """Tokens of the run's API responses, each once: copies of responses traced before add none."""
    totals = TokenTotals()
    for call in run.walk_llm_calls():
        if not call.copied:
            totals.add_usage(call.usage)
    return totals
