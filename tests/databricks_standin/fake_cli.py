"""A fake `databricks` CLI (version, auth token/login/logout) and its installer, for tests."""

from __future__ import annotations

import configparser
import io
import json
import os
import sys
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Replaced in the installed script (see install_fake_cli); stdlib only, so the script runs
# with any interpreter and does not import the tests package.
_SETTINGS: dict[str, Any] = {
    "token": "standin-oauth-token",
    "version": [0, 280, 0],
    "calls_log": "",
    "write_settings_section": False,
    # > 0: every refresh issues a new token `<token>~<expiry epoch>` that lives this long, which
    # the stand-in refuses once expired (tests of a sign-in that outlives its token).
    "token_lifetime_s": 0,
}

# databricks-sdk up to 0.161 skips any `databricks` on PATH smaller than this (taking it for the
# legacy Python CLI); later releases look at its content instead. The fake is padded past it.
SDK_MIN_CLI_SIZE = 1024 * 1024
TOKEN_LIFETIME = timedelta(hours=1)
EXPIRY_DELTA = timedelta(seconds=10)
ISSUES_URL = "https://github.com/databricks/cli/issues/new"
SETTINGS_SECTION = "__settings__"
DEFAULT_COMMENT = (
    "; The profile defined in the DEFAULT section is to be used as a fallback when no profile "
    "is explicitly specified.\n"
)
# Keys `auth login` drops from a profile it (re)writes, so a PAT profile becomes an OAuth one.
AUTH_CREDENTIAL_KEYS = (
    "token",
    "username",
    "password",
    "client_id",
    "client_secret",
    "azure_client_id",
    "azure_client_secret",
    "azure_tenant_id",
    "google_credentials",
    "google_service_account",
    "auth_type",
)


class CliError(Exception):
    """Printed as `Error: <message>` on stderr with exit code 1, like the Go CLI."""


def config_file() -> Path:
    configured = os.environ.get("DATABRICKS_CONFIG_FILE")
    return Path(configured).expanduser() if configured else Path.home() / ".databrickscfg"


def token_cache_file() -> Path:
    return Path.home() / ".databricks" / "token-cache.json"


def read_token_cache() -> dict[str, Any]:
    path = token_cache_file()
    if not path.exists():
        return {"version": 1, "tokens": {}}
    cache: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    cache.setdefault("tokens", {})
    return cache


def write_token_cache(cache: dict[str, Any]) -> None:
    path = token_cache_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, indent=2), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def expiry_text(moment: datetime) -> str:
    # Go's RFC 3339 with the local offset and sub-second digits. The SDK drops everything from the
    # first "." and reads the rest as naive local time, so the fraction must always be present.
    return moment.astimezone().isoformat(timespec="microseconds")


def parse_expiry(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fresh_token_entry(token: str | None = None) -> dict[str, Any]:
    return {
        "access_token": token or _SETTINGS["token"],
        "token_type": "Bearer",
        "refresh_token": "standin-refresh-token",
        "expiry": expiry_text(datetime.now() + TOKEN_LIFETIME),
    }


def short_lived_entry(lifetime_s: float, token: str | None = None) -> dict[str, Any]:
    """A cache entry whose access token expires in `lifetime_s` (and says so in itself)."""
    expiry = datetime.now() + timedelta(seconds=lifetime_s)
    return {
        "access_token": f"{token or _SETTINGS['token']}~{int(expiry.timestamp())}",
        "token_type": "Bearer",
        "refresh_token": "standin-refresh-token",
        "expiry": expiry_text(expiry),
    }


def read_profiles() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(default_section="__no_default__", interpolation=None)
    path = config_file()
    if path.exists():
        parser.read(path, encoding="utf-8")
    return parser


def _option(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _login_command(profile: str | None, host: str | None) -> str:
    target = f"--profile {profile}" if profile else f"--host {host}"
    return f"databricks auth login {target}"


def cmd_version(args: list[str]) -> int:
    major, minor, patch = (int(n) for n in _SETTINGS["version"])
    version = f"{major}.{minor}.{patch}"
    if (_option(args, "--output") or _option(args, "-o")) == "json":
        info = {
            "ProjectName": "cli",
            "Version": version,
            "Branch": "",
            "Tag": f"v{version}",
            "ShortCommit": "0000000",
            "FullCommit": "0" * 40,
            "CommitTimestamp": 0,
            "Summary": f"v{version}",
            "Major": major,
            "Minor": minor,
            "Patch": patch,
            "Prerelease": "",
            "IsSnapshot": False,
            "BuildTime": "2025-01-01T00:00:00Z",
        }
        print(json.dumps(info, indent=2))
    else:
        print(f"Databricks CLI v{version}")
    return 0


def cmd_auth_token(args: list[str]) -> int:
    profile = _option(args, "--profile") or _option(args, "-p")
    host = _option(args, "--host")
    positional = [a for a in args if not a.startswith("-")]
    if profile is None and host is None and positional:
        profile = positional[0]
    if profile is None and host is None:
        raise CliError("no profile specified. Use --profile <name> to specify which profile to use")
    if profile is not None and profile not in read_profiles().sections():
        # Unverified wording: the Go CLI's message for an unknown profile was not observed here.
        raise CliError(f"profile {profile!r} not found in {config_file()}")
    key = profile or host or ""
    cache = read_token_cache()
    entry = cache["tokens"].get(key)
    if entry is None:
        # Verbatim from databricks/cli cmd/auth/token.go; the SDK keys on "databricks OAuth is not"
        # to treat the profile as "not configured" and moves on to other credential sources.
        raise CliError(
            "cache: databricks OAuth is not configured for this host. Try logging in again with "
            f"`{_login_command(profile, host)}` before retrying. If this fails, please report "
            f"this issue to the Databricks CLI maintainers at {ISSUES_URL}"
        )
    # Like golang.org/x/oauth2, which the CLI uses: a token that expires within 10 s counts as
    # expired, so no caller gets one that dies on its way to the workspace.
    expired = parse_expiry(entry["expiry"]) <= datetime.now().astimezone() + EXPIRY_DELTA
    if expired or "--force-refresh" in args:
        if entry.get("refresh_token") == "revoked":
            # Verbatim from databricks/cli libs/auth RewriteAuthError.
            raise CliError(
                "A new access token could not be retrieved because the refresh token is invalid. "
                "To reauthenticate, run the following command:\n"
                f"  $ {_login_command(profile, host)}"
            )
        entry = {**fresh_token_entry(), "access_token": entry["access_token"]}
        if _SETTINGS["token_lifetime_s"]:
            entry = short_lived_entry(float(_SETTINGS["token_lifetime_s"]))
        cache["tokens"][key] = entry
        write_token_cache(cache)
    answer = {k: entry[k] for k in ("access_token", "token_type", "expiry")}
    print(json.dumps(answer, indent=2))
    return 0


def _render_config(parser: configparser.ConfigParser) -> str:
    out = io.StringIO()
    sections = parser.sections()
    if "DEFAULT" not in sections:
        # The CLI always writes a [DEFAULT] header with this comment when it rewrites the file.
        out.write(DEFAULT_COMMENT + "[DEFAULT]\n\n")
    for name in sections:
        if name == "DEFAULT" and not parser.items(name):
            out.write(DEFAULT_COMMENT)
        out.write(f"[{name}]\n")
        for key, value in parser.items(name):
            out.write(f"{key} = {value}\n")
        out.write("\n")
    return out.getvalue()


def cmd_auth_login(args: list[str]) -> int:
    host = _option(args, "--host")
    profile = _option(args, "--profile") or _option(args, "-p")
    if profile is None:
        raise CliError("the fake CLI needs --profile (the real one would prompt for it)")
    parser = read_profiles()
    if host is None and parser.has_section(profile):
        host = parser.get(profile, "host", fallback=None)
    if host is None:
        raise CliError("the fake CLI needs --host (the real one would prompt for it)")
    host = host.rstrip("/")
    if "://" not in host:
        host = "https://" + host
    try:
        # The real login runs OAuth against the host: an unreachable host fails here too.
        with urllib.request.urlopen(f"{host}/.well-known/databricks-config", timeout=10):
            pass
    except OSError as err:
        raise CliError(f"failed to reach {host}: {err}") from err
    path = config_file()
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    first_profile = not any(parser.has_option(s, "host") for s in parser.sections())
    if not parser.has_section(profile):
        parser.add_section(profile)
    for key in AUTH_CREDENTIAL_KEYS:
        parser.remove_option(profile, key)
    parser.set(profile, "host", host)
    parser.set(profile, "auth_type", "databricks-cli")
    if _SETTINGS["write_settings_section"] and first_profile:
        # Newer CLIs record the first profile as the default in a reserved section.
        if not parser.has_section(SETTINGS_SECTION):
            parser.add_section(SETTINGS_SECTION)
        parser.set(SETTINGS_SECTION, "default_profile", profile)
    if original:
        path.with_name(path.name + ".bak").write_text(original, encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(_render_config(parser), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    cache = read_token_cache()
    cache["tokens"][profile] = fresh_token_entry()
    cache["tokens"][host] = fresh_token_entry()  # the CLI writes under both keys (dual write)
    write_token_cache(cache)
    print(f"Profile {profile} was successfully saved")
    return 0


def cmd_auth_logout(args: list[str]) -> int:
    profile = _option(args, "--profile") or _option(args, "-p")
    if profile is None:
        raise CliError("the fake CLI needs --profile")
    cache = read_token_cache()
    host = read_profiles().get(profile, "host", fallback=None)
    for key in (profile, host):
        cache["tokens"].pop(key or "", None)
    write_token_cache(cache)
    print(f"Logged out of profile {profile!r}.")
    return 0


def _log_call(argv: list[str]) -> None:
    if _SETTINGS["calls_log"]:
        with open(_SETTINGS["calls_log"], "a", encoding="utf-8") as out:
            out.write(json.dumps(argv) + "\n")


def main(argv: list[str]) -> int:
    _log_call(argv)
    words = [a for a in argv if not a.startswith("-")]
    try:
        if words[:1] == ["version"]:
            return cmd_version(argv[1:])
        if words[:2] == ["auth", "token"]:
            return cmd_auth_token(argv[2:])
        if words[:2] == ["auth", "login"]:
            return cmd_auth_login(argv[2:])
        if words[:2] == ["auth", "logout"]:
            return cmd_auth_logout(argv[2:])
        # Loud on purpose: a command the fake does not know must not pass silently.
        raise CliError(f"unknown command {' '.join(argv)!r} (fake databricks CLI)")
    except CliError as err:
        sys.stderr.write(f"Error: {err}\n")
        return 1


def install_fake_cli(
    folder: Path,
    *,
    token: str,
    version: tuple[int, int, int] = (0, 280, 0),
    write_settings_section: bool = False,
    pad_to_sdk_minimum: bool = True,
    token_lifetime_s: float = 0,
) -> Path:
    """Write an executable `databricks` into `folder` and return its path.

    The script is this module's source plus its settings, padded with a comment block to more
    than 1 MiB: some databricks-sdk releases that pyproject.toml admits skip a small `databricks`
    found on PATH, and the fake must be found by every one of them. No test depends on that rule.
    """
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "databricks"
    settings = {
        "token": token,
        "version": list(version),
        "calls_log": str(folder / "databricks.calls.jsonl"),
        "write_settings_section": write_settings_section,
        "token_lifetime_s": token_lifetime_s,
    }
    source = Path(__file__).read_text(encoding="utf-8")
    text = (
        f"#!{sys.executable}\n"
        "# Fake Databricks CLI written by tests/databricks_standin/fake_cli.py\n"
        f"{source}\n"
        f"_SETTINGS.update(json.loads({json.dumps(settings)!r}))\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(main(sys.argv[1:]))\n"
    )
    if pad_to_sdk_minimum:
        line = "# padding: some SDK releases skip a databricks CLI under 1 MiB found on PATH\n"
        missing = SDK_MIN_CLI_SIZE + 1 - len(text.encode())
        text += line * (missing // len(line) + 1)
    script.write_text(text, encoding="utf-8")
    script.chmod(0o755)
    return script
