"""4. Start-up of the `traces` executable, whole process, in a repository set up for tracing;
`traces --help` against a bare interpreter (the issue's budget: within 150 ms of it)."""

from __future__ import annotations

from collections.abc import Callable

from bench import procs
from bench.stats import Sample, seconds
from bench.table import Row
from bench.workspace import Scale, Workspace

HELP_BUDGET_S = 0.150  # issue 15: `traces --help` within bare Python + 150 ms


def run(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> list[Row]:
    repo = ws.root / "status-repo"
    repo.mkdir(parents=True, exist_ok=True)
    env = ws.env(CLAUDETRACING_HOME=str(ws.root / "status-home"))
    procs.timed(["git", "init", "-q", "."], env=env, cwd=repo)
    ws.fresh_store(ws.root / "status-home")
    # `init` writes hooks, settings and .gitignore, so `status` reports a working setup.
    procs.timed([str(ws.traces), "init", "--local", "--yes"], env=env, cwd=repo, timeout=300)
    log(
        f"startup: {scale.startup_runs} rounds of `python -c pass` / `traces --help` / "
        "`traces status --offline`"
    )
    bare_s, help_s, status_s = Sample(), Sample(), Sample()
    if scale.warmup:  # the page cache, as for a user's second command
        procs.timed([str(ws.traces), "--help"], env=env, cwd=repo)
    for _ in range(scale.startup_runs):
        # Interleaved, so that a change of load on the machine hits all three alike.
        bare_s.add(procs.timed([str(ws.python), "-c", "pass"], env=env, cwd=repo))
        help_s.add(procs.timed([str(ws.traces), "--help"], env=env, cwd=repo))
        status_s.add(procs.timed([str(ws.traces), "status", "--offline"], env=env, cwd=repo))
    over = help_s.median - bare_s.median
    verdict = "PASS" if over <= HELP_BUDGET_S else "FAIL"
    return [
        Row(
            "startup.bare",
            "bare interpreter start, `python -c pass` (the interpreter of `traces`)",
            "-",
            bare_s.cell(),
            "n/a",
            "the floor for any Python command line",
        ),
        Row(
            "startup.help",
            "`traces --help`, spawn to exit",
            "-",
            help_s.cell(),
            "n/a",
            "imports Typer and the command table only: no command module, no Rich, not MLflow",
        ),
        Row(
            "startup.help_target",
            "`traces --help` minus bare interpreter (difference of medians)",
            "-",
            "+" + seconds(over),
            "n/a",
            f"issue 15 budget: within {HELP_BUDGET_S * 1000:.0f} ms of a bare interpreter: "
            f"{verdict}",
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
