"""What an export run did, counted one way for the worker, `flush`, `import` and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    """Counts of one transcript's export, or of many added together."""

    exported: list[str] = field(default_factory=list)  # trace ids written now
    already: int = 0  # turns found in the ledger or the backend
    copied: int = 0  # turns made only of responses traced before (a resumed session's copy)
    replaced: int = 0  # incomplete traces found and written again
    empty: int = 0  # turns with no model response (local commands): nothing to trace
    pending: int = 0  # turns not finished yet, left for a later run
    pending_started_ns: int | None = None  # when the first unfinished turn began
    held: int = 0  # finished turns waiting for a background subagent they launched
    skipped_lines: int = 0  # unreadable transcript lines, skipped and counted
    sessions: int = 0  # transcripts looked at
    errors: dict[str, str] = field(default_factory=dict)  # transcript -> why it failed
    done_entries: int = 0  # hook events finished and removed from the spool
    retrying: dict[str, str] = field(default_factory=dict)  # spool entry -> why it waits
    failed: list[str] = field(default_factory=list)  # spool entries given up on now
    corrupt: list[str] = field(default_factory=list)  # unreadable spool entries set aside
    aside: dict[str, str] = field(default_factory=dict)  # entry set aside now -> why
    busy: bool = False  # another exporter held the lock: nothing was done

    def add(self, other: Tally) -> None:
        self.exported += other.exported
        for name in ("already", "copied", "replaced", "empty", "pending", "held", "skipped_lines"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.sessions += other.sessions
        self.errors.update(other.errors)

    @property
    def troubled(self) -> bool:
        """Something did not land: an error, an entry waiting for a retry or set aside."""
        return bool(self.errors or self.retrying or self.failed or self.corrupt)

    def lines(self, destination: str | None = None) -> list[str]:
        """The report people read, the same for `flush` and `import`."""
        counts = [f"{len(self.exported)} turn(s) exported", f"{self.already} already traced"]
        if self.copied:
            counts.append(f"{self.copied} copied by a resumed session")
        if self.sessions:
            counts.append(f"{self.pending} still in progress")
        if self.held:
            counts.append(f"{self.held} waiting for a background subagent")
        if self.done_entries:
            counts.append(f"{self.done_entries} hook event(s) done")
        head = f"{self.sessions} session(s): " if self.sessions else ""
        tail = f" → {destination}" if destination else ""
        lines = [head + ", ".join(counts) + tail]
        if self.skipped_lines:
            lines.append(f"{self.skipped_lines} unreadable transcript line(s) skipped")
        lines += [f"failed {path}: {reason}" for path, reason in self.errors.items()]
        # One line per reason: a session's events (Stop, SessionEnd) fail together.
        lines += [f"still pending: {reason}" for reason in dict.fromkeys(self.retrying.values())]
        lines += [
            f"set aside: {self.aside[name]}" if name in self.aside else f"set aside {name}"
            for name in self.failed + self.corrupt
        ]
        return lines
