"""Who the traces belong to: the configured user, else git's user.email, else the login name."""

from __future__ import annotations

import getpass
from pathlib import Path


def current_user(root: Path, configured: str | None = None) -> str:
    if configured:
        return configured
    from claudetracing.core.git_info import user_email

    email = user_email(root)
    if email:
        return email
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
