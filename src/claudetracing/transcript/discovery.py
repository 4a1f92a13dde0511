"""Where a repository's past sessions are: Claude Code's project folders, oldest session first."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from claudetracing.core import paths
from claudetracing.core.errors import TracesError
from claudetracing.core.regular_files import kind_of, open_regular
from claudetracing.transcript.records import load_line, parse_timestamp_ns


def _first_value(path: Path, key: str) -> str | None:
    """The first string `key` among a transcript's first lines."""
    try:
        with open_regular(path) as handle:  # a FIFO would block the read
            for _, raw in zip(range(50), handle, strict=False):
                try:
                    record, _ = load_line(raw.decode("utf-8", errors="replace"))
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get(key), str):
                    return str(record[key])
    except OSError:
        return None
    return None


def _oldest_first(transcripts: list[Path]) -> list[Path]:
    """Sessions in the order they happened, so a resumed session's copy of earlier turns is
    recognised as a copy of its original, never the other way round. A copy starts with its
    original's timestamps; the original was written to last, before the copy was made."""

    def when(path: Path) -> tuple[float, float]:
        first = parse_timestamp_ns(_first_value(path, "timestamp"))
        try:
            modified = path.stat().st_mtime
        except OSError:
            modified = 0.0
        return (first / 1e9 if first is not None else modified, modified)

    return sorted(transcripts, key=when)


def _inside(cwd: str, root: Path) -> bool:
    try:
        Path(cwd).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def discover(root: Path, *, since_s: float | None = None) -> list[Path]:
    """Main transcripts of sessions run in `root` or below it (never subagent files)."""
    base = paths.claude_projects_dir()
    if not base.is_dir():
        return []
    key = paths.project_key(root.resolve())
    cutoff = time.time() - since_s if since_s else None
    found = []
    for folder in sorted(base.iterdir()):
        if not folder.is_dir() or not (folder.name == key or folder.name.startswith(key + "-")):
            continue
        for path in sorted(folder.glob("*.jsonl")):
            if path.name.startswith("agent-"):
                continue
            if cutoff is not None and path.stat().st_mtime < cutoff:
                continue
            if folder.name != key:
                cwd = _first_value(path, "cwd")
                if cwd is None or not _inside(cwd, root):
                    continue  # a sibling folder whose name merely starts the same
            found.append(path)
    return _oldest_first(found)


def expand(paths_given: Iterable[Path]) -> list[Path]:
    """Files as given; folders searched for session transcripts."""
    found: list[Path] = []
    for given in paths_given:
        if given.is_dir():
            found.extend(
                p
                for p in sorted(given.rglob("*.jsonl"))
                if not p.name.startswith("agent-") and p.parent.name != "subagents"
            )
        elif given.is_file():
            found.append(given)
        elif given.exists():  # a FIFO or a device: never opened
            raise TracesError(
                f"{given} is {kind_of(given.stat().st_mode)}, not a transcript file",
                "give transcript files (.jsonl) or folders",
            )
        else:
            raise TracesError(
                f"no such file or folder: {given}", "give transcript files or folders"
            )
    return _oldest_first(found)
