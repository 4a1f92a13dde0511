"""What an MLflow or Databricks failure means for the person: one table, one matcher.

Both outside systems fail with exceptions whose only reliable content is their text (the SDK,
MLflow's REST client and the CLI each raise their own types). Each row names the words that
identify a kind of failure and the message and fix we print for it, per place it can happen:
`workspace` (a Databricks SDK call during setup) or `tracking` (an MLflow call to a tracking
URI). The first matching row wins; a row without words matches everything.

Every text made here has the user-info of its URIs masked (`userinfo.mask`): an MLflow error
may echo the URI it called, password included."""

from __future__ import annotations

import re
from dataclasses import dataclass

from claudetracing.core import paths, userinfo
from claudetracing.core.errors import BackendError, TraceCapReached, TracesError

_LOGGED_OUT = ("default credentials", "auth login", "refresh token", "invalid_grant")
# MLflow falls back to sending no token when the SDK cannot get one: a logged-out profile
# reaches the tracking path as the workspace's 401.
_NO_TOKEN_SENT = ("unauthenticated", "credential was not sent")
_UNREACHABLE = ("timed out", "connection", "max retries", "name or service not known", "resolve")
_REFUSED = ("401", "unauthenticated", "invalid access token")
# What a workspace answers when an experiment holds its maximum of traces. The exact words of
# Databricks were not found published; the stand-in answers RESOURCE_LIMIT_EXCEEDED with them.
_TRACE_CAP = ("maximum number of traces", "traces per experiment")
# The two ways out of a full experiment, said by the exporter's failure and by `traces status`.
TRACE_CAP_WAYS_OUT = (
    "store new traces in Unity Catalog (`traces init --uc CATALOG.SCHEMA --warehouse ID`, then "
    "migrate the old ones), or roll over to a new experiment: "
    "`traces init --profile {profile} --experiment {rollover}`"
)


@dataclass(frozen=True)
class Row:
    where: str  # "workspace", "tracking" or "unity catalog"
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
        _TRACE_CAP,
        "experiment {experiment!r} holds the most traces a Databricks workspace experiment may "
        "hold; new turns wait in the spool ({short})",
        TRACE_CAP_WAYS_OUT + "; then `traces flush`",
        TraceCapReached,
        databricks_only=True,
    ),
    Row(
        "tracking",
        (),
        "cannot reach the tracking backend {uri}: {short}",
        "check the server or login, then run `traces flush`",
    ),
    # Our own calls to a Unity Catalog trace location (export/uc_writer.py). The workspace's
    # error text follows the error code: "INVALID_PARAMETER_VALUE: Could not resolve a SQL ...".
    Row(
        "unity catalog",
        ("sql warehouse",),
        "Unity Catalog trace location {location} has no usable SQL warehouse ({short})",
        "start or create a SQL warehouse and link it: "
        "`traces init --uc {location} --warehouse ID`, then `traces flush`",
    ),
    Row(
        "unity catalog",
        ("modify on table",),
        "the workspace refused to write traces to {table} ({short})",
        "ask the table's owner to run `GRANT MODIFY, SELECT ON TABLE {table} TO <you>` "
        "(ALL PRIVILEGES is not enough), then `traces flush`",
    ),
    Row(
        "unity catalog",
        ("select on table",),
        "the workspace refused to read traces from {table} ({short})",
        "ask the table's owner to run `GRANT SELECT ON TABLE {table} TO <you>`",
    ),
    Row(
        "unity catalog",
        ("table_does_not_exist", "trace location", "does not exist"),
        "the Unity Catalog trace tables of {location} are gone ({short})",
        "link the experiment again with `traces init --uc {location}`, then `traces flush`",
    ),
    Row(
        "unity catalog",
        _LOGGED_OUT + _NO_TOKEN_SENT + _REFUSED,
        "not logged in to Databricks with profile {profile!r} ({short})",
        "run `databricks auth login --profile {profile}`, then `traces flush`",
    ),
    Row(
        "unity catalog",
        _UNREACHABLE,
        "cannot reach the workspace of profile {profile!r} ({short})",
        "check your network (VPN?), then run `traces flush`",
    ),
    Row(
        "unity catalog",
        (),
        "Unity Catalog trace write to {location} failed: {short}",
        "check `traces status`, then run `traces flush`",
    ),
)


# urllib3 wraps the one thing that went wrong in a retry report several hundred characters
# long: "API request to URL failed with exception HTTPConnectionPool(host=…): Max retries
# exceeded with url: … (Caused by NewConnectionError(…: [Errno 111] Connection refused))".
_WRAPPED = ("max retries exceeded", "caused by ")
_CAUSES = (
    re.compile(r"\[Errno -?\d+\] ([^'\"()\]]+)"),
    re.compile(r"too many \d+ error responses"),
    re.compile(r"(?:read|connect(?:ion)?)[^'\"()]*timed out", re.IGNORECASE),
    re.compile(r"\[SSL: [A-Z_]+\][^'\"()]*"),
    re.compile(r"Remote end closed connection without response|Connection aborted"),
)


def _cause(text: str) -> str | None:
    """The one cause inside a urllib3 retry report, or None when `text` is no such report."""
    lowered = text.lower()
    if not any(mark in lowered for mark in _WRAPPED):
        return None
    for pattern in _CAUSES:
        found = pattern.search(text)
        if found:
            return (found.group(1) if found.groups() else found.group(0)).strip().rstrip(".")
    return "the connection failed"


def short(exc: BaseException) -> str:
    """The first line of an exception's text, cut to 300 characters; an HTTP retry report is
    cut to its cause ("connection refused")."""
    text = userinfo.mask(str(exc)).strip()
    cause = _cause(text)
    if cause:
        return cause[0].lower() + cause[1:]
    lines = text.splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def one_line(what: str, fix: str | None = None) -> str:
    """A failure as people read it in a list: what failed and its fix, on one line."""
    text = " ".join(userinfo.mask(what).split())
    return f"{text}; fix: {' '.join(userinfo.mask(fix).split())}" if fix else text


def split_line(text: str) -> tuple[str, str | None]:
    """`one_line`'s inverse: (what failed, its fix or None)."""
    what, sep, fix = text.partition("; fix: ")
    return (what, fix) if sep else (text, None)


def described(exc: BaseException) -> tuple[str, str | None]:
    """What failed and its fix, for an error met while working in the background: ours say
    it; anything else is a bug in traces, whose traceback the exporter's log holds."""
    if isinstance(exc, TracesError):
        return userinfo.mask(exc.message), exc.hint and userinfo.mask(exc.hint)
    log = paths.data_dir() / "logs" / "exporter.log"
    return (
        f"unexpected {type(exc).__name__} ({short(exc)})",
        f"this is a bug in traces: report it with the traceback in {log}",
    )


def explain(
    exc: BaseException,
    where: str,
    *,
    profile: str = "DEFAULT",
    host: str | None = None,
    uri: str = "",
    login: str = "",
    experiment: str = "",
    rollover: str = "",
    location: str = "",
    table: str = "",
) -> TracesError:
    """The row of TABLE that matches `exc` at `where`, as an error with its fix.

    `where`: "workspace", "tracking" or "unity catalog" (with its `location` and `table`)."""
    text = userinfo.mask(str(exc))
    lowered = text.lower()
    fields = {
        "profile": profile,
        "host": host,
        "uri": userinfo.mask(uri),
        "login": login or f"databricks auth login --profile {profile}",
        "first": _cause(text) or (text.splitlines() or [type(exc).__name__])[0],
        "short": short(exc),
        "experiment": experiment,
        "rollover": rollover or "<a new experiment>",
        "location": location,
        "table": table,
    }
    for row in TABLE:
        if row.where != where or (row.databricks_only and not uri.startswith("databricks")):
            continue
        if not row.words or any(word in lowered for word in row.words):
            fix = row.fix.format(**fields) if row.fix else None
            return row.error(row.message.format(**fields), fix)
    raise ValueError(f"no row of the failure table covers {where!r}")
