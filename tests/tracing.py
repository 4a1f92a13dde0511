"""Helpers shared by tests that run the real pipeline: the `traces` executable, the spool, stores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
TRACES = str(BIN / "traces")


def traces(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `traces` executable as a user would."""
    return subprocess.run(
        [TRACES, *args],
        cwd=cwd,
        env=env or dict(os.environ),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def hook_env() -> dict[str, str]:
    """What Claude Code must pass on so its hooks find `traces` and this test's data folder."""
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "CLAUDETRACING_HOME": os.environ["CLAUDETRACING_HOME"],
    }


def wait_for_exporter(timeout: float = 90) -> None:
    """Until the spool is empty and no exporter holds the lock."""
    from filelock import FileLock

    from claudetracing import spool

    deadline = time.monotonic() + timeout
    while spool.count(spool.PENDING) and time.monotonic() < deadline:
        time.sleep(0.2)
    lock = FileLock(str(spool.spool_dir() / "exporter.lock"))
    with lock.acquire(timeout=max(1.0, deadline - time.monotonic())):
        pass
    pending = spool.count(spool.PENDING)
    assert pending == 0, f"{pending} spool entries still pending after {timeout}s"


def stored_traces(tracking_uri: str, experiment: str) -> list[Any]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return list(client.search_traces(locations=[found.experiment_id], max_results=500))
