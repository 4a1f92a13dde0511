"""Every transcript record `type` Claude Code is known to write, and what the reader does with it.

The reader itself (records.py, turns.py) decides by `type` and ignores anything else, so an
unknown type never breaks it; this table is the list we have checked, for the docs
(docs/transcripts.md renders it, a unit test keeps the two equal) and for
`scripts/claude-code-canary`, which reports any type (or `attachment` subtype) a new Claude Code
writes that is not here. Seen in: the public corpus (tests/corpus) and scripted runs of the
pinned versions (tests/harness); "1.0.x", "2.0.x", "2.1.x" are release lines of the corpus,
"2.1.197" and "2.1.328" the pinned versions' scripted runs (docs/adr/0011).
"""

from __future__ import annotations

from dataclasses import dataclass

READ = "read"
SKIPPED = "skipped"


@dataclass(frozen=True)
class RecordType:
    """One record `type`: read or skipped, why, and the versions it was seen in."""

    name: str
    treatment: str  # READ or SKIPPED
    reason: str
    seen_in: tuple[str, ...]


VERSIONS = ("1.0.x", "2.0.x", "2.1.x", "2.1.197", "2.1.328")
_ALL = VERSIONS

RECORD_TYPES: dict[str, RecordType] = {
    r.name: r
    for r in (
        RecordType(
            "user",
            READ,
            "a prompt starts a turn (a `<task-notification>` too); tool results end tool calls",
            _ALL,
        ),
        RecordType(
            "assistant",
            READ,
            "one LLM call per `message.id` (one line per content block); `<synthetic>` notices",
            _ALL,
        ),
        RecordType(
            "progress",
            READ,
            "`agent_progress` carries a ≤ 1.0.x subagent's records; other kinds are skipped",
            ("1.0.x", "2.1.x", "2.1.197"),
        ),
        RecordType(
            "system",
            SKIPPED,
            "Claude Code's own notices (`stop_hook_summary`, `compact_boundary`, …): no API call",
            ("1.0.x", "2.0.x", "2.1.x", "2.1.328"),
        ),
        RecordType(
            "summary",
            SKIPPED,
            "a session title line written by older versions: no API call",
            ("1.0.x", "2.0.x"),
        ),
        RecordType(
            "file-history-snapshot",
            SKIPPED,
            "file backups for checkpoints: no call, and file contents we do not trace",
            ("2.0.x", "2.1.x"),
        ),
        RecordType(
            "queue-operation",
            SKIPPED,
            "a prompt queued or dequeued while busy: the prompt itself arrives as a `user` record",
            ("2.1.x", "2.1.197", "2.1.328"),
        ),
        RecordType(
            "attachment",
            SKIPPED,
            "context Claude Code attaches (environment, model, skill listings, prompt snapshots)",
            ("2.1.x", "2.1.197", "2.1.328"),
        ),
        RecordType(
            "last-prompt",
            SKIPPED,
            "a pointer (`leafUuid`) to the last prompt: the prompt is its own `user` record",
            ("2.1.x", "2.1.197", "2.1.328"),
        ),
        RecordType(
            "mode",
            SKIPPED,
            "the session's mode changed: no call",
            ("2.1.197", "2.1.328"),
        ),
        RecordType(
            "permission-mode",
            SKIPPED,
            "the permission mode changed: no call (handled since 2.x; not in our corpus)",
            (),
        ),
        RecordType(
            "custom-title",
            SKIPPED,
            "a title the user gave the session: no call",
            ("2.1.x",),
        ),
        RecordType(
            "tag",
            SKIPPED,
            "a tag the user gave the session: no call (handled since 2.x; not in our corpus)",
            (),
        ),
        RecordType(
            "atis-latch",
            SKIPPED,
            "Claude Code's internal state marker: no call",
            ("2.1.x", "2.1.328"),
        ),
        RecordType(
            "cost-state",
            READ,
            "Claude Code's cumulative cost and `modelUsage`: compared with ours per interval",
            ("2.1.328",),
        ),
        RecordType(
            "api-request",
            READ,
            "one per API call: its purpose, parameters and messages, on its LLM span",
            ("2.1.328",),
        ),
        RecordType(
            "api-request-blob",
            READ,
            "a request message by content hash: rebuilds the messages an `api-request` added",
            ("2.1.328",),
        ),
        RecordType(
            "api-request-shape",
            SKIPPED,
            "the system prompt and tool shapes by `shapeHash` (not yet used)",
            ("2.1.328",),
        ),
        RecordType(
            "tools-used",
            SKIPPED,
            "the tools a turn used: the tool calls themselves are `assistant`/`user` records",
            ("2.1.328",),
        ),
        RecordType(
            "fork-context-ref",
            READ,
            "first line of a fork's file: the parent's lines copied after it are not traced again",
            ("2.1.328",),
        ),
    )
}

# `attachment` records' `attachment.type`: all skipped, listed so the canary notices new ones.
ATTACHMENT_TYPES: dict[str, str] = {
    "environment": "working directory, platform, git state",
    "model": "the model in use",
    "date": "today's date",
    "skill_listing": "the skills offered",
    "agent_listing_delta": "subagent types added or removed",
    "deferred_tools_delta": "tools offered on demand",
    "session_context": "session facts shown to the model",
    "remote_session_change": "remote-session state",
    "prompt_snapshot": "the prompt as sent",
    "instructions": "CLAUDE.md and other instructions",
    "total_tokens_reminder": "context size reminder",
}


def unknown_types(seen: set[str]) -> list[str]:
    """Record types in ``seen`` that the table does not list, sorted."""
    return sorted(t for t in seen if t not in RECORD_TYPES)


def unknown_attachment_types(seen: set[str]) -> list[str]:
    """`attachment` subtypes in ``seen`` that the table does not list, sorted."""
    return sorted(t for t in seen if t not in ATTACHMENT_TYPES)


def render_markdown() -> str:
    """The table docs/transcripts.md shows (between its `record-types` markers)."""
    versions = VERSIONS
    head = "| `type` | we | why | " + " | ".join(versions) + " |"
    rows = [head, "|" + "---|" * (3 + len(versions))]
    for r in RECORD_TYPES.values():
        marks = " | ".join("✓" if v in r.seen_in else "" for v in versions)
        rows.append(f"| `{r.name}` | {r.treatment} | {r.reason} | {marks} |")
    subtypes = ", ".join(f"`{name}`" for name in ATTACHMENT_TYPES)
    rows += ["", f"Known `attachment` subtypes (all skipped): {subtypes}."]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
