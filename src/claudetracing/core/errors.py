"""The one family of user-facing errors: what happened, and the command that fixes it."""

from __future__ import annotations


class TracesError(Exception):
    """An expected failure with a message for people and a hint that fixes it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class ConfigFileError(TracesError):
    """A configuration file we must not touch because we cannot read it faithfully."""


class BackendError(TracesError):
    """The tracking backend (MLflow store, server or workspace) refused or could not be reached."""


class TraceCapReached(BackendError):
    """The experiment holds as many traces as its workspace allows: new ones are refused."""


class TranscriptError(TracesError):
    """A transcript that cannot be used at all (missing, not a file)."""
