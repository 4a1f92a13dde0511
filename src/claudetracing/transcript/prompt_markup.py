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
_FIELD = re.compile(r"<(task-id|status|summary)>(.*?)</\1>", re.S)


def clean(text: str) -> tuple[str, dict[str, str]]:
    """The prompt as typed, and the context taken out of it (tag name → its text)."""
    context: dict[str, str] = {}
    notification = _NOTIFICATION.search(text)
    if notification:
        # Claude Code's own message that a background task ended: it starts a turn.
        fields = {k: v.strip() for k, v in _FIELD.findall(notification.group(1))}
        context.update({f"task_{k.replace('task-', '')}": v for k, v in fields.items()})
        summary = fields.get("summary") or fields.get("status") or "finished"
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
