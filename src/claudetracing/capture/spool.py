"""The durable local queue between the hook and the exporter: one private file per hook event."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from claudetracing.core import paths

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
        body = {
            "payload": self.payload,
            "env": self.env,
            "received_at": self.received_at,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error,
            "held": self.held,
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


def load(path: Path) -> Entry:
    body = json.loads(path.read_bytes())
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        raise ValueError("not a spool entry")
    env = body.get("env") if isinstance(body.get("env"), dict) else {}
    return Entry(
        path=path,
        payload=body["payload"],
        env={str(k): str(v) for k, v in (env or {}).items()},
        received_at=float(body.get("received_at", 0.0)),
        attempts=int(body.get("attempts", 0)),
        next_attempt_at=float(body.get("next_attempt_at", 0.0)),
        last_error=body.get("last_error"),
        held=body.get("held") if isinstance(body.get("held"), str) else None,
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
    os.replace(entry_path, target)
    return target


def count(folder_name: str, root: Path | None = None) -> int:
    return sum(1 for _ in entries(folder_name, root))
