"""The experiment naming convention for workspaces: where a repository's traces belong."""

from __future__ import annotations

import posixpath
import re

from claudetracing.core.errors import TracesError

SHARED = "shared"
PERSONAL = "personal"
_VALID = re.compile(r"^/[A-Za-z0-9 ._@+\-/]+$")


def normalise(path: str) -> str:
    """A workspace path as Databricks' get-by-name matches it: no `/Workspace` prefix, no `//`,
    no trailing slash. Databricks shows the prefix in its UI; its API rejects or misses it."""
    text = re.sub(r"/{2,}", "/", path.strip())
    if text == "/Workspace" or text.startswith("/Workspace/"):
        text = text[len("/Workspace") :] or "/"
    return text.rstrip("/") or "/"


def repo_component(name: str) -> str:
    """A repository name made safe for a path component."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned or "repo"


def conventional(scope: str, user: str, repo: str) -> str:
    if scope == SHARED:
        return f"/Shared/claude-code/{repo_component(repo)}"
    if scope == PERSONAL:
        return f"/Users/{user}/claude-code/{repo_component(repo)}"
    raise TracesError(f"unknown scope {scope!r}", "use --scope shared or --scope personal")


def conventional_template(scope: str, user: str) -> str:
    """The convention with the repository left open (`{repo}`): one experiment per repository,
    named when each repository's turns are exported (user and managed settings)."""
    return conventional(scope, user, "widgets").rsplit("/", 1)[0] + "/{repo}"


def validate_template(path: str, user: str | None) -> str:
    """A workspace experiment path that may name the repository as `{repo}` in its last part;
    `user` None (managed settings, the same for everyone): any /Users/ folder is accepted."""
    normal = normalise(path)
    folder, _, name = normal.rpartition("/")
    if "{repo}" in folder:
        raise TracesError(
            f"experiment path {path!r} has {{repo}} in a folder name",
            "put {repo} in the last part only, e.g. /Shared/claude-code/{repo}: the folder "
            "must exist before the exporter creates each repository's experiment in it",
        )
    filled = f"{folder}/{name.replace('{repo}', 'repo')}"
    if user is None:
        if not filled.startswith(("/Shared/", "/Users/")):
            raise TracesError(
                f"experiment path {normal!r} is outside /Shared and /Users",
                "use /Shared/claude-code/{repo}",
            )
        validate(filled, filled.split("/")[2] if filled.startswith("/Users/") else "-")
    else:
        validate(filled, user)
    return normal


def validate(path: str, user: str) -> str:
    """Accept a custom path only inside /Shared or the user's own folder; return it normalised."""
    normal = normalise(path)
    if not normal.startswith("/"):
        raise TracesError(
            f"experiment path {path!r} is not absolute",
            f"use a workspace path such as /Shared/claude-code/<repo> or /Users/{user}/…",
        )
    if not _VALID.match(normal) or ".." in normal.split("/"):
        raise TracesError(
            f"experiment path {path!r} has characters a workspace path cannot have",
            "use letters, digits, spaces and . _ - @ + /",
        )
    own = f"/Users/{user}/"
    if not (normal.startswith("/Shared/") or normal.startswith(own)):
        raise TracesError(
            f"experiment path {normal!r} is outside /Shared and your folder {own}",
            f"choose a path under /Shared/ or {own}",
        )
    if normal.count("/") < 2:
        raise TracesError(
            f"experiment path {normal!r} needs a folder and a name",
            "for example /Shared/claude-code/<repo>",
        )
    return normal


# A workspace experiment holds at most this many traces (Databricks' documented default).
TRACE_CAP = 100_000
_ROLLED = re.compile(r"^(?P<base>.+)\+(?P<n>[0-9]+)$")


def rollover(path: str) -> str:
    """The experiment that takes over when `path` is full: `widgets` → `widgets+2` → `widgets+3`.

    `+` never appears in a conventional name (`repo_component` replaces it), so a rolled-over
    experiment cannot be another repository's."""
    found = _ROLLED.match(path)
    if found:
        return f"{found['base']}+{int(found['n']) + 1}"
    return f"{path}+2"


def parent(path: str) -> str:
    return posixpath.dirname(path)


# ---- Unity Catalog trace locations: CATALOG.SCHEMA.PREFIX --------------------------------------
# MLflow names the location's tables <prefix>_otel_spans, _otel_logs, _otel_metrics and
# _otel_annotations; a Unity Catalog name has at most 255 characters.
UC_TABLE_SUFFIXES = {
    "spans": "_otel_spans",
    "logs": "_otel_logs",
    "metrics": "_otel_metrics",
    "annotations": "_otel_annotations",
}
UC_NAME_MAX = 255
UC_PREFIX_MAX = UC_NAME_MAX - max(len(s) for s in UC_TABLE_SUFFIXES.values())
_UC_PREFIX = re.compile(r"^[a-z_][a-z0-9_]*$")
_UC_NAME = re.compile(r"^[a-z0-9_][a-z0-9_-]*$")


def uc_prefix(repo: str) -> str:
    """The conventional table prefix for a repository: its name as an unquoted identifier
    (lowercase letters, digits and `_`, not starting with a digit)."""
    text = re.sub(r"[^a-z0-9]+", "_", repo.lower()).strip("_") or "repo"
    if text[0].isdigit():
        text = f"repo_{text}"
    return text[:UC_PREFIX_MAX].rstrip("_")


def parse_uc(text: str, repo: str) -> tuple[str, str, str]:
    """`CATALOG.SCHEMA[.PREFIX]` as (catalog, schema, prefix), lowercase as Unity Catalog keeps
    names; the prefix defaults to `uc_prefix(repo)`."""
    example = f"--uc main.claude_code or --uc main.claude_code.{uc_prefix(repo)}"
    parts = text.strip().lower().split(".")
    if len(parts) not in (2, 3) or not all(parts):
        raise TracesError(
            f"--uc {text!r} is not CATALOG.SCHEMA or CATALOG.SCHEMA.PREFIX",
            f"for example {example}",
        )
    for kind, name in zip(("catalog", "schema"), parts[:2], strict=False):
        if not _UC_NAME.match(name) or len(name) > UC_NAME_MAX:
            raise TracesError(
                f"--uc {text!r}: {kind} name {name!r} has characters we do not accept",
                f"use letters, digits, _ and -; for example {example}",
            )
    prefix = parts[2] if len(parts) == 3 else uc_prefix(repo)
    if not _UC_PREFIX.match(prefix):
        raise TracesError(
            f"--uc {text!r}: table prefix {prefix!r} is not a plain identifier",
            "use lowercase letters, digits and _, not starting with a digit; "
            f"e.g. {uc_prefix(repo)}",
        )
    if len(prefix) > UC_PREFIX_MAX:
        raise TracesError(
            f"--uc {text!r}: table prefix is {len(prefix)} characters long",
            f"use at most {UC_PREFIX_MAX} (table names add up to 17 and stop at {UC_NAME_MAX})",
        )
    return parts[0], parts[1], prefix
