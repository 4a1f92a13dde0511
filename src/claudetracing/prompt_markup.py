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


def clean(text: str) -> tuple[str, dict[str, str]]:
    """The prompt as typed, and the context taken out of it (tag name → its text)."""
    context: dict[str, str] = {}

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
    cleaned = remaining.strip()
    return (cleaned or text.strip()), context
