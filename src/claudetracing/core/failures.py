"""What an MLflow or Databricks failure means for the person: one table, one matcher.

Both outside systems fail with exceptions whose only reliable content is their text (the SDK,
MLflow's REST client and the CLI each raise their own types). Each row names the words that
identify a kind of failure and the message and fix we print for it, per place it can happen:
`workspace` (a Databricks SDK call during setup) or `tracking` (an MLflow call to a tracking
URI). The first matching row wins; a row without words matches everything."""

from __future__ import annotations

from dataclasses import dataclass

from claudetracing.core.errors import BackendError, TracesError

_LOGGED_OUT = ("default credentials", "auth login", "refresh token", "invalid_grant")
# MLflow falls back to sending no token when the SDK cannot get one: a logged-out profile
# reaches the tracking path as the workspace's 401.
_NO_TOKEN_SENT = ("unauthenticated", "credential was not sent")
_UNREACHABLE = ("timed out", "connection", "max retries", "name or service not known", "resolve")
_REFUSED = ("401", "unauthenticated", "invalid access token")


@dataclass(frozen=True)
class Row:
    where: str  # "workspace" or "tracking"
    words: tuple[str, ...]  # any of them, case-insensitive; empty: every failure
    message: str  # format fields: profile, host, uri, first (first line), short (cut to 300)
    fix: str | None
    error: type[TracesError] = BackendError
    databricks_only: bool = False  # tracking rows that only make sense for databricks:// URIs


TABLE: tuple[Row, ...] = (
    Row(
        "workspace",
        _LOGGED_OUT,
        "profile {profile!r} is not logged in ({first})",
        "run `{login}`",
        TracesError,
    ),
    Row(
        "workspace",
        _UNREACHABLE,
        "cannot reach {host} for profile {profile!r}",
        "check the URL and your network (VPN?), or pick another profile",
    ),
    Row(
        "workspace",
        _REFUSED,
        "the workspace refused the login of profile {profile!r}",
        "run `{login}`",
        TracesError,
    ),
    Row("workspace", (), "Databricks error for profile {profile!r}: {first}", None),
    Row(
        "tracking",
        _LOGGED_OUT + _NO_TOKEN_SENT,
        "not logged in to Databricks with profile {profile!r} ({short})",
        "run `databricks auth login --profile {profile}`, then `traces flush`",
        databricks_only=True,
    ),
    Row(
        "tracking",
        (),
        "cannot reach the tracking backend {uri}: {short}",
        "check the server or login, then run `traces flush`",
    ),
)


def short(exc: BaseException) -> str:
    """The first line of an exception's text, cut to 300 characters."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def explain(
    exc: BaseException,
    where: str,
    *,
    profile: str = "DEFAULT",
    host: str | None = None,
    uri: str = "",
    login: str = "",
) -> TracesError:
    """The row of TABLE that matches `exc` at `where`, as an error with its fix."""
    lowered = str(exc).lower()
    fields = {
        "profile": profile,
        "host": host,
        "uri": uri,
        "login": login or f"databricks auth login --profile {profile}",
        "first": (str(exc).splitlines() or [type(exc).__name__])[0],
        "short": short(exc),
    }
    for row in TABLE:
        if row.where != where or (row.databricks_only and not uri.startswith("databricks")):
            continue
        if not row.words or any(word in lowered for word in row.words):
            fix = row.fix.format(**fields) if row.fix else None
            return row.error(row.message.format(**fields), fix)
    raise ValueError(f"no row of the failure table covers {where!r}")
