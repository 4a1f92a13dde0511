"""`files`: the files this turn wrote, repository-relative, from edit tools and shell commands."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path

from claudetracing.enrichments.api import Enrichment, TurnContext
from claudetracing.transcript.model import ToolCall

EDIT_TOOLS = {
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}
_SEPARATORS = {";", "&&", "||", "|", "&"}
_REDIRECTS = (">>", "&>", ">|", ">")


def _bash_targets(command: str) -> list[str]:
    """Files a shell command writes, as far as its text tells: redirections, tee, touch, cp,
    mv, rm, sed -i. Variables, subshells and scripts are beyond what text can tell."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|>")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return []
    targets: list[str] = []
    segments: list[list[str]] = [[]]
    for i, word in enumerate(words):
        if word in _REDIRECTS or (word.endswith(">") and word.strip("0123456789&") == ">"):
            if i + 1 < len(words):
                targets.append(words[i + 1])
            continue
        if word in _SEPARATORS or set(word) <= set(";&|"):
            segments.append([])
            continue
        if i and (words[i - 1] in _REDIRECTS or words[i - 1].endswith(">")):
            continue
        segments[-1].append(word)
    for segment in segments:
        if not segment:
            continue
        program, args = Path(segment[0]).name, [a for a in segment[1:] if not a.startswith("-")]
        if program in ("tee", "touch", "rm") or (program == "sed" and "-i" in segment):
            targets.extend(args[1:] if program == "sed" else args)
        elif program in ("cp", "install") and len(args) >= 2:
            targets.append(args[-1])
        elif program == "mv" and len(args) >= 2:
            targets.extend(args)
    return [t for t in targets if t and not t.startswith("/dev/")]


def _written(tool: ToolCall) -> list[str]:
    if tool.is_error or not isinstance(tool.input, dict):
        return []
    key = EDIT_TOOLS.get(tool.name)
    if key:
        value = tool.input.get(key)
        return [value] if isinstance(value, str) else []
    if tool.name == "Bash" and isinstance(tool.input.get("command"), str):
        return _bash_targets(tool.input["command"])
    return []


def _enrich(context: TurnContext) -> dict[str, object]:
    recorded = context.turn.cwd
    if isinstance(recorded, str) and os.path.isabs(recorded) and not Path(recorded).is_dir():
        # Imported where the session's folder does not exist (a colleague's transcripts, a
        # moved checkout): its paths mean what they meant there, relative to the folder the
        # transcript recorded, which nothing here can resolve.
        where = os.path.normpath(recorded)
        return _relative(context, where, lambda raw: os.path.normpath(os.path.join(where, raw)))
    base = str((context.repo_root or context.cwd).resolve())
    return _relative(context, base, lambda raw: str((context.cwd / raw).resolve()))


def _relative(context: TurnContext, base: str, absolute: Callable[[str], str]) -> dict[str, object]:
    found: set[str] = set()
    for tool in context.turn.run.walk_tool_calls():
        for raw in _written(tool):
            path = absolute(raw)
            if path == base or not path.startswith(base.rstrip("/") + "/"):
                continue  # outside the repository: not this repository's change
            found.add(Path(os.path.relpath(path, base)).as_posix())
    return {"modified": sorted(found), "count": len(found)}


enrichment = Enrichment(
    name="files",
    description="files.modified (JSON list, repo-relative, this turn only), files.count",
    enrich=_enrich,
)
