"""The durable local queue between the hook and the exporter: one private file per hook event."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from claudetracing.core import paths, userinfo
from claudetracing.core.regular_files import NotRegularFile, read_regular

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

# The hook imports this module: stdlib only, and not even dataclasses, secrets or typing at
# run time (each costs milliseconds of every Claude Code turn).

PENDING = "pending"
FAILED = "failed"
CORRUPT = "corrupt"


def spool_dir() -> Path:
    return paths.data_dir() / "spool"


def _write_private(path: Path, body: bytes) -> None:
    """Create-and-rename with fsync, so a reader sees the whole entry or none of it."""
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(body)
        while view:  # a full disk can take part of it and say so only by the count
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


class Entry:
    """One hook event waiting for export, with its retry bookkeeping."""

    def __init__(
        self,
        path: Path,
        payload: dict[str, Any],
        env: dict[str, str],
        received_at: float,
        attempts: int = 0,
        next_attempt_at: float = 0.0,
        last_error: str | None = None,
        held: str | None = None,
    ) -> None:
        self.path = path
        self.payload = payload
        self.env = env
        self.received_at = received_at
        self.attempts = attempts
        self.next_attempt_at = next_attempt_at
        self.last_error = last_error
        # Not a failure: its turn is done but waits for background work it launched.
        self.held = held

    @property
    def transcript(self) -> str | None:
        value = self.payload.get("transcript_path")
        return value if isinstance(value, str) and value else None

    @property
    def event(self) -> str:
        return str(self.payload.get("hook_event_name", ""))

    @property
    def session_id(self) -> str:
        return str(self.payload.get("session_id", ""))

    def to_bytes(self) -> bytes:
        """The entry as stored: no URI in its settings or its reasons keeps its user-info
        (a password typed into a tracking URI is refused by the exporter, never stored)."""
        body = {
            "payload": self.payload,
            "env": {k: userinfo.mask(v) for k, v in self.env.items()},
            "received_at": self.received_at,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error and userinfo.mask(self.last_error),
            "held": self.held and userinfo.mask(self.held),
        }
        return json.dumps(body).encode("utf-8")


def append(payload: dict[str, Any], env: dict[str, str], root: Path | None = None) -> Path:
    """Durably add one hook event to the pending queue."""
    folder = paths.ensure_private_dir((root or spool_dir()) / PENDING)
    paths.ensure_private_dir(folder.parent)
    now = time.time()
    name = f"{now:.6f}-{os.getpid()}-{os.urandom(3).hex()}.json"
    entry = Entry(folder / name, payload, env, received_at=now)
    _write_private(entry.path, entry.to_bytes())
    return entry.path


class Malformed(ValueError):
    """A spool entry that is no entry we wrote: set aside, never retried."""


def _read(path: Path) -> bytes:
    """The bytes of a regular file: a folder, FIFO or link named like an entry is refused
    (reading a FIFO would block the exporter for good)."""
    if os.path.islink(path):
        raise Malformed("a symbolic link, not a spool entry")
    try:
        return read_regular(path, follow_symlinks=False)
    except NotRegularFile as exc:
        raise Malformed(f"{exc.strerror}: not a spool entry") from exc


_REQUIRED = object()
_NULL = type(None)
_NAMES = {str: "a string", int: "an integer", float: "a number", dict: "an object", _NULL: "null"}
# What the hook writes into the payload and the exporter reads back out of it.
_PAYLOAD_STRINGS = ("hook_event_name", "transcript_path", "session_id", "cwd")


def _field(
    body: dict[str, Any], name: str, kinds: tuple[type, ...], default: Any, where: str = ""
) -> Any:
    """`body[name]` when it is one of `kinds` (a bool is no number; a number is finite), the
    default when absent, else Malformed."""
    if name not in body:
        if default is _REQUIRED:
            raise Malformed(f"field {where + name!r} is missing")
        return default
    value = body[name]
    if isinstance(value, bool):
        ok = False
    elif float in kinds and isinstance(value, (int, float)):
        ok = math.isfinite(value)
    else:
        ok = isinstance(value, kinds)
    if not ok:
        shown = "null" if value is None else f"{type(value).__name__} {value!r}"[:60]
        wanted = " or ".join(_NAMES[k] for k in kinds)
        raise Malformed(f"field {where + name!r} is {shown}, expected {wanted}")
    return value


def load(path: Path) -> Entry:
    """The entry at `path`. Raises OSError when it cannot be read now, ValueError (Malformed)
    when it is not an entry the hook wrote: any field missing, null or of another type."""
    raw = _read(path)
    try:
        body = json.loads(raw)
    except RecursionError as exc:
        raise Malformed("nested too deep to be a spool entry") from exc
    except ValueError as exc:
        raise Malformed(f"not JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise Malformed("not a JSON object")
    payload = _field(body, "payload", (dict,), _REQUIRED)
    for name in _PAYLOAD_STRINGS:
        _field(payload, name, (str,), "", "payload.")
    _field(payload, "last_assistant_message", (str, _NULL), None, "payload.")
    env = _field(body, "env", (dict,), {})
    for key in env:
        _field(env, key, (str,), None, "env.")
    attempts = _field(body, "attempts", (int,), 0)
    if attempts < 0:
        raise Malformed(f"field 'attempts' is {attempts}, expected 0 or more")
    return Entry(
        path=path,
        payload=payload,
        env=env,
        received_at=float(_field(body, "received_at", (float,), _REQUIRED)),
        attempts=attempts,
        next_attempt_at=float(_field(body, "next_attempt_at", (float,), 0.0)),
        last_error=_field(body, "last_error", (str, _NULL), None),
        held=_field(body, "held", (str, _NULL), None),
    )


def save(entry: Entry) -> None:
    _write_private(entry.path, entry.to_bytes())


def entries(folder_name: str = PENDING, root: Path | None = None) -> Iterator[Path]:
    folder = (root or spool_dir()) / folder_name
    if not folder.is_dir():
        return iter(())
    return iter(sorted(p for p in folder.iterdir() if p.suffix == ".json"))


def move(entry_path: Path, folder_name: str, root: Path | None = None) -> Path:
    """Set an entry aside (failed or corrupt): kept and visible, never deleted silently."""
    folder = paths.ensure_private_dir((root or spool_dir()) / folder_name)
    target = folder / entry_path.name
    if os.path.lexists(target):  # set aside before under the same name: keep both
        target = folder / f"{entry_path.stem}-{os.urandom(3).hex()}{entry_path.suffix}"
    os.replace(entry_path, target)
    return target


def count(folder_name: str, root: Path | None = None) -> int:
    return sum(1 for _ in entries(folder_name, root))
