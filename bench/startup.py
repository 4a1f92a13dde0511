"""4. Start-up of the `traces` executable, whole process, in a repository set up for tracing."""

from __future__ import annotations

from collections.abc import Callable

from bench import procs
from bench.stats import Sample
from bench.table import Row
from bench.workspace import Scale, Workspace


def run(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> list[Row]:
    repo = ws.root / "status-repo"
    repo.mkdir(parents=True, exist_ok=True)
    env = ws.env(CLAUDETRACING_HOME=str(ws.root / "status-home"))
    procs.timed(["git", "init", "-q", "."], env=env, cwd=repo)
    ws.fresh_store(ws.root / "status-home")
    # `init` writes hooks, settings and .gitignore, so `status` reports a working setup.
    procs.timed([str(ws.traces), "init", "--local", "--yes"], env=env, cwd=repo, timeout=300)
    log(f"startup: {scale.startup_runs} rounds of `traces --help` / `traces status --offline`")
    help_s, status_s = Sample(), Sample()
    for _ in range(scale.startup_runs):
        help_s.add(procs.timed([str(ws.traces), "--help"], env=env, cwd=repo))
        status_s.add(procs.timed([str(ws.traces), "status", "--offline"], env=env, cwd=repo))
    return [
        Row(
            "startup.help",
            "`traces --help`, spawn to exit",
            "-",
            help_s.cell(),
            "n/a",
            "loads the CLI stack (typer), not MLflow",
        ),
        Row(
            "startup.status",
            "`traces status --offline`, spawn to exit",
            "a git repository after `traces init --local --yes`",
            status_s.cell(),
            "n/a",
            "settings, hooks, .gitignore and spool checks; the backend is not contacted",
        ),
    ]
