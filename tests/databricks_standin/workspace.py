"""A stand-in Databricks workspace: the real MLflow tracking server behind a WSGI shim that answers
the Databricks-only routes itself (run as `python -m tests.databricks_standin.workspace`)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http
import io
import json
import logging
import os
import posixpath
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from tests.databricks_standin import limits, uc_traces

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
Json = dict[str, Any]

WORKSPACE_ID = "1234567890123456"
ACCOUNT_ID = "8f1c5c6e-0c1a-4d5e-9f00-0000000000a1"
ARTIFACT_LOCATION_TAG = "mlflow.artifactLocation"
BLOB_PREFIX = "/_standin/blobs/"
SIGNED_URL_TTL_SECONDS = 900
# Folders every workspace has; a user's home folder exists as soon as the user does.
BUILTIN_FOLDERS = ("/", "/Users", "/Shared", "/Repos")

_TRACE_CREDENTIALS = re.compile(
    r"^/api/2\.0/mlflow/traces/(?P<trace_id>[^/]+)/credentials-for-data-(?P<kind>upload|download)$"
)
_TRACE_ID = re.compile(r"^tr-[0-9a-f]{8,64}$")

log = logging.getLogger("databricks_standin")


class ShimError(Exception):
    """A Databricks-style JSON error: HTTP status, `error_code`, `message`."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def normalize_workspace_path(path: str) -> str:
    """The path Databricks stores: `/Workspace` prefix dropped, `//` collapsed, no trailing `/`."""
    collapsed = re.sub(r"/{2,}", "/", path)
    if collapsed == "/Workspace" or collapsed.startswith("/Workspace/"):
        collapsed = collapsed[len("/Workspace") :] or "/"
    if len(collapsed) > 1:
        collapsed = collapsed.rstrip("/")
    return collapsed


def _status_line(status: int) -> str:
    return f"{status} {http.HTTPStatus(status).phrase}"


def _read_body(environ: Environ) -> bytes:
    """Read the whole request body and put an equivalent stream back for whoever reads next."""
    stream = environ["wsgi.input"]
    body: bytes
    if environ.get("wsgi.input_terminated"):
        body = stream.read()  # chunked upload, already de-chunked by the server
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = stream.read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)
    return body


class DatabricksShim:
    """WSGI middleware: Databricks-only routes are answered here, the rest by the MLflow app."""

    def __init__(
        self,
        mlflow_app: Any,
        *,
        root: Path,
        token: str,
        user: str,
        max_traces: int = limits.DEFAULT_MAX_TRACES,
    ) -> None:
        self.mlflow_app = mlflow_app
        self.max_traces = max_traces
        self.root = root
        self.user = user
        self.token = token
        self.blobs = root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tokens_file = root / "tokens.json"
        self.folders_file = root / "folders.json"
        self.requests_file = root / "requests.jsonl"
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._folders: dict[str, int] = self._load_folders()
        self._issued: dict[str, str] = {}  # OAuth M2M tokens handed out by /oidc/v1/token

    # ---- state -------------------------------------------------------------------------

    def _load_folders(self) -> dict[str, int]:
        # Kept on disk so a restarted workspace (same root) still has the folders made before.
        if self.folders_file.exists():
            stored = json.loads(self.folders_file.read_text(encoding="utf-8"))
            return {str(k): int(v) for k, v in stored.items()}
        folders: dict[str, int] = {}
        for path in (*BUILTIN_FOLDERS, f"/Users/{self.user}"):
            folders[path] = 1000 + len(folders)
        self._save_folders(folders)
        return folders

    def _save_folders(self, folders: dict[str, int]) -> None:
        tmp = self.folders_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(folders, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.folders_file)

    def _registry(self) -> Json:
        """PATs (`tokens`: token → user) and service principals (`clients`: id → secret, user)
        that the fixture registers while the server runs."""
        if not self.tokens_file.exists():
            return {}
        registry: Json = json.loads(self.tokens_file.read_text(encoding="utf-8"))
        return registry

    def _tokens(self) -> dict[str, str]:
        """Bearer token → user: the CLI's OAuth token, registered PATs, issued M2M tokens."""
        tokens = {self.token: self.user, **self._issued}
        tokens.update(self._registry().get("tokens", {}))
        return tokens

    def _record(self, method: str, path: str, query: str, status: int, handler: str) -> None:
        entry = {"method": method, "path": path, "query": query, "status": status, "by": handler}
        with self._lock, self.requests_file.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")

    # ---- WSGI entry point --------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "") or "/"
        query = environ.get("QUERY_STRING", "")
        body = _read_body(environ)
        try:
            status, headers, payload, handler = self._dispatch(environ, method, path, body)
        except (ShimError, limits.LimitError) as err:
            (status, headers, payload), handler = self._error(err), "shim"
        except Exception:
            log.exception("stand-in failure on %s %s", method, path)
            failure = ShimError(500, "INTERNAL_ERROR", f"stand-in failure on {method} {path}")
            (status, headers, payload), handler = self._error(failure), "shim"
        if handler == "unknown":
            log.warning("UNKNOWN ROUTE (not Databricks, not MLflow): %s %s", method, path)
        self._record(method, path, query, status, handler)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(payload))))
        start_response(_status_line(status), headers)
        return [payload]

    @staticmethod
    def _json(
        status: int, payload: Json, extra: Iterable[tuple[str, str]] = ()
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        return status, [("Content-Type", "application/json"), *extra], json.dumps(payload).encode()

    def _error(
        self, err: ShimError | limits.LimitError
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        return self._json(err.status, {"error_code": err.error_code, "message": err.message})

    def _dispatch(
        self, environ: Environ, method: str, path: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes, str]:
        if path == "/.well-known/databricks-config" and method == "GET":
            # Unauthenticated on real workspaces: the SDK reads it before it has credentials.
            host = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', '')}"
            meta = {
                "oidc_endpoint": f"{host}/oidc",
                "workspace_id": WORKSPACE_ID,
                "account_id": ACCOUNT_ID,
                "cloud": "AWS",
            }
            return (*self._json(200, meta), "shim")
        if path == "/oidc/.well-known/oauth-authorization-server" and method == "GET":
            host = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', '')}"
            endpoints = {
                "issuer": f"{host}/oidc",
                "authorization_endpoint": f"{host}/oidc/v1/authorize",
                "token_endpoint": f"{host}/oidc/v1/token",
            }
            return (*self._json(200, endpoints), "shim")
        if path == "/oidc/v1/token" and method == "POST":
            return (*self._client_credentials(environ, body), "shim")
        if path.startswith(BLOB_PREFIX):
            # Signed URLs carry their own credential (like S3 presigned URLs), never a bearer.
            return (*self._blob(environ, method, path, body), "blob")
        user = self._authenticate(environ)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        from . import unity_catalog  # Unity Catalog and SQL warehouse routes

        if (catalog := unity_catalog.handle(self.root, method, path, query, user)) is not None:
            return (*self._json(*catalog), "shim")
        try:
            uc_answer = uc_traces.answer(self, environ, user, method, path, body)
        except uc_traces.UcError as err:
            raise ShimError(err.status, err.error_code, err.message) from err
        if uc_answer is not None:  # Unity Catalog trace locations, OTLP spans, v4 reads
            return (*uc_answer, "shim")
        if path.startswith("/api/4.0/"):
            # What a workspace without the v4 tracing service answers; MLflow falls back to v3.
            raise ShimError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        if path == "/api/2.0/preview/scim/v2/Me" and method == "GET":
            return (
                *self._json(200, self._scim_me(user), [("x-databricks-org-id", WORKSPACE_ID)]),
                "shim",
            )
        if path == "/api/2.0/workspace/mkdirs" and method == "POST":
            return (*self._mkdirs(user, self._body_json(body)), "shim")
        if path == "/api/2.0/workspace/get-status" and method == "GET":
            return (*self._get_status(_one(query, "path")), "shim")
        if path == "/api/2.0/workspace/list" and method == "GET":
            return (*self._list(_one(query, "path")), "shim")
        if match := _TRACE_CREDENTIALS.match(path):
            if method != "GET":
                raise ShimError(405, "BAD_REQUEST", f"{method} not allowed on {path}")
            cred = self._trace_credentials(environ, match["trace_id"], match["kind"], query)
            return (*cred, "shim")
        if path == limits.START_TRACE and method == "POST":
            limits.check_trace_cap(self.root / "mlflow.db", body, self.max_traces)
        if path == "/api/2.0/mlflow/experiments/create" and method == "POST":
            request = self._body_json(body)
            request["name"] = self._validate_experiment_name(str(request.get("name", "")))
            _replace_body(environ, request)
        elif path == "/api/2.0/mlflow/experiments/update" and method == "POST":
            request = self._body_json(body)
            if request.get("new_name"):
                request["new_name"] = self._validate_experiment_name(str(request["new_name"]))
                _replace_body(environ, request)
        return self._forward(environ, method, path)

    # ---- auth and identity -------------------------------------------------------------

    def _authenticate(self, environ: Environ) -> str:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise ShimError(
                401,
                "UNAUTHENTICATED",
                "Credential was not sent or was of an unsupported type for this API.",
            )
        kind, _, token = header.partition(" ")
        user = self._tokens().get(token) if kind.lower() == "bearer" else None
        if user is None and kind.lower() == "bearer":
            user = limits.short_lived_user(token, self.token, self.user)
        if user is None:
            raise ShimError(401, "UNAUTHENTICATED", "Invalid access token.")
        home = f"/Users/{user}"
        if home not in self._folders:
            # A workspace creates the home folder with the user; PAT users come in later here.
            with self._lock:
                self._folders = {**self._folders, home: 1000 + len(self._folders)}
                self._save_folders(self._folders)
        return user

    def _client_credentials(
        self, environ: Environ, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """OAuth M2M: a service principal trades its id and secret for an access token."""
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        kind, _, encoded = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if kind.lower() == "basic":
            decoded = base64.b64decode(encoded).decode()
            client_id, _, secret = decoded.partition(":")
        client = self._registry().get("clients", {}).get(client_id)
        if form.get("grant_type") != "client_credentials" or not client:
            return self._json(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        if not hmac.compare_digest(str(client["secret"]), secret):
            return self._json(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        token = f"standin-m2m-{secrets.token_hex(16)}"
        with self._lock:
            self._issued[token] = str(client["user"])
        answer = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": form.get("scope", "all-apis"),
        }
        return self._json(200, answer)

    @staticmethod
    def _scim_me(user: str) -> Json:
        local = user.split("@", 1)[0]
        return {
            "id": "7000000000000001",
            "userName": user,
            "displayName": local.replace(".", " ").title(),
            "active": True,
            "emails": [{"value": user, "type": "work", "primary": True}],
            "name": {"givenName": local.title()},
            "groups": [{"display": "users", "type": "direct", "value": "6000000000000001"}],
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:workspace:2.0:User",
            ],
        }

    # ---- workspace tree ----------------------------------------------------------------

    @staticmethod
    def _body_json(body: bytes) -> Json:
        try:
            parsed = json.loads(body or b"{}")
        except ValueError as err:
            raise ShimError(
                400, "MALFORMED_REQUEST", f"Invalid JSON in request body: {err}"
            ) from err
        if not isinstance(parsed, dict):
            raise ShimError(400, "MALFORMED_REQUEST", "Request body must be a JSON object.")
        return parsed

    def _experiment_by_name(self, name: str) -> Json | None:
        status, answer = self._internal(
            "GET", "/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": name}
        )
        return answer.get("experiment") if status == 200 else None

    def _mkdirs(self, user: str, request: Json) -> tuple[int, list[tuple[str, str]], bytes]:
        raw = str(request.get("path", ""))
        if not raw.startswith("/"):
            raise ShimError(400, "INVALID_PARAMETER_VALUE", f"Path ({raw}) doesn't start with '/'")
        path = normalize_workspace_path(raw)
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "Users" and parts[1] != user:
            # Someone else's home folder: not writable without a grant (not modelled here).
            raise ShimError(
                403,
                "PERMISSION_DENIED",
                f"User {user} does not have Manage permissions on /Users/{parts[1]}.",
            )
        with self._lock:
            folders = dict(self._folders)
            current = ""
            for index, part in enumerate(parts):
                current = f"{current}/{part}"
                if current in folders:
                    continue
                if index == 1 and parts[0] == "Users":
                    # Only the workspace creates home folders (observed: DIRECTORY_PROTECTED).
                    raise ShimError(400, "DIRECTORY_PROTECTED", "Folder Users is protected")
                if self._experiment_by_name(current) is not None:
                    raise ShimError(
                        400, "RESOURCE_ALREADY_EXISTS", f"Node named '{part}' already exists"
                    )
                folders[current] = 1000 + len(folders)
            self._folders = folders
            self._save_folders(folders)
        return self._json(200, {})

    def _get_status(self, raw: str) -> tuple[int, list[tuple[str, str]], bytes]:
        path = normalize_workspace_path(raw)
        if path in self._folders:
            object_id = self._folders[path]
            info = {"object_type": "DIRECTORY", "path": path, "object_id": object_id}
            return self._json(200, {**info, "resource_id": str(object_id)})
        experiment = self._experiment_by_name(path)
        if experiment is not None and experiment.get("lifecycle_stage") != "deleted":
            exp_id = str(experiment["experiment_id"])
            info = {"object_type": "MLFLOW_EXPERIMENT", "path": path, "object_id": int(exp_id)}
            return self._json(200, {**info, "resource_id": exp_id})
        raise ShimError(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")

    def _list(self, raw: str) -> tuple[int, list[tuple[str, str]], bytes]:
        path = normalize_workspace_path(raw)
        if path not in self._folders:
            self._get_status(path)  # 404 for a missing path, same as get-status
            raise ShimError(400, "INVALID_PARAMETER_VALUE", f"Path ({path}) is not a directory.")
        objects: list[Json] = [
            {"object_type": "DIRECTORY", "path": p, "object_id": i, "resource_id": str(i)}
            for p, i in sorted(self._folders.items())
            if p != path and posixpath.dirname(p) == path
        ]
        status, answer = self._internal(
            "POST", "/api/2.0/mlflow/experiments/search", body={"max_results": 50000}
        )
        for experiment in answer.get("experiments", []) if status == 200 else []:
            name = str(experiment.get("name", ""))
            if posixpath.dirname(name) == path:
                exp_id = str(experiment["experiment_id"])
                objects.append(
                    {
                        "object_type": "MLFLOW_EXPERIMENT",
                        "path": name,
                        "object_id": int(exp_id),
                        "resource_id": exp_id,
                    }
                )
        # Databricks leaves `objects` out entirely for an empty folder.
        return self._json(200, {"objects": objects} if objects else {})

    def _validate_experiment_name(self, name: str) -> str:
        normalized = normalize_workspace_path(name)
        if not normalized.startswith("/") or normalized == "/":
            raise ShimError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Got an invalid experiment name '{name}'. An experiment name must be an "
                "absolute path within the Databricks workspace, e.g. "
                "'/Users/<some-username>/my-experiment'.",
            )
        parent = posixpath.dirname(normalized)
        if parent not in self._folders:
            raise ShimError(
                404, "RESOURCE_DOES_NOT_EXIST", f"Parent directory {parent} does not exist."
            )
        if normalized in self._folders:
            leaf = posixpath.basename(normalized)
            raise ShimError(400, "RESOURCE_ALREADY_EXISTS", f"Node named '{leaf}' already exists")
        return normalized

    # ---- trace data: credentials and the signed-URL blob store -------------------------

    def _sign(self, key: str, expires: int) -> str:
        return hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def _trace_credentials(
        self, environ: Environ, trace_id: str, kind: str, query: dict[str, list[str]]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if not _TRACE_ID.match(trace_id):
            raise ShimError(400, "INVALID_PARAMETER_VALUE", f"Invalid trace ID: {trace_id}")
        status, _ = self._internal("GET", f"/api/3.0/mlflow/traces/{trace_id}")
        if status != 200:
            raise ShimError(
                404, "RESOURCE_DOES_NOT_EXIST", f"Trace with ID {trace_id} does not exist."
            )
        sub_path = query.get("path", [""])[0]
        if sub_path:
            parts = sub_path.split("/")
            if any(p in ("", ".", "..") for p in parts):
                raise ShimError(400, "INVALID_PARAMETER_VALUE", f"Invalid path: {sub_path}")
            key = f"traces/{trace_id}/{sub_path}"
        else:
            key = f"traces/{trace_id}/traces.json"
        expires = int(time.time()) + SIGNED_URL_TTL_SECONDS
        host = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', '')}"
        signed = (
            f"{host}{BLOB_PREFIX}{urllib.parse.quote(key)}"
            f"?X-Expires={expires}&X-Signature={self._sign(key, expires)}"
        )
        log.info("signed %s URL for %s", kind, key)
        return self._json(
            200, {"credential_info": {"signed_uri": signed, "type": "AWS_PRESIGNED_URL"}}
        )

    def _blob(
        self, environ: Environ, method: str, path: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        key = urllib.parse.unquote(path[len(BLOB_PREFIX) :])
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        expires_raw = _one(query, "X-Expires")
        signature = _one(query, "X-Signature")
        xml = [("Content-Type", "application/xml")]
        if not expires_raw.isdigit() or not hmac.compare_digest(
            signature, self._sign(key, int(expires_raw))
        ):
            return 403, xml, b"<Error><Code>SignatureDoesNotMatch</Code></Error>"
        if int(expires_raw) < time.time():
            return 403, xml, b"<Error><Code>AccessDenied</Code><Message>Request has expired"
        target = self.blobs / key
        if method == "PUT":
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(body)
            tmp.replace(target)
            return 200, [("ETag", f'"{hashlib.md5(body).hexdigest()}"')], b""
        if method in ("GET", "HEAD"):
            if not target.is_file():
                return 404, xml, b"<Error><Code>NoSuchKey</Code></Error>"
            data = target.read_bytes()
            return 200, [("Content-Type", "application/octet-stream")], data
        return 405, xml, b"<Error><Code>MethodNotAllowed</Code></Error>"

    # ---- the real MLflow server --------------------------------------------------------

    def _internal(
        self, method: str, path: str, query: dict[str, str] | None = None, body: Json | None = None
    ) -> tuple[int, Json]:
        """Ask the MLflow app directly, e.g. whether an experiment or a trace exists."""
        from werkzeug.test import Client

        client = Client(self.mlflow_app)
        answer = client.open(path, method=method, query_string=query, json=body)
        try:
            parsed = json.loads(answer.get_data() or b"{}")
        except ValueError:
            parsed = {}
        return answer.status_code, parsed if isinstance(parsed, dict) else {}

    def _forward(
        self, environ: Environ, method: str, path: str
    ) -> tuple[int, list[tuple[str, str]], bytes, str]:
        from werkzeug.exceptions import MethodNotAllowed, NotFound
        from werkzeug.routing import RequestRedirect

        try:
            self.mlflow_app.url_map.bind_to_environ(environ).match()
        except (NotFound, MethodNotAllowed):
            err = ShimError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
            return (*self._error(err), "unknown")
        except RequestRedirect:
            pass  # a trailing-slash redirect: let the real app answer it
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured[:] = [int(status.split()[0]), headers]

        chunks = self.mlflow_app(environ, capture)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers = captured
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if content_type.startswith("application/json") and payload:
            try:
                document = json.loads(payload)
            except ValueError:
                document = None
            if document is not None:
                _databricks_locations(document)
                payload = json.dumps(document).encode()
        return status, headers, payload, "mlflow"


def _one(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name) or [""]
    return values[0]


def _replace_body(environ: Environ, request: Json) -> None:
    body = json.dumps(request).encode()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _databricks_locations(node: Any, experiment_id: str | None = None) -> None:
    """Rewrite OSS artifact locations into the `dbfs:/databricks/mlflow-tracking/...` form that a
    workspace reports, so MLflow's client picks its Databricks artifact repository."""
    if isinstance(node, list):
        for item in node:
            _databricks_locations(item, experiment_id)
        return
    if not isinstance(node, dict):
        return
    exp = node.get("experiment_id")
    if not isinstance(exp, str):
        location = node.get("trace_location")
        mlflow_experiment = (
            location.get("mlflow_experiment") if isinstance(location, dict) else None
        )
        exp = (
            mlflow_experiment.get("experiment_id") if isinstance(mlflow_experiment, dict) else None
        )
    exp = exp if isinstance(exp, str) else experiment_id
    if exp is not None and isinstance(node.get("artifact_location"), str):
        node["artifact_location"] = f"dbfs:/databricks/mlflow-tracking/{exp}"
    run_id = node.get("run_id")
    if exp is not None and isinstance(run_id, str) and isinstance(node.get("artifact_uri"), str):
        node["artifact_uri"] = f"dbfs:/databricks/mlflow-tracking/{exp}/{run_id}/artifacts"
    trace_id = node.get("trace_id") or node.get("request_id")
    tags = node.get("tags")
    if exp is not None and isinstance(trace_id, str) and tags:
        location = f"dbfs:/databricks/mlflow-tracking/{exp}/{trace_id}/artifacts"
        if isinstance(tags, dict) and ARTIFACT_LOCATION_TAG in tags:
            tags[ARTIFACT_LOCATION_TAG] = location
        elif isinstance(tags, list):
            for tag in tags:
                if isinstance(tag, dict) and tag.get("key") == ARTIFACT_LOCATION_TAG:
                    tag["value"] = location
    for value in node.values():
        if isinstance(value, (dict, list)):
            _databricks_locations(value, exp)


def _configure_mlflow_server(root: Path) -> None:
    """Point `mlflow.server.app` at a SQLite store in `root`; must run before it is imported."""
    os.environ["_MLFLOW_SERVER_FILE_STORE"] = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["_MLFLOW_SERVER_REGISTRY_STORE"] = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = (root / "artifacts").as_uri()
    # No background job runner and no price catalog download (no internet in tests).
    os.environ["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    os.environ["MLFLOW_MODEL_CATALOG_URI"] = ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--root", required=True, help="folder for the store, blobs and logs")
    parser.add_argument("--token", required=True, help="the OAuth token the CLI hands out")
    parser.add_argument("--user", required=True, help="userName of the token's owner")
    parser.add_argument(
        "--max-traces",
        type=int,
        default=limits.DEFAULT_MAX_TRACES,
        help="traces an experiment may hold (a workspace's cap; tests lower it)",
    )
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _configure_mlflow_server(root)
    from mlflow.server import app as mlflow_app
    from werkzeug.serving import make_server

    shim = DatabricksShim(
        mlflow_app, root=root, token=args.token, user=args.user, max_traces=args.max_traces
    )
    server = make_server("127.0.0.1", args.port, shim, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it cannot run on the serving thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The tracking store is created on first use; do it now so "ready" really means ready.
    status, _ = shim._internal("GET", "/api/2.0/mlflow/experiments/get", {"experiment_id": "0"})
    if status != 200:
        log.error("the MLflow store did not answer (status %d)", status)
        return 1
    # Written last and atomically: the fixture treats this file as "ready to serve".
    ready = root / "server.json"
    tmp = ready.with_suffix(".tmp")
    tmp.write_text(json.dumps({"port": server.server_port, "pid": os.getpid()}), encoding="utf-8")
    tmp.replace(ready)
    log.info("stand-in workspace on http://127.0.0.1:%d (root %s)", server.server_port, root)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
