"""Files we share with other tools: strict reads, atomic writes, formatting kept."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claudetracing.core import json_layout, paths
from claudetracing.core.errors import ConfigFileError


@dataclass
class JsonDocument:
    """A JSON object file as found on disk, with what is needed to write it back alike."""

    path: Path
    data: dict[str, Any]
    existed: bool
    original: str
    indent: int | str = 2
    trailing_newline: bool = True

    def render(self, data: dict[str, Any]) -> str:
        """`data` as this file would hold it: unchanged parts keep their bytes, new parts take
        the file's indentation; so undoing a change restores the file byte for byte."""
        if self.original.strip():
            laid_out = json_layout.render(self.original, data, self.indent)
            if laid_out is not None:
                return laid_out
        text = json.dumps(data, indent=self.indent, ensure_ascii=False)
        return text + "\n" if self.trailing_newline else text


def _detect_indent(text: str) -> int | str:
    match = re.search(r"\n([ \t]+)\S", text)
    if not match:
        return 2
    indent = match.group(1)
    return "\t" if indent.startswith("\t") else len(indent)


def read_json_object(path: Path) -> JsonDocument:
    """Read a JSON object file. Missing is empty; anything unreadable is refused, never guessed."""
    try:
        text = path.read_bytes().decode("utf-8")  # as written: \r\n stays \r\n
    except FileNotFoundError:
        return JsonDocument(path, {}, existed=False, original="")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(
            f"cannot read {path}: {exc}", f"fix or move {path} away, then run the command again"
        ) from exc
    if not text.strip():
        return JsonDocument(path, {}, existed=True, original=text)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigFileError(
            f"{path} is not valid JSON ({exc}); nothing was changed",
            f"fix the JSON in {path} (for example with `python -m json.tool {path}`)",
        ) from exc
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"{path} holds a JSON {type(data).__name__}, not an object; nothing was changed",
            f"make {path} a JSON object such as {{}}",
        )
    return JsonDocument(
        path,
        data,
        existed=True,
        original=text,
        indent=_detect_indent(text),
        trailing_newline=text.endswith("\n"),
    )


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace the file's content in one step. A symlink stays a symlink: its target is written
    (in a repository only once `repo_links` found it inside). The temporary file is created
    exclusively beside the target and renamed over it: a link swapped in at either name is
    replaced, never followed."""
    target = path.resolve() if path.is_symlink() else path
    paths.ensure_user_dir(target.parent)  # such as `.claude/`: the user's umask, not ours
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)  # the file itself, not whatever the name leads to by now
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_json_object(
    document: JsonDocument, data: dict[str, Any], *, new_mode: int | None = None
) -> bool:
    """Write `data` back if it differs from what is on disk; True when the file changed.

    A file whose object ends up empty is removed rather than left as {}: settings files mean
    the same absent or empty, and `disable` must not leave files `init` created.
    """
    if data == document.data and document.existed:
        return False
    if not data:
        if not document.existed:
            return False
        document.path.unlink(missing_ok=True)
        return True
    mode = None if document.existed else new_mode  # an existing file keeps its own
    write_text_atomic(document.path, document.render(data), mode=mode)
    return True
