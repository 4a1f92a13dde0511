"""The one error boundary of every command: expected errors, usage errors, and the unexpected.

A `TracesError` prints its message and fix and exits 1; a usage error is Typer's (exit 2); Ctrl-C
exits 130; anything else prints one line naming a log file that holds the traceback and the
versions, and exits 3. `CLAUDETRACING_DEBUG=1` lets the unexpected through as it is. Whatever it
prints or writes has the user-info of its URIs masked (`scheme://***@host`), wherever the text
came from."""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import typer

from claudetracing.core import keys, paths, telemetry, userinfo
from claudetracing.core.errors import TracesError

UNEXPECTED_EXIT = 3
DEBUG = keys.DEBUG
_VERSIONS = ("claudetracing", "mlflow", "databricks-sdk", "typer", "questionary", "gitpython")


def _versions() -> list[str]:
    from importlib import metadata  # only for a bug report: it costs `traces --help` time

    found = [f"python {platform.python_version()} ({sys.executable})", platform.platform()]
    for name in _VERSIONS:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return found


def write_report(exc: BaseException) -> Path:
    """A private file with what a bug report needs: the command, versions, the traceback."""
    folder = paths.ensure_private_dir(paths.data_dir() / "logs")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"error-{stamp}-{os.getpid()}.log"
    body = [
        f"command: traces {' '.join(sys.argv[1:])}",
        f"cwd: {Path.cwd()}",
        *_versions(),
        "",
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(userinfo.mask("\n".join(body)))
    return path


def guarded(command: Callable[[], object]) -> None:
    """Run the command line and turn whatever escapes it into a message and an exit code.
    Everything written to stderr meanwhile (ours, MLflow's logger) has URIs' user-info masked,
    and MLflow's usage telemetry is off unless the person turned it on."""
    telemetry.keep_off()  # before any command imports MLflow (ADR 13)
    saved = sys.stderr
    sys.stderr = userinfo.MaskedStream(saved)
    try:
        _run(command)
    finally:
        sys.stderr = saved


def _run(command: Callable[[], object]) -> None:
    try:
        command()
    except TracesError as exc:
        typer.secho(f"error: {userinfo.mask(exc.message)}", fg="red", err=True)
        if exc.hint:
            typer.echo(f"  fix: {userinfo.mask(exc.hint)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(DEBUG) == "1":
            raise
        text = userinfo.mask(str(exc))
        what = f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
        try:
            where = f"details in {write_report(exc)}"
        except OSError as log_error:
            where = f"and the report could not be written ({log_error})"
        typer.secho(
            f"error: unexpected {what.rstrip(': ')}; this is a bug in traces, {where} "
            f"(set {DEBUG}=1 to see the traceback here)",
            fg="red",
            err=True,
        )
        sys.exit(UNEXPECTED_EXIT)
