"""The one module that talks to Databricks: profiles, the CLI, identity and workspace folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
