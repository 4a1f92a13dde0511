"""The one module that talks to Databricks: profiles, the CLI, identity and workspace folders."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claudetracing.core.errors import ConfigFileError, TracesError

OAUTH_U2M = "oauth"  # auth_type = databricks-cli: a person's browser login
OAUTH_M2M = "service-principal"  # client_id + client_secret
PAT = "personal-access-token"
OTHER = "other"
# Values that pick the workspace or credentials when set: they beat the chosen profile.
OVERRIDING_ENV = (
    "DATABRICKS_HOST",
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_AUTH_TYPE",
    "DATABRICKS_CONFIG_PROFILE",
    "DATABRICKS_USERNAME",
    "DATABRICKS_PASSWORD",
    "DATABRICKS_ACCOUNT_ID",
)
TIMEOUT_S = 15  # what a person waits before being told the host is unreachable


def config_file() -> Path:
    configured = os.environ.get("DATABRICKS_CONFIG_FILE")
    return Path(configured).expanduser() if configured else Path.home() / ".databrickscfg"


@dataclass
class Profile:
    name: str
    host: str | None
    kind: str
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.kind == OAUTH_U2M


def _kind(section: dict[str, str]) -> str:
    auth = section.get("auth_type", "").strip().lower()
    if "token" in section or auth == "pat":
        return PAT
    if section.get("client_id") and section.get("client_secret"):
        return OAUTH_M2M
    if auth == "databricks-cli":
        return OAUTH_U2M
    return OTHER


def read_profiles() -> list[Profile]:
    """Profiles of the Databricks config file; a file we cannot parse is an error, not empty."""
    path = config_file()
    if not path.exists():
        return []
    parser = configparser.ConfigParser(default_section="__no_default__", interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError, OSError) as exc:
        raise ConfigFileError(
            f"cannot read {path}: {exc}",
            f"fix {path}, or log in again with `databricks auth login`",
        ) from exc
    profiles = []
    for name in parser.sections():
        if name == "__settings__":  # the newest CLI keeps its own settings here: not a profile
            continue
        section = dict(parser[name])
        # Never keep a secret's value in memory longer than needed, and never show it.
        keys = {
            k: ("<set>" if k in ("token", "client_secret", "password") else v)
            for k, v in section.items()
        }
        profiles.append(Profile(name, section.get("host"), _kind(section), keys))
    return profiles


def login_command(host: str | None, profile: str) -> str:
    return f"databricks auth login --host {host or '<workspace-url>'} --profile {profile}"


def refuse_unusable(profile: Profile) -> None:
    if profile.kind == PAT:
        raise TracesError(
            f"profile {profile.name!r} uses a personal access token; claudetracing accepts only "
            "OAuth logins (no long-lived secrets in files)",
            f"log in with OAuth instead: {login_command(profile.host, profile.name)}",
        )
    if profile.kind != OAUTH_U2M:
        raise TracesError(
            f"profile {profile.name!r} is not an OAuth user login (auth kind: {profile.kind})",
            f"log in with OAuth: {login_command(profile.host, profile.name)}",
        )


def overriding_env() -> dict[str, str]:
    """DATABRICKS_* variables that would override the chosen profile (names only)."""
    return {k: "<set>" for k in OVERRIDING_ENV if os.environ.get(k)}


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
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config

    config = Config(
        profile=profile, retry_timeout_seconds=TIMEOUT_S, http_timeout_seconds=TIMEOUT_S
    )
    return WorkspaceClient(config=config)


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
