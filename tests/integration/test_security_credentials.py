"""Issue 16, sections 3 and 6: no credential in any file or output we write, no personal
access token on any path that signs in, and nothing sent that the user did not choose.

Each test drives the real `traces` executable (and the real detached exporter) under the
scratch HOME of the suite, then searches every file under it, the repository, and every output
for the secret."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.databricks_standin.fixtures import StandinWorkspace
from tests.sessions import copy_recorded
from tests.tracing import fire_hook, run_exporter, settings_env, stored_traces, traces

PASSWORD = f"pw{secrets.token_hex(12)}"
MASKED = "://***@"


class Recorder:
    """A loopback HTTP server that records every request (a CONNECT too: it serves as an HTTPS
    proxy) and answers each with `status` and `body`."""

    def __init__(self, status: int = 400, body: dict[str, object] | None = None) -> None:
        self.seen: list[tuple[str, str]] = []
        recorder = self
        payload = json.dumps(body or {}).encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                recorder.seen.append((self.command, self.path))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_CONNECT = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


def _files_holding(secret: str, *folders: Path) -> list[str]:
    """Every file under the folders whose bytes contain the secret."""
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    if secret.encode() in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    continue
    return found


def _outputs(*runs: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(run.stdout + run.stderr for run in runs)


def _spool_entries() -> list[dict[str, object]]:
    from claudetracing.capture import spool

    folders = (spool.PENDING, spool.FAILED)
    return [json.loads(p.read_text()) for f in folders for p in spool.entries(f)]


def test_init_refuses_a_password_in_the_tracking_uri_and_writes_nothing(
    repo: Path, isolated: Path, recorder: Recorder
) -> None:
    uri = f"{recorder.url.replace('://', f'://alice:{PASSWORD}@')}"
    done = traces("init", "--tracking-uri", uri, "--yes", "--no-verify", cwd=repo)

    assert done.returncode == 1, done.stderr
    assert f"--tracking-uri 'http{MASKED}127.0.0.1:" in done.stderr
    assert "MLFLOW_TRACKING_USERNAME" in done.stderr and "MLFLOW_TRACKING_PASSWORD" in done.stderr
    assert f"use {recorder.url} " in done.stderr  # the URI that works, said in the fix
    assert PASSWORD not in _outputs(done)
    assert not (repo / ".claude").exists()
    assert not (repo / ".gitignore").exists()
    assert recorder.seen == []
    assert _files_holding(PASSWORD, isolated.parent, repo) == []


@pytest.mark.parametrize(
    ("uri", "fix"),
    [
        (f"https://{PASSWORD}@mlflow.example.com", "MLFLOW_TRACKING_TOKEN"),
        (f"databricks://alice:{PASSWORD}@work", "databricks://PROFILE"),
        (f"postgresql://mlflow:{PASSWORD}@db.internal/mlflow", "PGPASSWORD"),
        (f"mysql+pymysql://mlflow:{PASSWORD}@db.internal/mlflow", "read_default_file"),
        (f"http://alice:{PASSWORD}/x@127.0.0.1:5000", "MLFLOW_TRACKING_PASSWORD"),
    ],
)
def test_init_refuses_every_kind_of_credential_in_a_uri(repo: Path, uri: str, fix: str) -> None:
    done = traces("init", "--tracking-uri", uri, "--dry-run", cwd=repo)

    assert done.returncode == 1, done.stderr
    assert fix in done.stderr
    assert MASKED in done.stderr and PASSWORD not in _outputs(done)


def test_a_path_with_an_at_sign_is_no_credential(repo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "me@example.com"
    folder.mkdir()
    done = traces("init", "--tracking-uri", f"sqlite:///{folder}/mlflow.db", "--dry-run", cwd=repo)

    assert done.returncode == 0, done.stderr
    assert f"tracking URI: sqlite:///{folder}/mlflow.db" in done.stderr


def test_a_password_uri_in_the_environment_is_refused_by_every_path_before_any_request(
    repo: Path, isolated: Path, tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = recorder.url.replace("://", f"://alice:{PASSWORD}@")
    monkeypatch.setenv("CLAUDETRACING_TRACKING_URI", uri)
    transcript = copy_recorded("tool_call", tmp_path / "session")

    imported = traces("import", str(transcript), cwd=repo)
    searched = traces("search", "--since", "1d", cwd=repo)
    assert fire_hook("Stop", transcript, repo).returncode == 0
    flushed = traces("flush", cwd=repo)
    exporter = run_exporter({"CLAUDETRACING_GIVE_UP_AFTER": "0s"})
    status = traces("status", cwd=repo)
    as_json = traces("status", "--json", cwd=repo)

    for refused in (imported, searched):
        assert refused.returncode == 1, refused.stderr
        assert f"CLAUDETRACING_TRACKING_URI 'http{MASKED}127.0.0.1:" in refused.stderr
        assert "MLFLOW_TRACKING_PASSWORD" in refused.stderr
    assert flushed.returncode == 1
    assert "has credentials in it" in flushed.stderr
    assert "MLFLOW_TRACKING_USERNAME" in flushed.stderr
    assert exporter.returncode == 0
    # The exporter refused too: the entry gave up with the reason, which status names.
    assert "has credentials in it" in status.stdout + status.stderr
    assert f"http{MASKED}127.0.0.1:" in status.stdout
    assert recorder.seen == []  # not one request, from any of them
    assert PASSWORD not in _outputs(imported, searched, flushed, exporter, status, as_json)
    assert _files_holding(PASSWORD, isolated.parent, repo) == []
    assert all(PASSWORD not in json.dumps(entry) for entry in _spool_entries())


def test_an_mlflow_error_echoing_a_uri_never_leaks_its_password(
    repo: Path, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URI we are given is clean; the server's answer names one with a password (a
    misconfigured store behind it), and MLflow puts that text in its exception."""
    echoed = f"postgresql://mlflow:{PASSWORD}@db.internal:5432/mlflow"
    body = {"error_code": "INVALID_PARAMETER_VALUE", "message": f"cannot open {echoed}"}
    with Recorder(400, body) as server:
        monkeypatch.setenv("CLAUDETRACING_TRACKING_URI", server.url)
        transcript = copy_recorded("tool_call", tmp_path / "session")
        assert fire_hook("Stop", transcript, repo).returncode == 0
        exporter = run_exporter()
        flushed = traces("flush", cwd=repo)
        imported = traces("import", str(transcript), cwd=repo)
        status = traces("status", cwd=repo)
        as_json = traces("status", "--json", cwd=repo)
        searched = traces("search", "--since", "1d", cwd=repo)
        asked = len(server.seen)

    assert asked > 0  # the server was asked, and answered with the echo
    assert flushed.returncode == 1 and imported.returncode == 1 and searched.returncode == 1
    assert "postgresql://***@db.internal:5432/mlflow" in flushed.stderr
    assert "postgresql://***@db.internal" in status.stdout + status.stderr
    from claudetracing.core import paths

    log = (paths.data_dir() / "logs" / "exporter.log").read_text()
    assert "postgresql://***@db.internal" in log
    outputs = _outputs(exporter, flushed, imported, status, as_json, searched)
    assert PASSWORD not in outputs
    assert _files_holding(PASSWORD, isolated.parent, repo) == []


def _databricks_repo(
    repo: Path, ws: StandinWorkspace, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    monkeypatch.setenv("CLAUDETRACING_TRACKING_URI", f"databricks://{profile}")
    monkeypatch.setenv("CLAUDETRACING_EXPERIMENT", f"/Users/{ws.user}/claude-code/widgets")


@pytest.mark.server
def test_a_pat_profile_is_refused_fast_on_every_path_that_signs_in(
    repo: Path,
    isolated: Path,
    tmp_path: Path,
    databricks_workspace: StandinWorkspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = databricks_workspace
    token = ws.add_pat_profile("legacy")
    _databricks_repo(repo, ws, monkeypatch, "legacy")
    transcript = copy_recorded("tool_call", tmp_path / "session")
    ws.clear_requests()
    login = f"databricks auth login --host {ws.host} --profile legacy"

    runs = {}
    for name, args in (
        ("import", ("import", str(transcript))),
        ("search", ("search", "--since", "1d")),
        ("usage", ("usage",)),
        ("show", ("show", "tr-0123456789abcdef0123456789abcdef")),
        ("list", ("list",)),
    ):
        started = time.monotonic()
        runs[name] = traces(*args, cwd=repo, timeout=60)
        assert time.monotonic() - started < 20, name
    assert fire_hook("Stop", transcript, repo).returncode == 0
    started = time.monotonic()
    runs["flush"] = traces("flush", cwd=repo, timeout=60)
    assert time.monotonic() - started < 20
    exporter = run_exporter()

    for name, done in runs.items():
        assert done.returncode == 1, (name, done.stderr)
        assert "profile 'legacy' uses a personal access token" in done.stderr, name
        assert login in done.stderr, name
    entry = _spool_entries()[0]
    assert "personal access token" in str(entry["last_error"])
    assert ws.requests() == []  # refused before any request reached the workspace
    assert token not in _outputs(*runs.values(), exporter)
    assert _files_holding(token, isolated.parent / "ct-home", repo) == []


@pytest.mark.server
def test_a_databricks_token_in_the_environment_is_refused_by_commands(
    repo: Path,
    tmp_path: Path,
    databricks_workspace: StandinWorkspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = databricks_workspace
    _databricks_repo(repo, ws, monkeypatch, ws.profile)
    token = f"dapi{secrets.token_hex(16)}"
    monkeypatch.setenv("DATABRICKS_TOKEN", token)
    transcript = copy_recorded("tool_call", tmp_path / "session")
    ws.clear_requests()

    imported = traces("import", str(transcript), cwd=repo, timeout=60)
    searched = traces("search", "--since", "1d", cwd=repo, timeout=60)
    init = traces("init", "--profile", ws.profile, "--yes", cwd=repo, timeout=60)

    for done in (imported, searched, init):
        assert done.returncode == 1, done.stderr
        assert "DATABRICKS_TOKEN is set in the environment" in done.stderr
        assert "unset DATABRICKS_TOKEN" in done.stderr
        assert f"databricks auth login --host {ws.host} --profile {ws.profile}" in done.stderr
        assert token not in done.stdout + done.stderr
    assert ws.requests() == []
    assert not (repo / ".claude").exists()  # init refused before writing


@pytest.mark.server
def test_the_exporter_ignores_an_inherited_databricks_token_and_status_says_so(
    repo: Path, tmp_path: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    done = traces("init", "--profile", ws.profile, "--scope", "personal", "--yes", cwd=repo)
    assert done.returncode == 0, done.stderr
    transcript = copy_recorded("tool_call", tmp_path / "session")
    assert fire_hook("Stop", transcript, repo).returncode == 0
    # Claude Code was started from a shell holding a token the workspace does not accept.
    token = f"dapi{secrets.token_hex(16)}"
    inherited = {
        **settings_env(repo),
        "DATABRICKS_TOKEN": token,
        "DATABRICKS_HOST": "https://elsewhere.example.com",
    }
    assert run_exporter(inherited).returncode == 0

    assert _spool_entries() == []  # exported with the profile's OAuth login
    found = json.loads(traces("search", "--since", "30d", "-f", "json", cwd=repo).stdout)
    assert len(found) == 1
    status = traces("status", cwd=repo)
    assert "the exporter ignored DATABRICKS_HOST, DATABRICKS_TOKEN" in status.stderr
    assert "unset DATABRICKS_HOST, DATABRICKS_TOKEN where Claude Code starts" in status.stderr
    assert token not in status.stdout + status.stderr


# What makes MLflow switch its telemetry off by itself (CI, pytest): not the user's machine.
_TELEMETRY_OFF_BY_ITSELF = (
    "PYTEST_CURRENT_TEST",
    "GITHUB_ACTIONS",
    "CI",
    "CIRCLECI",
    "GITLAB_CI",
    "JENKINS_URL",
    "TRAVIS",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ARN",
    "BUILDKITE",
    "TEAMCITY_VERSION",
    "CLOUD_RUN_EXECUTION",
    "RUNBOT_HOST_URL",
    "RUNBOT_BUILD_NAME",
    "RUNBOT_WORKER_ID",
    "DO_NOT_TRACK",
    "MLFLOW_DISABLE_TELEMETRY",
)


def _as_a_user(proxy: Recorder) -> dict[str, str]:
    """The environment of a person's terminal, every request to the internet through `proxy`."""
    env = {k: v for k, v in os.environ.items() if k not in _TELEMETRY_OFF_BY_ITSELF}
    env.update(HTTPS_PROXY=proxy.url, HTTP_PROXY=proxy.url, https_proxy=proxy.url)
    env.update(http_proxy=proxy.url, NO_PROXY="", no_proxy="")
    return env


def test_a_real_export_sends_no_mlflow_telemetry(
    repo: Path, isolated: Path, tmp_path: Path, local_store: Path, recorder: Recorder
) -> None:
    transcript = copy_recorded("tool_call", tmp_path / "session")
    env = _as_a_user(recorder)
    assert fire_hook("Stop", transcript, repo).returncode == 0
    exporter = subprocess.run(
        [sys.executable, "-m", "claudetracing.export.worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    imported = traces("import", str(transcript), cwd=repo, env=env)

    assert exporter.returncode == 0 and imported.returncode == 0, imported.stderr
    from claudetracing.core import config as config_mod

    cfg = config_mod.load(repo)
    assert len(stored_traces(cfg.tracking_uri, cfg.experiment)) >= 1  # a real export ran
    assert not (isolated / ".config" / "mlflow" / "telemetry.json").exists()
    assert recorder.seen == []  # no request left the machine


def test_an_explicit_opt_in_is_left_to_mlflow(
    repo: Path, isolated: Path, tmp_path: Path, local_store: Path, recorder: Recorder
) -> None:
    """`MLFLOW_DISABLE_TELEMETRY=false` is the person's choice: MLflow's default comes back
    (and DO_NOT_TRACK=1 still wins over it)."""
    transcript = copy_recorded("tool_call", tmp_path / "session")
    env = {**_as_a_user(recorder), "MLFLOW_DISABLE_TELEMETRY": "false", "DO_NOT_TRACK": "1"}
    refused = traces("import", str(transcript), cwd=repo, env=env)
    assert refused.returncode == 0, refused.stderr
    assert not (isolated / ".config" / "mlflow" / "telemetry.json").exists()

    env.pop("DO_NOT_TRACK")
    chosen = traces("search", "--since", "30d", cwd=repo, env=env)
    assert chosen.returncode == 0, chosen.stderr
    assert (isolated / ".config" / "mlflow" / "telemetry.json").exists()
