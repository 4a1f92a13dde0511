"""One Databricks sign-in per process: a profile's OAuth login, held in memory.

MLflow signs in again before every REST call (with a CLI profile: a `databricks auth token
--force-refresh` run and a discovery request each time; FACTS.md). `sign_in(profile)` does it
once per process and profile; `SignIn.headers()` hands out the Authorization header, refreshed
by the SDK shortly before the short-lived access token expires. The token lives in this
process's memory only: never on disk, never in a log, never in a child process's environment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from claudetracing.core import databricks_profiles

if TYPE_CHECKING:
    from databricks.sdk.config import Config


@dataclass
class SignIn:
    """A signed-in profile: its workspace host and a source of fresh Authorization headers."""

    profile: str
    config: Config = field(repr=False)

    @property
    def host(self) -> str:
        return str(self.config.host).rstrip("/")

    @property
    def workspace_id(self) -> str | None:
        """The workspace's id as its discovery answer gave it (MLflow sends it as a header)."""
        found = getattr(self.config, "workspace_id", None)
        return str(found) if found else None

    @property
    def insecure(self) -> bool:
        """The profile turned TLS verification off (`insecure = true`)."""
        return bool(getattr(self.config, "insecure", False))

    def headers(self) -> dict[str, str]:
        """`{"Authorization": "Bearer …"}`, refreshed before expiry (the SDK's token source)."""
        return dict(self.config.authenticate())


_signed_in: dict[str, SignIn] = {}
_lock = threading.Lock()


def sign_in(profile: str, *, timeout_s: float | None = None) -> SignIn:
    """The process's sign-in for `profile` (made on first use; refused unless OAuth U2M).

    `timeout_s` bounds the first sign-in's retries and each request of the SDK's own calls
    (`init` answers within seconds); it does not change a sign-in already held."""
    with _lock:
        found = _signed_in.get(profile)
        if found is None:
            databricks_profiles.check_signin(profile)
            from databricks.sdk.config import Config

            config = Config(
                profile=profile,
                retry_timeout_seconds=timeout_s or 60,
                http_timeout_seconds=timeout_s,  # None: the SDK's default
            )
            config.authenticate()  # signs in now, so a logged-out profile fails here
            found = _signed_in[profile] = SignIn(profile, config)
        return found


def held(profile: str) -> SignIn | None:
    """The sign-in this process already made for `profile`, if any (never signs in)."""
    with _lock:
        return _signed_in.get(profile)


def forget(profile: str | None = None) -> None:
    """Drop the held sign-in(s): after a 401, or in tests."""
    with _lock:
        if profile is None:
            _signed_in.clear()
        else:
            _signed_in.pop(profile, None)
