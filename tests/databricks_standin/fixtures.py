"""Pytest fixtures for the stand-in Databricks workspace and the fake CLI (a pytest plugin)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from . import fake_cli, uc_state, uc_traces

__all__ = ["StandinWorkspace", "_standin_store_template", "databricks_workspace"]

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 15
DEFAULT_USER = "alice@example.com"
DEFAULT_PROFILE = "dev"


def _jwt_like(user: str) -> str:
    """An opaque token shaped like the JWTs Databricks issues (matters to redaction tests)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"sub": user, "scope": "all-apis offline_access", "iss": "standin", "exp": 4102444800}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(32)}"


def _clear_client_caches() -> None:
    """MLflow keeps one WorkspaceClient per profile for the whole process (lru_cache), holding
    the host and token it first saw; a later test's `dev` would otherwise reach an old port."""
    rest_utils = sys.modules.get("mlflow.utils.rest_utils")
    if rest_utils is not None:
        rest_utils.get_workspace_client.cache_clear()


class StandinWorkspace:
    """A running stand-in workspace, the profiles that point at it, and the fake CLI."""

    def __init__(
        self,
        root: Path,
        home: Path,
        *,
        user: str = DEFAULT_USER,
        profile: str = DEFAULT_PROFILE,
        store_template: Path | None = None,
        cli_version: tuple[int, int, int] = (0, 280, 0),
    ) -> None:
        self.root = root
        self.home = home
        self.user = user
        self.profile = profile
        self.token = _jwt_like(user)
        self.config_file = home / ".databrickscfg"
        self.cli_version = cli_version
        self.cli_path = fake_cli.install_fake_cli(
            root / "bin", token=self.token, version=cli_version
        )
        self.port = 0
        self.max_traces: int | None = None  # the stand-in's default cap unless set before start
        self.process: subprocess.Popen[bytes] | None = None
        self._store_template = store_template

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- process -------------------------------------------------------------------------

    def start(self) -> StandinWorkspace:
        """Start the server (again, on the same port after `stop`); returns when it serves."""
        server_root = self.root / "server"
        server_root.mkdir(parents=True, exist_ok=True)
        store = server_root / "mlflow.db"
        if self._store_template is not None and not store.exists():
            shutil.copy(self._store_template, store)  # skips seconds of schema migrations
        ready = server_root / "server.json"
        ready.unlink(missing_ok=True)
        # The server must not see the test's Databricks or MLflow settings.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "MLFLOW_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        command = [
            sys.executable,
            "-m",
            "tests.databricks_standin.workspace",
            "--root",
            str(server_root),
            "--token",
            self.token,
            "--user",
            self.user,
            "--port",
            str(self.port),
        ]
        if self.max_traces is not None:
            command += ["--max-traces", str(self.max_traces)]
        with (server_root / "server.log").open("ab") as server_log:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"stand-in workspace exited:\n{self.server_log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"stand-in workspace not ready in {START_TIMEOUT_SECONDS} s")
            time.sleep(0.1)
        self.port = int(json.loads(ready.read_text(encoding="utf-8"))["port"])
        with urllib.request.urlopen(f"{self.host}/.well-known/databricks-config", timeout=10):
            pass
        return self

    def stop(self) -> None:
        """Stop the server: the host becomes unreachable (connection refused) until `start`."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def server_log(self) -> str:
        path = self.root / "server" / "server.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # ---- what the clients did ------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        """Every request served: method, path, query, status, and `by` (shim, mlflow, blob,
        unknown)."""
        path = self.root / "server" / "requests.jsonl"
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def routes(self, *, include_discovery: bool = False) -> list[tuple[str, str]]:
        """(method, path) of each request, without the per-client well-known probe by default."""
        return [
            (r["method"], r["path"])
            for r in self.requests()
            if include_discovery or r["path"] != "/.well-known/databricks-config"
        ]

    def unknown_routes(self) -> list[tuple[str, str]]:
        """Requests neither the shim nor the MLflow server knows (answered 404)."""
        return [(r["method"], r["path"]) for r in self.requests() if r["by"] == "unknown"]

    def clear_cli_calls(self) -> None:
        (self.cli_path.parent / "databricks.calls.jsonl").unlink(missing_ok=True)

    def sign_ins(self) -> int:
        """How many times a client asked the CLI for a token (`databricks auth token`)."""
        return sum(1 for call in self.cli_calls() if call[:2] == ["auth", "token"])

    def short_lived_tokens(self, lifetime_s: float, profile: str | None = None) -> None:
        """From now on the login's access tokens expire `lifetime_s` after the CLI issued them
        and the workspace refuses them then; each refresh by the CLI issues a new one."""
        fake_cli.install_fake_cli(
            self.cli_path.parent,
            token=self.token,
            version=self.cli_version,
            token_lifetime_s=lifetime_s,
        )
        # The cached one has expired already: the next sign-in gets a token that starts its
        # short life then, not while the signing-in process is still starting.
        self._cache(profile or self.profile, fake_cli.short_lived_entry(-60, self.token))

    def clear_requests(self) -> None:
        (self.root / "server" / "requests.jsonl").unlink(missing_ok=True)

    def cli_calls(self) -> list[list[str]]:
        """Arguments of every run of the fake `databricks` CLI."""
        path = self.cli_path.parent / "databricks.calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def blob(self, trace_id: str) -> Path:
        """Where the stand-in's object store keeps a trace's span data (`traces.json`)."""
        return self.root / "server" / "blobs" / "traces" / trace_id / "traces.json"

    # ---- Unity Catalog: what an admin sets up, what the tracing routes stored -------------

    def _uc(self, change: Any) -> None:
        server_root = self.root / "server"
        state = uc_state.load(server_root)
        change(state)
        uc_state.save(server_root, state)  # the server re-reads it on every request

    def uc_state(self) -> dict[str, Any]:
        return uc_state.load(self.root / "server")

    def add_catalog(
        self, catalog: str, grants: dict[str, list[str]] | None = None, owner: str | None = None
    ) -> None:
        def change(state: dict[str, Any]) -> None:
            uc_state.add_catalog(state, catalog, grants)
            if owner:
                state["catalogs"][catalog]["owner"] = owner

        self._uc(change)

    def add_schema(
        self,
        catalog: str,
        schema: str,
        grants: dict[str, list[str]] | None = None,
        owner: str | None = None,
    ) -> None:
        """A schema (and its catalog) with grants, e.g. `{user: ["USE_CATALOG", ...]}`."""

        def change(state: dict[str, Any]) -> None:
            uc_state.add_schema(state, catalog, schema, grants)
            if owner:
                state["catalogs"][catalog]["schemas"][schema]["owner"] = owner

        self._uc(change)

    def grant_table(self, table: str, principal: str, privileges: list[str]) -> None:
        self._uc(lambda state: uc_state.grant_table(state, table, principal, privileges))

    def revoke_table(self, table: str, principal: str, privileges: list[str]) -> None:
        """Take privileges (and ownership, if `OWNERSHIP` is named) away on a table."""

        def change(state: dict[str, Any]) -> None:
            entry = state["tables"].setdefault(table, {"grants": {}})
            have = entry["grants"].get(principal, [])
            entry["grants"][principal] = [p for p in have if p not in privileges]
            if "OWNERSHIP" in privileges and entry.get("owner") == principal:
                entry["owner"] = "admins"

        self._uc(change)

    def add_warehouse(
        self,
        warehouse_id: str,
        name: str,
        state_name: str = "RUNNING",
        *,
        serverless: bool = False,
    ) -> None:
        self._uc(
            lambda state: uc_state.add_warehouse(
                state, warehouse_id, name, state_name, serverless=serverless
            )
        )

    def remove_warehouse(self, warehouse_id: str) -> None:
        self._uc(lambda state: state["warehouses"].pop(warehouse_id, None))

    def fail_otlp(self, unavailable: int = 0, answer_lost: int = 0) -> None:
        """The next OTLP requests fail with 503: `unavailable` ones store nothing,
        `answer_lost` ones are stored and the answer is lost."""
        faults = {"otlp_unavailable": unavailable, "otlp_answer_lost": answer_lost}
        (self.root / "server" / uc_traces.FAULTS_FILE).write_text(json.dumps(faults))

    def api(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """One JSON call to the workspace as the signed-in user: (status, answer)."""
        import urllib.error

        request = urllib.request.Request(
            f"{self.host}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def link_to_uc(self, experiment_name: str, location: str, warehouse_id: str) -> None:
        """What `mlflow.set_experiment(name, trace_location=UnityCatalog(...))` does for an
        existing experiment, through the same routes: create the location, link it."""
        catalog, schema, prefix = location.split(".")
        prefix_json = {"catalog_name": catalog, "schema_name": schema, "table_prefix": prefix}
        status, answer = self.api(
            "POST",
            "/api/5.0/mlflow/tracing/locations",
            {"uc_table_prefix": prefix_json, "sql_warehouse_id": warehouse_id},
        )
        assert status == 200, answer
        status, answer = self.api(
            "GET",
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name="
            + urllib.parse.quote(experiment_name),
        )
        assert status == 200, answer
        experiment_id = answer["experiment"]["experiment_id"]
        status, answer = self.api(
            "POST",
            f"/api/5.0/mlflow/experiments/{experiment_id}/trace-location:link",
            {"experiment_id": experiment_id, "uc_table_prefix": prefix_json},
        )
        assert status == 200, answer

    def uc_spans(self, location: str) -> list[dict[str, Any]]:
        """Rows of the location's `_otel_spans` table: `trace` and `span` ids (hex) and the
        OTLP span itself (`proto`, base64), in the order written."""
        path = self.root / "server" / uc_traces.STORE_FILE
        store = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        rows: list[dict[str, Any]] = store.get("rows", {}).get(f"{location}_otel_spans", [])
        return rows

    def uc_trace_infos(self, location: str) -> dict[str, dict[str, Any]]:
        """Trace infos stored at the location: otel trace id (hex) -> TraceInfo JSON."""
        path = self.root / "server" / uc_traces.STORE_FILE
        store = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        infos: dict[str, dict[str, Any]] = store.get("infos", {}).get(location, {})
        return infos

    def otel_requests(self) -> list[dict[str, Any]]:
        """Every OTLP request the workspace answered: table, content type, user, status,
        span count, trace ids (hex), error."""
        path = self.root / "server" / uc_traces.REQUESTS_FILE
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    # ---- profiles and login state --------------------------------------------------------

    def _append_profile(self, name: str, keys: dict[str, str]) -> None:
        body = "".join(f"{key} = {value}\n" for key, value in keys.items())
        existing = self.config_file.read_text(encoding="utf-8") if self.config_file.exists() else ""
        separator = "\n" if existing and not existing.endswith("\n\n") else ""
        self.config_file.write_text(f"{existing}{separator}[{name}]\n{body}", encoding="utf-8")

    def _cache(self, key: str, entry: dict[str, Any] | None) -> None:
        cache = fake_cli.read_token_cache()
        if entry is None:
            cache["tokens"].pop(key, None)
        else:
            cache["tokens"][key] = entry
        fake_cli.write_token_cache(cache)

    def add_oauth_profile(
        self, name: str, *, host: str | None = None, logged_in: bool = True
    ) -> None:
        """`[name]` with `auth_type = databricks-cli`, as `databricks auth login` leaves it."""
        self._append_profile(name, {"host": host or self.host, "auth_type": "databricks-cli"})
        if logged_in:
            self.log_in(name)

    def add_pat_profile(self, name: str, *, user: str | None = None) -> str:
        """`[name]` with a personal access token the workspace accepts; returns the token."""
        token = f"dapi{secrets.token_hex(16)}"
        self._register("tokens", token, user or self.user)
        self._append_profile(name, {"host": self.host, "token": token})
        return token

    def add_service_principal_profile(self, name: str) -> tuple[str, str]:
        """`[name]` with OAuth M2M `client_id`/`client_secret`; returns them."""
        client_id = str(uuid.uuid4())
        secret = f"dose{secrets.token_hex(16)}"
        self._register("clients", client_id, {"secret": secret, "user": client_id})
        keys = {"host": self.host, "client_id": client_id, "client_secret": secret}
        self._append_profile(name, keys)
        return client_id, secret

    def _register(self, kind: str, key: str, value: Any) -> None:
        path = self.root / "server" / "tokens.json"
        registry = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        registry.setdefault(kind, {})[key] = value
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(registry), encoding="utf-8")
        tmp.replace(path)  # the server re-reads this file on every request

    def log_in(self, profile: str | None = None) -> None:
        """What a finished `databricks auth login --profile P` leaves in the CLI's token cache."""
        self._cache(profile or self.profile, fake_cli.fresh_token_entry(self.token))

    def log_out(self, profile: str | None = None) -> None:
        """No cached token: `databricks auth token` fails as for a never-logged-in profile."""
        self._cache(profile or self.profile, None)

    def revoke_refresh_token(self, profile: str | None = None) -> None:
        """The access token has expired and its refresh token is no longer valid."""
        entry = fake_cli.fresh_token_entry(self.token)
        entry["expiry"] = fake_cli.expiry_text(datetime.now() - fake_cli.TOKEN_LIFETIME)
        entry["refresh_token"] = "revoked"
        self._cache(profile or self.profile, entry)


@pytest.fixture(scope="session")
def _standin_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow SQLite store for the stand-in, made once per session."""
    folder = tmp_path_factory.mktemp("standin-store")
    db = folder / "mlflow.db"
    code = "import mlflow,sys; mlflow.MlflowClient(sys.argv[1]).search_experiments()"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "MLFLOW_"))}
    subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{db}"],
        check=True,
        capture_output=True,
        cwd=folder,
        env=env,
        timeout=180,
    )
    return db


@pytest.fixture
def databricks_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _standin_store_template: Path
) -> Iterator[StandinWorkspace]:
    """A started stand-in workspace; `~/.databrickscfg` has the logged-in OAuth profile `dev`;
    the fake CLI is DATABRICKS_CLI_PATH and first on PATH."""
    home = Path(os.environ["HOME"])  # the suite's autouse fixture has made this a scratch folder
    workspace = StandinWorkspace(
        tmp_path / "databricks-standin", home, store_template=_standin_store_template
    )
    _clear_client_caches()
    legacy = sys.modules.get("mlflow.legacy_databricks_cli.configure.provider")
    if legacy is not None:
        # MLflow's fallback reader froze `~` when first imported, i.e. an earlier test's HOME.
        monkeypatch.setattr(legacy, "_home", str(home))
    workspace.start()
    try:
        workspace.add_oauth_profile(workspace.profile)
        monkeypatch.setenv("DATABRICKS_CLI_PATH", str(workspace.cli_path))
        monkeypatch.setenv("PATH", f"{workspace.cli_path.parent}{os.pathsep}{os.environ['PATH']}")
        yield workspace
    finally:
        workspace.stop()
        _clear_client_caches()
    unknown = workspace.unknown_routes()
    if unknown:
        warnings.warn(
            f"stand-in workspace got requests it does not implement: {unknown}", stacklevel=1
        )
