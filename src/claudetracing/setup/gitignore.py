"""Our block in the repository's .gitignore: personal files that must never be committed."""

from __future__ import annotations

from pathlib import Path

from claudetracing.core.jsonfiles import write_text_atomic

BEGIN = "# >>> claudetracing: personal settings, never committed"
END = "# <<< claudetracing"
IGNORED = (".claude/settings.local.json",)


def _block() -> list[str]:
    return [BEGIN, *IGNORED, END]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def with_block(text: str) -> str:
    lines = text.splitlines()
    if BEGIN in lines:
        return text
    body = text if not text or text.endswith("\n") else text + "\n"
    return body + "\n".join(_block()) + "\n"


def without_block(text: str) -> str:
    lines = text.splitlines(keepends=True)
    stripped = [line.rstrip("\r\n") for line in lines]
    if BEGIN not in stripped:
        return text
    start = stripped.index(BEGIN)
    end = stripped.index(END, start) if END in stripped[start:] else start + len(IGNORED)
    return "".join(lines[:start] + lines[end + 1 :])


def install(root: Path) -> bool:
    path = root / ".gitignore"
    before = _read(path)
    after = with_block(before)
    if after == before:
        return False
    write_text_atomic(path, after)
    return True


def uninstall(root: Path) -> bool:
    path = root / ".gitignore"
    if not path.exists():
        return False
    before = _read(path)
    after = without_block(before)
    if after == before:
        return False
    if not after:
        path.unlink()
    else:
        write_text_atomic(path, after)
    return True


def installed(root: Path) -> bool:
    return BEGIN in _read(root / ".gitignore").splitlines()
