"""What has been exported where: per destination and session, turn keys and the read offset."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from claudetracing.core import paths
from claudetracing.core.jsonfiles import write_text_atomic

KEEP_RECENT = 64


def destination_id(tracking_uri: str, experiment: str) -> str:
    return hashlib.sha256(f"{tracking_uri}\n{experiment}".encode()).hexdigest()[:16]


@dataclass
class SessionLedger:
    """Exported turns of one session at one destination. Small: one file per session."""

    path: Path
    exported: dict[str, str] = field(default_factory=dict)  # turn key -> trace id
    offset: int = 0  # where the first turn not yet exported starts in the transcript
    started: set[str] = field(default_factory=set)  # uploads begun and not confirmed

    def begin(self, turn_key: str, *, save: bool = True) -> bool:
        """Note an upload before it starts; True when an earlier one never finished.
        `save=False` when the caller saves before the upload starts (a batch of turns)."""
        interrupted = turn_key in self.started
        self.started.add(turn_key)
        if save:
            self.save()
        return interrupted

    def has(self, turn_key: str) -> bool:
        return turn_key in self.exported

    def record(self, turn_key: str, trace_id: str) -> None:
        self.exported[turn_key] = trace_id
        self.started.discard(turn_key)

    def save(self) -> None:
        # Turns before `offset` are never read again, so old keys only cost bytes on every save;
        # a file that is replaced is re-checked against the backend, which keeps exactly once.
        while len(self.exported) > KEEP_RECENT:
            del self.exported[next(iter(self.exported))]
        paths.ensure_private_dir(self.path.parent)
        body = {"exported": self.exported, "offset": self.offset, "started": sorted(self.started)}
        write_text_atomic(self.path, json.dumps(body, indent=1) + "\n", mode=0o600)


def open_session(tracking_uri: str, experiment: str, session_id: str) -> SessionLedger:
    folder = paths.data_dir() / "state" / destination_id(tracking_uri, experiment)
    path = folder / f"{session_id}.json"
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # A lost or damaged ledger costs only time: the backend check keeps exports exactly once.
        return SessionLedger(path)
    exported = body.get("exported") if isinstance(body, dict) else None
    offset = body.get("offset") if isinstance(body, dict) else None
    started = body.get("started") if isinstance(body, dict) else None
    return SessionLedger(
        path,
        exported=dict(exported) if isinstance(exported, dict) else {},
        offset=offset if isinstance(offset, int) and offset >= 0 else 0,
        started={s for s in started if isinstance(s, str)} if isinstance(started, list) else set(),
    )


class ResponseIndex:
    """API responses traced at one destination, across all sessions and files.

    Resuming a session can copy its earlier conversation into a new transcript (same message id
    and request id, new uuids). Such copies are no new API calls: this index is how a copy is
    recognised wherever it appears, so each response is counted once per destination.
    """

    def __init__(self, tracking_uri: str, experiment: str) -> None:
        folder = paths.data_dir() / "state" / destination_id(tracking_uri, experiment)
        self.path = folder / "responses.sqlite"
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            paths.ensure_private_dir(self.path.parent)
            # Created private before SQLite opens it: it names the team's sessions and turns.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(self.path, 0o600)
            self._db = sqlite3.connect(self.path, timeout=30)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses"
                " (response TEXT PRIMARY KEY, turn_key TEXT NOT NULL, trace_id TEXT NOT NULL)"
            )
        return self._db

    def traced_elsewhere(self, responses: set[str], turn_key: str) -> dict[str, str]:
        """Those of `responses` already traced by another turn: response -> that trace's id."""
        if not responses:
            return {}
        db = self._connect()
        found: dict[str, str] = {}
        keys = sorted(responses)
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT response, trace_id FROM responses WHERE response IN ({marks})"
                " AND turn_key != ?",
                [*chunk, turn_key],
            )
            found.update(dict(rows))
        return found

    def add(self, responses: set[str], turn_key: str, trace_id: str) -> None:
        self.add_many([(responses, turn_key, trace_id)])

    def add_many(self, traced: list[tuple[set[str], str, str]]) -> None:
        """(responses, turn key, trace id) of several turns, in one transaction."""
        rows = [
            (r, key, trace_id) for responses, key, trace_id in traced for r in sorted(responses)
        ]
        if not rows:
            return
        db = self._connect()
        with db:
            db.executemany("INSERT OR IGNORE INTO responses VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
