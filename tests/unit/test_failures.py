"""The one table of outside failures: every row is reachable and says what fixes it."""

from __future__ import annotations

import pytest

from claudetracing.core import failures, naming
from claudetracing.core.errors import BackendError, TraceCapReached, TracesError

CASES = [
    ("workspace", "", "default auth: cannot configure default credentials", "is not logged in"),
    ("workspace", "", "invalid_grant: refresh token expired", "is not logged in"),
    ("workspace", "", "HTTPSConnectionPool: Max retries exceeded", "cannot reach"),
    ("workspace", "", "Name or service not known", "cannot reach"),
    ("workspace", "", "401 Client Error", "refused the login"),
    ("workspace", "", "something else entirely", "Databricks error for profile"),
    ("tracking", "databricks://dev", "Unauthenticated: credential was not sent", "not logged in"),
    ("tracking", "databricks://dev", "run databricks auth login", "not logged in"),
    (
        "tracking",
        "databricks://dev",
        "RESOURCE_LIMIT_EXCEEDED: The experiment holds the maximum number of traces (100000).",
        "holds the most traces",
    ),
    ("tracking", "http://127.0.0.1:9", "credential was not sent", "cannot reach the tracking"),
    ("tracking", "http://127.0.0.1:9", "Connection refused", "cannot reach the tracking"),
    # What the workspace answers our own Unity Catalog calls (export/uc_writer.py).
    (
        "unity catalog",
        "databricks://dev",
        "INVALID_PARAMETER_VALUE: Could not resolve a SQL warehouse ID for this request.",
        "has no usable SQL warehouse",
    ),
    (
        "unity catalog",
        "databricks://dev",
        "RESOURCE_DOES_NOT_EXIST: SQL warehouse wh-1 does not exist.",
        "has no usable SQL warehouse",
    ),
    (
        "unity catalog",
        "databricks://dev",
        "PERMISSION_DENIED: User a@b.c does not have MODIFY on Table 'm.s.p_otel_spans'.",
        "refused to write traces to",
    ),
    (
        "unity catalog",
        "databricks://dev",
        "PERMISSION_DENIED: User a@b.c does not have SELECT on Table 'm.s.p_otel_spans'.",
        "refused to read traces from",
    ),
    (
        "unity catalog",
        "databricks://dev",
        "TABLE_DOES_NOT_EXIST: Table 'm.s.p_otel_spans' does not exist.",
        "trace tables of m.s.p are gone",
    ),
    ("unity catalog", "databricks://dev", "UNAUTHENTICATED: Invalid access token.", "not logged"),
    ("unity catalog", "databricks://dev", "Connection refused", "cannot reach the workspace"),
    ("unity catalog", "databricks://dev", "INTERNAL_ERROR: boom", "trace write to m.s.p failed"),
]
UC = {"location": "m.s.p", "table": "m.s.p_otel_spans"}


@pytest.mark.parametrize(("where", "uri", "text", "expected"), CASES)
def test_each_failure_gets_its_message_and_a_fix(
    where: str, uri: str, text: str, expected: str
) -> None:
    error = failures.explain(
        RuntimeError(text + "\nsecond line"),
        where,
        profile="dev",
        host="https://h",
        uri=uri,
        **UC,
    )
    assert isinstance(error, TracesError)
    assert expected in error.message
    assert "second line" not in error.message
    if "Databricks error" not in error.message:
        assert error.hint


def test_every_row_of_the_table_is_reached_by_a_case() -> None:
    reached = set()
    for where, uri, text, _ in CASES:
        error = failures.explain(RuntimeError(text), where, profile="dev", host="h", uri=uri, **UC)
        for row in failures.TABLE:
            fields = {"profile": "dev", "host": "h", "uri": uri, "login": "", "first": text, **UC}
            fields["short"] = text
            fields.update(experiment="", rollover="<a new experiment>")
            if row.where == where and error.message == row.message.format(**fields):
                reached.add(row)
    assert reached == set(failures.TABLE)


def test_a_full_experiment_keeps_its_turns_and_names_both_ways_out() -> None:
    text = "RESOURCE_LIMIT_EXCEEDED: The experiment holds the maximum number of traces (5)."
    error = failures.explain(
        RuntimeError(text),
        "tracking",
        profile="dev",
        uri="databricks://dev",
        experiment="/Shared/claude-code/widgets",
        rollover="/Shared/claude-code/widgets+2",
    )
    assert isinstance(error, TraceCapReached)
    assert "'/Shared/claude-code/widgets'" in error.message and "wait in the spool" in error.message
    assert error.hint is not None
    assert "traces init --uc CATALOG.SCHEMA --warehouse ID" in error.hint
    assert "traces init --profile dev --experiment /Shared/claude-code/widgets+2" in error.hint
    # the same words from a server that is no workspace are not this failure
    other = failures.explain(RuntimeError(text), "tracking", uri="http://127.0.0.1:5000")
    assert not isinstance(other, TraceCapReached)


def test_rolled_over_experiments_count_up_and_never_take_a_repositorys_name() -> None:
    assert naming.rollover("/Shared/claude-code/widgets") == "/Shared/claude-code/widgets+2"
    assert naming.rollover("/Shared/claude-code/widgets+2") == "/Shared/claude-code/widgets+3"
    assert naming.rollover("/Users/a@b.c/claude-code/x-2") == "/Users/a@b.c/claude-code/x-2+2"
    assert "+" not in naming.repo_component("widgets+2")
    assert naming.validate(naming.rollover("/Shared/claude-code/widgets"), "a@b.c")


def test_unity_catalog_fixes_name_the_grant_and_the_warehouse() -> None:
    denied = "PERMISSION_DENIED: User a@b.c does not have MODIFY on Table 'm.s.p_otel_spans'."
    error = failures.explain(RuntimeError(denied), "unity catalog", profile="dev", **UC)
    assert isinstance(error, BackendError)
    assert error.hint is not None and "GRANT MODIFY, SELECT ON TABLE m.s.p_otel_spans" in error.hint
    missing = "INVALID_PARAMETER_VALUE: Could not resolve a SQL warehouse ID"
    error = failures.explain(RuntimeError(missing), "unity catalog", profile="dev", **UC)
    assert error.hint is not None and "--warehouse" in error.hint and "m.s.p" in error.hint


def test_unreachable_and_generic_failures_are_backend_errors() -> None:
    error = failures.explain(RuntimeError("timed out"), "workspace", profile="p", host="h")
    assert isinstance(error, BackendError)


_RETRY_REPORT = (
    "API request to {url} failed with exception HTTPConnectionPool(host='h', port=1): Max retries"
    " exceeded with url: /api/2.0/mlflow/experiments/get-by-name?experiment_name=x (Caused by "
    "{cause})"
)


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (
            "NewConnectionError(\"HTTPConnection(host='h', port=1): Failed to establish a new "
            'connection: [Errno 111] Connection refused")',
            "connection refused",
        ),
        ("ResponseError('too many 503 error responses')", "too many 503 error responses"),
        (
            "NameResolutionError(\"<HTTPSConnection at 0x7f>: Failed to resolve 'h' ([Errno -2] "
            'Name or service not known)")',
            "name or service not known",
        ),
        ("SomethingNew('with no words we know')", "the connection failed"),
    ],
)
def test_an_http_retry_report_is_cut_to_its_cause(cause: str, expected: str) -> None:
    exc = RuntimeError(_RETRY_REPORT.format(url="http://h:1/api", cause=cause))
    assert failures.short(exc) == expected
    error = failures.explain(exc, "tracking", uri="http://h:1")
    assert error.message == f"cannot reach the tracking backend http://h:1: {expected}"


def test_a_failure_is_one_line_with_its_fix() -> None:
    line = failures.one_line("session s: cannot\nreach it", "run `traces flush`")
    assert line == "session s: cannot reach it; fix: run `traces flush`"
    what, fix = failures.described(TypeError("expected string or bytes-like object, got 'list'"))
    assert what == "unexpected TypeError (expected string or bytes-like object, got 'list')"
    assert fix is not None and "exporter.log" in fix
