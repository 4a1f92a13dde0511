"""Fork subagents (`subagent_type: "fork"`, 2.1.3xx): a fork inherits its parent's conversation.

Its file starts with a `fork-context-ref` record (parent session, parent's last line, how many
parent messages it inherits) and then copies the parent's lines up to the fork's own first line:
the parent's response that called the Agent tool, with the parent's message and request ids.
Those lines are the parent's work, traced (and counted) in the parent's thread: the fork's run
starts at its own first user line (the tool result and the fork directive)."""

from __future__ import annotations

from collections.abc import Sequence

from claudetracing.transcript.records import Record

CONTEXT_REF = "fork-context-ref"


def is_fork(records: Sequence[Record]) -> bool:
    return any(r.type == CONTEXT_REF for r in records[:3])


def own_records(records: Sequence[Record]) -> list[Record]:
    """The fork's own lines: without the parent's lines copied before its first user line."""
    if not is_fork(records):
        return list(records)
    first_user = next((i for i, r in enumerate(records) if r.type == "user"), len(records))
    return [r for r in records[first_user:]]
