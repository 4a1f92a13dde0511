"""The one module that talks to Databricks: profiles, the CLI, identity and workspace folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claudetracing.core import databricks_profiles
from claudetracing.core.errors import TracesError

# Profiles are read in core (every path that signs in checks them); named here as before.
OAUTH_M2M = databricks_profiles.OAUTH_M2M
OAUTH_U2M = databricks_profiles.OAUTH_U2M
OTHER = databricks_profiles.OTHER
OVERRIDING_ENV = databricks_profiles.OVERRIDING_ENV
PAT = databricks_profiles.PAT
Profile = databricks_profiles.Profile
config_file = databricks_profiles.config_file
login_command = databricks_profiles.login_command
overriding_env = databricks_profiles.overriding_env
read_profiles = databricks_profiles.read_profiles
refuse_unusable = databricks_profiles.refuse_unusable

TIMEOUT_S = 15  # what a person waits before being told the host is unreachable

CLI_PROBE_TIMEOUT_S = 10
INSTALL_HINT = "install it: https://docs.databricks.com/dev-tools/cli/install.html"


def _configured_cli() -> str | None:
    """Where a user points the SDK at the CLI: DATABRICKS_CLI_PATH, else `databricks` on PATH."""
    configured = os.environ.get("DATABRICKS_CLI_PATH")
    if configured:
        return shutil.which(configured) or (configured if Path(configured).is_file() else None)
    return shutil.which("databricks")


def _answers_version(cli: str) -> bool:
    """The Databricks CLI (the one that does OAuth) answers `version --output json` with its
    version numbers; the legacy pip `databricks-cli`, or anything else named so, does not."""
    try:
        done = subprocess.run(
            [cli, "version", "--output", "json"],
            capture_output=True,
            text=True,
            timeout=CLI_PROBE_TIMEOUT_S,
            check=False,
        )
        body = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return False
    return isinstance(body, dict) and isinstance(body.get("Major"), int)


def require_cli() -> str:
    """The Databricks CLI that OAuth logins need, asked whether it is one (not judged by its
    file: the SDK's own rules for that change between releases)."""
    found = _configured_cli()
    if not found:
        raise TracesError(
            "the Databricks CLI is not installed (needed for OAuth logins)",
            f"{INSTALL_HINT}, then run `databricks auth login`",
        )
    if not _answers_version(found):
        raise TracesError(
            f"{found} is not the Databricks CLI that does OAuth logins (it does not answer "
            "`databricks version --output json`; the legacy pip package `databricks-cli` does not)",
            f"{INSTALL_HINT} (and `pip uninstall databricks-cli`), or point "
            "DATABRICKS_CLI_PATH at it",
        )
    return found


def cli_problem() -> TracesError | None:
    """Why Databricks destinations cannot work on this machine (no usable CLI), else None."""
    try:
        require_cli()
    except TracesError as exc:
        return exc
    return None


def _client(profile: str) -> Any:
    """A workspace client on the process's one sign-in (`core/databricks_signin.py`): `init`
    asks who the user is, makes folders and creates the experiment with one CLI run."""
    from databricks.sdk import WorkspaceClient

    from claudetracing.core import databricks_signin

    return WorkspaceClient(config=databricks_signin.sign_in(profile, timeout_s=TIMEOUT_S).config)


def explain(exc: BaseException, profile: Profile) -> TracesError:
    """The SDK's errors, as messages with the command that fixes them."""
    from claudetracing.core import failures

    login = login_command(profile.host, profile.name)
    return failures.explain(exc, "workspace", profile=profile.name, host=profile.host, login=login)


def current_user(profile: Profile) -> str:
    """The workspace userName of the profile's login (proves auth and reachability)."""
    try:
        return str(_client(profile.name).current_user.me().user_name)
    except TracesError:
        raise
    except Exception as exc:
        raise explain(exc, profile) from exc


def mkdirs(profile: Profile, path: str) -> None:
    try:
        _client(profile.name).workspace.mkdirs(path)
    except Exception as exc:
        raise explain(exc, profile) from exc


def login(host: str, profile: str) -> None:
    """`databricks auth login` for the user (opens their browser)."""
    done = subprocess.run(
        [require_cli(), "auth", "login", "--host", host, "--profile", profile], check=False
    )
    if done.returncode != 0:
        raise TracesError(
            f"`databricks auth login` failed for {host}",
            f"run `{login_command(host, profile)}` yourself to see why",
        )


# ---- Unity Catalog, SQL warehouses and trace locations (for `init --uc`) --------------------
# One client per `init` run: each new client signs in again (a CLI run per client).


@dataclass(frozen=True)
class Warehouse:
    id: str
    name: str
    state: str  # RUNNING, STOPPED, STARTING, STOPPING, DELETING, DELETED
    serverless: bool = False


def client(profile: Profile) -> Any:
    """A signed-in workspace client for a run of several calls."""
    try:
        found = _client(profile.name)
        found.config.authenticate()
        return found
    except Exception as exc:
        raise explain(exc, profile) from exc


def error_code(exc: BaseException) -> str:
    """The Databricks `error_code` of an SDK error (`""` when it has none)."""
    return str(getattr(exc, "error_code", "") or "")


def _call(profile: Profile, what: Callable[[], Any], missing: tuple[str, ...] = ()) -> Any:
    """Run an SDK call; an error whose code is in `missing` is None, any other is explained."""
    try:
        return what()
    except Exception as exc:
        if error_code(exc) in missing:
            return None
        if error_code(exc) == "PERMISSION_DENIED":
            raise TracesError(
                f"Databricks refused: {exc}", "ask the owner or a workspace admin for access"
            ) from exc
        raise explain(exc, profile) from exc


def identity(profile: Profile, ws: Any) -> tuple[str, list[str]]:
    """The user's name and the principals whose grants are theirs (the user, their groups)."""
    me = _call(profile, ws.current_user.me)
    groups = [str(g.display) for g in (me.groups or []) if g.display]
    # Every workspace user is in `account users`; grants to it count for everyone.
    return str(me.user_name), [str(me.user_name), *groups, "account users"]


def catalogs(profile: Profile, ws: Any) -> list[str]:
    return sorted(str(c.name) for c in _call(profile, lambda: list(ws.catalogs.list())))


def schemas(profile: Profile, ws: Any, catalog: str) -> list[str]:
    """The schemas of `catalog` the user can see (none when they cannot use the catalog)."""
    found = _call(
        profile,
        lambda: list(ws.schemas.list(catalog_name=catalog)),
        missing=("PERMISSION_DENIED", "CATALOG_DOES_NOT_EXIST"),
    )
    return sorted(str(s.name) for s in found or [])


def effective_privileges(
    profile: Profile, ws: Any, kind: str, full_name: str, principals: list[str]
) -> set[str] | None:
    """Privileges `principals` hold on a catalog, schema or table, inherited ones included;
    None when the securable does not exist."""
    missing = ("CATALOG_DOES_NOT_EXIST", "SCHEMA_DOES_NOT_EXIST", "TABLE_DOES_NOT_EXIST")
    answer = _call(profile, lambda: ws.grants.get_effective(kind, full_name), missing)
    if answer is None:
        return None
    held: set[str] = set()
    for assignment in answer.privilege_assignments or []:
        if assignment.principal in principals:
            for item in assignment.privileges or []:
                privilege = item.privilege
                held.add(str(getattr(privilege, "value", privilege)))
    return held


def table_exists(profile: Profile, ws: Any, full_name: str) -> bool:
    answer = _call(profile, lambda: ws.tables.exists(full_name))
    return bool(answer.table_exists)


def _warehouse(info: Any) -> Warehouse:
    state = getattr(info.state, "value", info.state)
    return Warehouse(
        str(info.id), str(info.name), str(state or "UNKNOWN"), bool(info.enable_serverless_compute)
    )


def warehouses(profile: Profile, ws: Any) -> list[Warehouse]:
    return [_warehouse(w) for w in _call(profile, lambda: list(ws.warehouses.list()))]


def warehouse(profile: Profile, ws: Any, warehouse_id: str) -> Warehouse | None:
    info = _call(profile, lambda: ws.warehouses.get(warehouse_id), ("RESOURCE_DOES_NOT_EXIST",))
    return None if info is None else _warehouse(info)


def start_warehouse(profile: Profile, ws: Any, warehouse_id: str, timeout_s: float) -> Warehouse:
    """Start a stopped warehouse and wait until it runs."""
    from datetime import timedelta

    def start() -> Any:
        return ws.warehouses.start(warehouse_id).result(timeout=timedelta(seconds=timeout_s))

    return _warehouse(_call(profile, start))


def rest(
    profile: Profile,
    ws: Any,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    missing: tuple[str, ...] = (),
) -> dict[str, Any] | None:
    """A workspace REST call the SDK has no method for (MLflow's trace-location routes)."""
    answer = _call(profile, lambda: ws.api_client.do(method, path, body=body, query=query), missing)
    return None if answer is None else dict(answer or {})
