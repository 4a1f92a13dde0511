"""Who the traces belong to: the configured user, else git's user.email, else the login name."""

from __future__ import annotations

import getpass
from pathlib import Path


def current_user(root: Path, configured: str | None = None) -> str:
    if configured:
        return configured
    try:
        import git

        email = git.GitConfigParser(read_only=True).get_value("user", "email", default="")
        if not email:
            email = (
                git.Repo(root, search_parent_directories=True)
                .config_reader()
                .get_value("user", "email", default="")
            )
        if email:
            return str(email)
    except Exception:  # no git, no repository, no config: fall back to the login
        pass
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
