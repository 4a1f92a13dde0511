"""Tracking URIs as people type them: checked before anything is written, and a relative
`sqlite:///mlflow.db` taken from the repository root (never from wherever a command runs)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from claudetracing.core.errors import TracesError

LOCAL = "local"
_SERVER_SCHEMES = ("http", "https")
_DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
_FORMS = (
    "local (the embedded store), sqlite:///path/to/mlflow.db, http://host:port, "
    "postgresql://…, or databricks://PROFILE"
)


def _plugin_schemes() -> set[str]:
    """Schemes that installed MLflow tracking-store plugins add."""
    try:
        return {ep.name for ep in metadata.entry_points(group="mlflow.tracking_store")}
    except Exception:  # a broken plugin's metadata must not break the check
        return set()


def _refuse(uri: str, why: str, fix: str = f"use {_FORMS}") -> TracesError:
    return TracesError(f"--tracking-uri {uri!r} {why}", fix)


def check(uri: str) -> None:
    """Refuse a URI MLflow cannot trace into, with the form that would work."""
    if not uri.strip():
        raise _refuse(uri, "is empty")
    if uri != uri.strip() or any(ord(c) < 32 for c in uri):
        raise _refuse(uri, "has spaces or control characters around or inside it")
    if uri in (LOCAL, "databricks"):  # `databricks`: MLflow's spelling of the DEFAULT profile
        return
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    base = scheme.split("+", 1)[0]  # postgresql+psycopg2 is postgresql
    if not scheme or "://" not in uri:
        raise _refuse(uri, "is not a URI (no scheme://)")
    if scheme == "sqlite":
        path = sqlite_path(uri)
        if path is None or not str(path) or str(path) == ":memory:":
            raise _refuse(
                uri,
                "names no database file",
                "use sqlite:///mlflow.db (in the repository) or sqlite:////absolute/path.db",
            )
        return
    if scheme == "file":
        raise _refuse(
            uri,
            "is a file store, which MLflow no longer writes traces to",
            "use a database file instead: sqlite:///mlflow.db",
        )
    if base in _SERVER_SCHEMES or base in _DATABASE_SCHEMES:
        if not parts.hostname:
            raise _refuse(uri, "names no host", f"for example {base}://localhost:5000")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            raise _refuse(uri, "has a port that is not a number from 0 to 65535") from None
        return
    if scheme.startswith("databricks") or scheme in _plugin_schemes():
        return
    raise _refuse(uri, f"has a scheme MLflow cannot trace into ({scheme}://)")


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///…` URI (relative or absolute), else None."""
    if not uri.lower().startswith("sqlite:///"):
        return None
    rest = uri[len("sqlite:///") :].split("?", 1)[0]
    return Path(rest)


def anchored(uri: str, root: Path) -> str:
    """The URI with a relative sqlite path made absolute from `root`; any other URI as is."""
    path = sqlite_path(uri)
    if path is None or path.is_absolute() or not str(path):
        return uri
    query = uri[len("sqlite:///") :].partition("?")[1:]
    return f"sqlite:///{(root / path).resolve()}{''.join(query)}"
