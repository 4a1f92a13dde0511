"""Tracking URIs as people type them: checked before anything is written, and a relative
`sqlite:///mlflow.db` taken from the repository root (never from wherever a command runs).

No credential rides in a tracking URI: it would be stored in a settings file and echoed by
every error. `check` refuses one at `init`; `check_signin` refuses one, and a Databricks
sign-in that is not a person's OAuth login, on every other path, before any request."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from claudetracing.core import databricks_profiles, keys, userinfo
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


FLAG = "--tracking-uri"
SETTING = keys.TRACKING_URI  # where every path but `init` reads it


def _refuse(uri: str, why: str, fix: str = f"use {_FORMS}", what: str = FLAG) -> TracesError:
    return TracesError(f"{what} {userinfo.mask(uri)!r} {why}", fix)


def _credentials_fix(scheme: str, uri: str) -> str:
    """Where the credential goes instead, for this kind of destination."""
    bare = userinfo.mask(uri).replace(f"{userinfo.MASK}@", "", 1)
    base = scheme.split("+", 1)[0]
    if base in _DATABASE_SCHEMES:
        return (
            f"use {bare} and give user and password the database's own way: PGUSER and "
            "PGPASSWORD or ~/.pgpass for PostgreSQL; for MySQL add "
            "?read_default_file=~/.my.cnf"
        )
    if scheme.startswith("databricks"):
        return "use a Databricks profile: databricks://PROFILE after `databricks auth login`"
    return (
        f"use {bare} and give the login to MLflow in the environment Claude Code starts from: "
        "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN); "
        "for Databricks use a profile (databricks://PROFILE)"
    )


def _refuse_credentials(uri: str, what: str) -> None:
    """A user name, password or token inside the URI (before the `@`), refused."""
    if userinfo.present(uri):
        raise _refuse(
            uri,
            "has credentials in it (before the @): they would be stored in settings files and "
            "shown in logs",
            _credentials_fix(uri.partition("://")[0].lower(), uri),
            what,
        )


def check_signin(uri: str, what: str = SETTING) -> None:
    """Before any request to `uri`: no credential inside it and, for Databricks, only a
    person's OAuth login (no PAT or service-principal profile, no secret in the environment)."""
    _refuse_credentials(uri, what)
    scheme, _, rest = uri.partition("://")
    if uri == "databricks" or scheme.lower() == "databricks":
        profile = rest or "DEFAULT"
        if ":" in profile:  # databricks://SCOPE:PREFIX, MLflow's secret-scope form: no profile
            databricks_profiles.refuse_secret_env(profile)
            return
        databricks_profiles.check_signin(profile)


def databricks_profile(uri: str) -> str | None:
    """The profile a Databricks URI signs in with (`databricks` alone: DEFAULT); None for any
    other URI and for MLflow's secret-scope form `databricks://SCOPE:PREFIX`."""
    scheme, _, rest = uri.partition("://")
    if uri != "databricks" and scheme.lower() != "databricks":
        return None
    profile = rest or "DEFAULT"
    return None if ":" in profile else profile


def check(uri: str) -> None:
    """Refuse a URI MLflow cannot trace into, with the form that would work."""
    _refuse_credentials(uri, FLAG)
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
