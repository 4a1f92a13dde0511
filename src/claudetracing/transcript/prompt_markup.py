"""What a person asked, without Claude Code's markup: slash commands as `/name args`, IDE context
kept apart as structured fields."""

from __future__ import annotations

import re

_TAG = r"<{0}>(.*?)</{0}>"
_COMMAND_NAME = re.compile(_TAG.format("command-name"), re.S)
_COMMAND_ARGS = re.compile(_TAG.format("command-args"), re.S)
_COMMAND_MARKUP = re.compile(
    r"<(command-name|command-message|command-args|command-contents)>.*?</\1>", re.S
)
# IDE context Claude Code adds to a prompt: kept as attributes, not as what the person typed.
CONTEXT_TAGS = ("ide_opened_file", "ide_selection", "ide_diagnostics", "system-reminder")
_CONTEXT = re.compile(r"<({})>(.*?)</\1>".format("|".join(CONTEXT_TAGS)), re.S)


_NOTIFICATION = re.compile(r"<task-notification>(.*?)</task-notification>", re.S)
# A notification's fields and the prompt-context names they are kept under.
_NOTIFICATION_FIELDS = {
    "task-id": "task_id",
    "tool-use-id": "task_tool_use_id",
    "status": "task_status",
    "summary": "task_summary",
}
_FIELD = re.compile(r"<({})>(.*?)</\1>".format("|".join(_NOTIFICATION_FIELDS)), re.S)


def notification(text: str) -> dict[str, str] | None:
    """The fields of a `<task-notification>` (Claude Code's message that a background task
    ended: task_id, task_tool_use_id, task_status, task_summary), None if the text has none."""
    found = _NOTIFICATION.search(text)
    if not found:
        return None
    return {_NOTIFICATION_FIELDS[k]: v.strip() for k, v in _FIELD.findall(found.group(1))}


def clean(text: str) -> tuple[str, dict[str, str]]:
    """The prompt as typed, and the context taken out of it (tag name → its text)."""
    context: dict[str, str] = {}
    fields = notification(text)
    if fields is not None:
        # Claude Code's own message that a background task ended: it starts a turn.
        context.update(fields)
        summary = fields.get("task_summary") or fields.get("task_status") or "finished"
        return f"[background task] {summary}", context

    def keep(match: re.Match[str]) -> str:
        name, body = match.group(1), match.group(2).strip()
        context[name] = f"{context[name]}\n{body}" if name in context else body
        return ""

    remaining = _CONTEXT.sub(keep, text)
    name = _COMMAND_NAME.search(remaining)
    if name:
        command = name.group(1).strip()
        if not command.startswith("/"):
            command = "/" + command
        args = _COMMAND_ARGS.search(remaining)
        arguments = args.group(1).strip() if args else ""
        context["command"] = command
        rest = _COMMAND_MARKUP.sub("", remaining).strip()
        typed = f"{command} {arguments}".strip()
        remaining = f"{typed}\n{rest}" if rest else typed
    if not context:
        return text, context  # nothing of Claude Code's: exactly what the person typed
    cleaned = remaining.strip()
    return (cleaned or text.strip()), context
