"""Databricks profiles as `~/.databrickscfg` holds them, and which of them may sign in.

claudetracing signs in to Databricks only with a person's OAuth login: a profile holding a
personal access token or a service principal's secret, or such a secret in the environment, is
refused on every path that signs in (`init`, the exporter, `import`, `flush`, the queries).
Plain file reading (no SDK), so every layer may ask before anything is sent."""

from __future__ import annotations

import configparser
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

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


# The ones that sign in with a secret instead of the profile's OAuth login.
SECRET_ENV = (
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_USERNAME",
    "DATABRICKS_PASSWORD",
)


def refuse_secret_env(profile: str, host: str | None = None) -> None:
    """A secret in the environment would sign in instead of the profile's OAuth login."""
    names = [k for k in SECRET_ENV if os.environ.get(k)]
    if names:
        raise TracesError(
            f"{', '.join(names)} is set in the environment: MLflow and the Databricks SDK would "
            f"sign in with it instead of the OAuth login of profile {profile!r}; claudetracing "
            "accepts only OAuth logins (no long-lived secrets)",
            f"unset {' '.join(names)}, and log in with OAuth: {login_command(host, profile)}",
        )


def check_signin(profile: str) -> None:
    """Refuse, before any request, a sign-in to `profile` that is not a person's OAuth login:
    a PAT or service-principal profile, or a secret in the environment. A profile the file
    does not hold is left to MLflow (it says which file it read)."""
    found = {p.name: p for p in read_profiles()}.get(profile)
    if found is not None:
        refuse_unusable(found)
    refuse_secret_env(profile, found.host if found else None)


def drop_overriding_env(environ: MutableMapping[str, str]) -> list[str]:
    """Remove every DATABRICKS_* value that would override a profile; the names removed."""
    dropped = [k for k in OVERRIDING_ENV if environ.get(k)]
    for name in OVERRIDING_ENV:
        environ.pop(name, None)
    return dropped
