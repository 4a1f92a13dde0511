"""The stand-in Databricks workspace and fake CLI work with the real databricks-sdk and MLflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.databricks_standin import fake_cli
from tests.databricks_standin.fixtures import StandinWorkspace

pytestmark = pytest.mark.server


@pytest.fixture
def mlflow_dev(
    databricks_workspace: StandinWorkspace, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """MLflow in this process pointed at `databricks://dev`; global MLflow state reset after."""
    import mlflow
    from mlflow.tracking import fluent

    # set_tracking_uri/set_experiment export these for subprocesses: restore them afterwards
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "")
    mlflow.set_tracking_uri(f"databricks://{databricks_workspace.profile}")
    try:
        yield mlflow
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # None resets, as in MLflow's tests
        fluent._active_experiment_id = None


def _home_folder(ws: StandinWorkspace) -> str:
    return f"/Users/{ws.user}"


def _error_text(call: Any) -> str:
    with pytest.raises(Exception) as caught:
        call()
    return str(caught.value)


# ---- databricks-sdk ---------------------------------------------------------------------


def test_sdk_reads_identity_and_manages_folders(databricks_workspace: StandinWorkspace) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import NotFound

    ws = databricks_workspace
    client = WorkspaceClient(profile=ws.profile)
    assert client.config.auth_type == "databricks-cli"
    assert client.config.host == ws.host  # http on loopback is accepted as is
    assert client.config.workspace_id is not None  # read from /.well-known/databricks-config
    assert client.current_user.me().user_name == ws.user

    folder = f"{_home_folder(ws)}/claude-code"
    with pytest.raises(NotFound) as missing:
        client.workspace.get_status(folder)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert str(missing.value) == f"Path ({folder}) doesn't exist."

    client.workspace.mkdirs(folder)
    status = client.workspace.get_status(folder)
    assert status.object_type is not None and status.object_type.value == "DIRECTORY"
    assert status.path == folder

    assert ("GET", "/.well-known/databricks-config") in ws.routes(include_discovery=True)
    assert ("GET", "/api/2.0/preview/scim/v2/Me") in ws.routes()
    assert ("POST", "/api/2.0/workspace/mkdirs") in ws.routes()
    # The SDK asked the fake CLI for its version, then for a token of the profile.
    assert ["version", "--output", "json"] in ws.cli_calls()
    assert ["auth", "token", "--profile", ws.profile] in ws.cli_calls()
    assert ws.unknown_routes() == []


def test_every_api_call_needs_the_bearer_token(databricks_workspace: StandinWorkspace) -> None:
    url = f"{databricks_workspace.host}/api/2.0/preview/scim/v2/Me"
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
        assert caught.value.code == 401
        assert json.loads(caught.value.read())["error_code"] == "UNAUTHENTICATED"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {databricks_workspace.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read())["userName"] == databricks_workspace.user


def test_pat_and_service_principal_profiles(databricks_workspace: StandinWorkspace) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import PermissionDenied

    ws = databricks_workspace
    ws.add_pat_profile("pat")
    pat = WorkspaceClient(profile="pat")
    assert pat.config.auth_type == "pat"
    assert pat.current_user.me().user_name == ws.user

    ws.add_pat_profile("bob", user="bob@example.com")
    bob = WorkspaceClient(profile="bob")
    assert bob.current_user.me().user_name == "bob@example.com"
    bob.workspace.mkdirs("/Users/bob@example.com/claude-code")  # a user's own home folder
    with pytest.raises(PermissionDenied):
        bob.workspace.mkdirs(f"/Users/{ws.user}/claude-code")
    bob.workspace.mkdirs("/Shared/claude-code/widgets")  # parents are created too

    client_id, _ = ws.add_service_principal_profile("robot")
    robot = WorkspaceClient(profile="robot")
    assert robot.config.auth_type == "oauth-m2m"
    assert robot.current_user.me().user_name == client_id


def test_logged_out_profile_cannot_configure_credentials(
    databricks_workspace: StandinWorkspace,
) -> None:
    from databricks.sdk import WorkspaceClient

    ws = databricks_workspace
    ws.log_out()
    message = _error_text(lambda: WorkspaceClient(profile=ws.profile))
    print(message)
    assert message.startswith("default auth: cannot configure default credentials, please check")
    assert f"profile={ws.profile}" in message and "auth_type=databricks-cli" in message

    ws.revoke_refresh_token()
    message = _error_text(lambda: WorkspaceClient(profile=ws.profile))
    print(message)
    assert message.startswith(
        "default auth: databricks-cli: cannot get access token: Error: A new access token"
    )
    assert f"databricks auth login --profile {ws.profile}" in message


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `databricks` as a user would: found on PATH."""
    return subprocess.run(["databricks", *args], capture_output=True, text=True, timeout=30)


def test_fake_cli_login_and_token_like_the_real_one(databricks_workspace: StandinWorkspace) -> None:
    from databricks.sdk import WorkspaceClient

    ws = databricks_workspace
    assert _cli("auth", "token", "--profile", "fresh").returncode == 1  # no such profile yet

    login = _cli("auth", "login", "--host", ws.host, "--profile", "fresh")
    assert login.returncode == 0, login.stderr
    config = ws.config_file.read_text(encoding="utf-8")
    assert f"[fresh]\nhost = {ws.host}\nauth_type = databricks-cli\n" in config
    assert f"[{ws.profile}]" in config  # other profiles survive
    assert ws.config_file.with_name(".databrickscfg.bak").exists()  # the CLI keeps a backup

    token = _cli("auth", "token", "--profile", "fresh", "--force-refresh")
    assert token.returncode == 0, token.stderr
    answer = json.loads(token.stdout)
    assert answer["access_token"] == ws.token and answer["token_type"] == "Bearer"
    assert WorkspaceClient(profile="fresh").current_user.me().user_name == ws.user

    assert _cli("auth", "logout", "--profile", "fresh").returncode == 0
    token = _cli("auth", "token", "--profile", "fresh")
    assert token.returncode == 1
    assert token.stderr.startswith(
        "Error: cache: databricks OAuth is not configured for this host. Try logging in again "
        "with `databricks auth login --profile fresh` before retrying."
    )

    unreachable = _cli("auth", "login", "--host", "http://127.0.0.1:9", "--profile", "typo")
    assert unreachable.returncode == 1 and "[typo]" not in ws.config_file.read_text("utf-8")


def test_newer_cli_login_records_a_default_profile(
    databricks_workspace: StandinWorkspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Recent CLIs write a reserved `[__settings__]` section: profile readers must skip it."""
    from databricks.sdk import WorkspaceClient

    ws = databricks_workspace
    fake_cli.install_fake_cli(tmp_path / "newer", token=ws.token, write_settings_section=True)
    monkeypatch.setenv("PATH", f"{tmp_path / 'newer'}{os.pathsep}{os.environ['PATH']}")
    config_file = tmp_path / "elsewhere.cfg"
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config_file))
    assert _cli("auth", "login", "--host", ws.host, "--profile", "first").returncode == 0
    assert "[__settings__]\ndefault_profile = first\n" in config_file.read_text("utf-8")
    assert WorkspaceClient(profile="first").current_user.me().user_name == ws.user


def test_a_profile_works_with_the_cli_found_on_path(
    databricks_workspace: StandinWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user has after installing the CLI: no DATABRICKS_CLI_PATH, `databricks` on PATH."""
    from claudetracing.setup import databricks

    ws = databricks_workspace
    monkeypatch.delenv("DATABRICKS_CLI_PATH")
    assert databricks.require_cli() == str(ws.cli_path)
    profile = next(p for p in databricks.read_profiles() if p.name == ws.profile)
    assert databricks.current_user(profile) == ws.user


def _legacy_cli(folder: Path) -> Path:
    """A stand-in for the legacy pip `databricks-cli`: no `version` command, no OAuth."""
    folder.mkdir()
    script = folder / "databricks"
    script.write_text(
        f"#!{sys.executable}\n"
        "# from databricks_cli.cli import cli  (what the legacy package's entry point imports)\n"
        "import sys\n"
        'sys.stderr.write("Usage: databricks [OPTIONS] COMMAND [ARGS]...\\n'
        "Error: No such command 'version'.\\n\")\n"
        "sys.exit(2)\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def test_a_legacy_or_missing_cli_is_named_with_the_fix(
    databricks_workspace: StandinWorkspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from claudetracing.core.errors import TracesError
    from claudetracing.setup import databricks

    monkeypatch.delenv("DATABRICKS_CLI_PATH")
    legacy = _legacy_cli(tmp_path / "legacy")
    monkeypatch.setenv("PATH", f"{legacy.parent}{os.pathsep}/usr/bin{os.pathsep}/bin")
    with pytest.raises(TracesError) as caught:
        databricks.require_cli()
    assert str(legacy) in caught.value.message and "databricks-cli" in caught.value.message
    assert "install" in (caught.value.hint or "")

    monkeypatch.setenv("PATH", f"/usr/bin{os.pathsep}/bin")
    with pytest.raises(TracesError, match="the Databricks CLI is not installed"):
        databricks.require_cli()
    # An explicit DATABRICKS_CLI_PATH wins over PATH, as it does for the SDK.
    monkeypatch.setenv("DATABRICKS_CLI_PATH", str(databricks_workspace.cli_path))
    assert databricks.require_cli() == str(databricks_workspace.cli_path)


def test_unreachable_host_fails_fast_only_with_small_retry_timeouts(
    databricks_workspace: StandinWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    ws = databricks_workspace
    ws.stop()
    started = time.monotonic()
    config = Config(profile=ws.profile, retry_timeout_seconds=2)  # host metadata: warns, moves on
    configured = time.monotonic() - started
    with pytest.raises(TimeoutError, match=r"^Timed out after 0:00:02$"):
        WorkspaceClient(config=config).current_user.me()
    elapsed = time.monotonic() - started
    print(f"unreachable: Config() {configured:.1f}s, Config() + me() {elapsed:.1f}s")
    # Each retry loop overshoots its budget by up to one back-off sleep (1-2 s, then 2-3 s).
    assert elapsed < 15, elapsed
    ws.start()  # same port, same folders and store
    assert WorkspaceClient(profile=ws.profile).current_user.me().user_name == ws.user


def test_unknown_routes_are_answered_and_recorded(databricks_workspace: StandinWorkspace) -> None:
    request = urllib.request.Request(
        f"{databricks_workspace.host}/api/2.0/clusters/list",
        headers={"Authorization": f"Bearer {databricks_workspace.token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 404
    assert json.loads(caught.value.read())["error_code"] == "ENDPOINT_NOT_FOUND"
    assert databricks_workspace.unknown_routes() == [("GET", "/api/2.0/clusters/list")]
    databricks_workspace.clear_requests()  # expected here: keep the fixture's warning quiet


# ---- MLflow against databricks://dev ----------------------------------------------------


def test_experiment_needs_an_absolute_path_in_an_existing_folder(
    databricks_workspace: StandinWorkspace, mlflow_dev: Any
) -> None:
    from databricks.sdk import WorkspaceClient

    ws = databricks_workspace
    mlflow = mlflow_dev
    folder = f"{_home_folder(ws)}/claude-code"
    name = f"{folder}/widgets"

    message = _error_text(lambda: mlflow.set_experiment(name))
    assert f"RESOURCE_DOES_NOT_EXIST: Parent directory {folder} does not exist." in message
    message = _error_text(lambda: mlflow.set_experiment("widgets"))
    assert "INVALID_PARAMETER_VALUE: Got an invalid experiment name 'widgets'" in message

    client = WorkspaceClient(profile=ws.profile)
    client.workspace.mkdirs(folder)
    experiment = mlflow.set_experiment(name)
    assert experiment.name == name
    assert (
        experiment.artifact_location
        == f"dbfs:/databricks/mlflow-tracking/{experiment.experiment_id}"
    )
    # The SDK's ObjectType enum has no MLFLOW_EXPERIMENT: get_status() reports None for it.
    assert client.workspace.get_status(name).object_type is None
    status = client.api_client.do("GET", "/api/2.0/workspace/get-status", query={"path": name})
    assert isinstance(status, dict)
    assert status["object_type"] == "MLFLOW_EXPERIMENT"
    assert str(status["object_id"]) == experiment.experiment_id

    # A `/Workspace` prefix is dropped when the experiment is created, so looking the same name
    # up again misses it: the name must be normalized before MLflow sees it.
    created = mlflow.MlflowClient().create_experiment(f"/Workspace{folder}/gadgets")
    assert mlflow.MlflowClient().get_experiment(created).name == f"{folder}/gadgets"
    assert mlflow.MlflowClient().get_experiment_by_name(f"/Workspace{folder}/gadgets") is None

    assert ws.unknown_routes() == []
    routes = set(ws.routes())
    assert {
        ("GET", "/api/2.0/mlflow/experiments/get-by-name"),
        ("POST", "/api/2.0/mlflow/experiments/create"),
        ("GET", "/api/2.0/mlflow/experiments/get"),
    } <= routes


def test_trace_round_trip(databricks_workspace: StandinWorkspace, mlflow_dev: Any) -> None:
    from databricks.sdk import WorkspaceClient

    ws = databricks_workspace
    mlflow = mlflow_dev
    folder = f"{_home_folder(ws)}/claude-code"
    WorkspaceClient(profile=ws.profile).workspace.mkdirs(folder)
    experiment = mlflow.set_experiment(f"{folder}/widgets")
    ws.clear_requests()

    span = mlflow.start_span_no_context("turn", inputs={"prompt": "hi"})
    span.set_outputs({"answer": "hello"})
    span.end()
    trace_id = span.trace_id
    # Synchronous export (MLFLOW_ENABLE_ASYNC_TRACE_LOGGING=false): uploaded when end() returns.
    assert ws.blob(trace_id).is_file()
    assert ws.routes() == [
        ("GET", "/api/2.0/mlflow/experiments/get"),  # the active experiment, looked up again
        ("POST", "/api/3.0/mlflow/traces"),
        ("GET", f"/api/2.0/mlflow/traces/{trace_id}/credentials-for-data-upload"),
        ("PUT", f"/_standin/blobs/traces/{trace_id}/traces.json"),
    ]

    ws.clear_requests()
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    assert [s.name for s in trace.data.spans] == ["turn"]
    assert trace.info.tags["mlflow.artifactLocation"] == (
        f"dbfs:/databricks/mlflow-tracking/{experiment.experiment_id}/{trace_id}/artifacts"
    )
    assert ws.routes() == [
        ("GET", "/api/2.0/mlflow/experiments/get"),
        ("GET", f"/api/3.0/mlflow/traces/{trace_id}"),
        ("GET", f"/api/2.0/mlflow/traces/{trace_id}/credentials-for-data-download"),
        ("GET", f"/_standin/blobs/traces/{trace_id}/traces.json"),
    ]

    client = mlflow.MlflowClient()
    ws.clear_requests()
    client.set_trace_tag(trace_id, "k", "v")
    assert ws.routes() == [("PATCH", f"/api/2.0/mlflow/traces/{trace_id}/tags")]

    ws.clear_requests()
    found = client.search_traces(
        locations=[experiment.experiment_id], filter_string="tags.`k` = 'v'"
    )
    assert [t.info.trace_id for t in found] == [trace_id]
    assert found[0].data.spans[0].outputs == {"answer": "hello"}
    assert ws.routes()[:2] == [
        ("POST", "/api/4.0/mlflow/traces/search-long-running"),
        ("POST", "/api/3.0/mlflow/traces/search"),
    ]
    missing = client.search_traces(
        locations=[experiment.experiment_id], filter_string="tags.`k` = 'other'"
    )
    assert list(missing) == []

    ws.clear_requests()
    assert client.delete_traces(experiment.experiment_id, trace_ids=[trace_id]) == 1
    assert ws.routes() == [("POST", "/api/2.0/mlflow/traces/delete-traces")]
    assert list(client.search_traces(locations=[experiment.experiment_id])) == []
    assert ws.unknown_routes() == []


def test_mlflow_with_logged_out_profile_sends_no_credentials(
    databricks_workspace: StandinWorkspace, mlflow_dev: Any, caplog: pytest.LogCaptureFixture
) -> None:
    databricks_workspace.log_out()
    message = _error_text(lambda: mlflow_dev.MlflowClient().get_experiment_by_name("/Users/x/y"))
    # MLflow logs the SDK's failure, falls back to "legacy" auth, which finds no token in the
    # OAuth profile, and sends the request without one: the error is the workspace's 401.
    assert message == (
        "UNAUTHENTICATED: Credential was not sent or was of an unsupported type for this API."
    )
    warning = "Failed to create databricks SDK workspace client"
    assert any(
        warning in r.message and "cannot configure default credentials" in r.message
        for r in caplog.records
    )
    assert databricks_workspace.requests()[-1]["status"] == 401


def test_mlflow_fails_fast_on_unreachable_host_with_both_knobs(
    databricks_workspace: StandinWorkspace, mlflow_dev: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = databricks_workspace
    with ws.config_file.open("a", encoding="utf-8") as config:
        config.write("retry_timeout_seconds = 2\n")  # appended to the last profile: `dev`
    monkeypatch.setenv("MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT", "2")
    ws.stop()
    started = time.monotonic()
    # Three bounded waits: the SDK client MLflow builds per call for host credentials (bounded by
    # the profile key), then its cached client's setup and the request itself (the env var).
    with pytest.raises(TimeoutError, match=r"^Timed out after 0:00:02$"):
        mlflow_dev.MlflowClient().get_experiment_by_name("/Users/x/y")
    elapsed = time.monotonic() - started
    print(f"unreachable through MLflow: {elapsed:.1f}s")
    assert elapsed < 25, elapsed
