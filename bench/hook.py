"""1. The Stop hook, spawn to exit: what Claude Code waits for before the user gets the prompt."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from bench import procs
from bench.stats import Sample, seconds
from bench.table import Row
from bench.workspace import Scale, Workspace, describe
from claudetracing.core.claude_settings import EXECUTABLE, HOOK_COMMAND

TARGET_S = 0.050  # the target: our hook within 50 ms of a bare interpreter start
# The command `traces init` writes into .claude/settings.json (Claude Code runs it with sh -c).
INSTALLED_COMMAND = HOOK_COMMAND
# What `traces hook` imports before it does anything (entry.main's fast path).
IMPORT_ONLY = "import claudetracing.entry, claudetracing.capture.hook"


def stop_payload(transcript: Path, cwd: Path) -> bytes:
    """A Stop event as Claude Code 2.1 sends it (FACTS.md lists the fields)."""
    return json.dumps(
        {
            "session_id": transcript.stem,
            "transcript_path": str(transcript),
            "cwd": str(cwd),
            "prompt_id": "bench-prompt",
            "permission_mode": "default",
            "hook_event_name": "Stop",
            "stop_hook_active": False,
            "last_assistant_message": "Fixed module_0.py.",
        }
    ).encode()


def _pending(data_home: Path) -> int:
    folder = data_home / "spool" / "pending"
    return sum(1 for p in folder.glob("*.json")) if folder.is_dir() else 0


def _traces_in(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM trace_info").fetchone()[0])


def run(ws: Workspace, scale: Scale, log: Callable[[str], None]) -> list[Row]:
    transcript = ws.session("hook-session", turns=10, tools_per_turn=3)
    payload = stop_payload(transcript, ws.repo)
    py, traces = str(ws.python), str(ws.traces)
    homes = {name: ws.root / f"hook-{name}" for name in ("courier", "installed", "spawn", "e2e")}
    courier_env = ws.env(
        CLAUDETRACING_HOME=str(homes["courier"]),
        CLAUDE_PROJECT_DIR=str(ws.repo),
        CLAUDETRACING_NO_EXPORTER="1",
    )
    # As Claude Code runs it: the personal settings name our `traces`; the PATH need not.
    installed_env = {
        **courier_env,
        "CLAUDETRACING_HOME": str(homes["installed"]),
        EXECUTABLE: traces,
    }
    spawn_env = ws.env(CLAUDETRACING_HOME=str(homes["spawn"]), CLAUDE_PROJECT_DIR=str(ws.repo))
    can_adopt = procs.become_subreaper()

    bare, imports, courier, installed, spawn = Sample(), Sample(), Sample(), Sample(), Sample()
    killed = 0
    log(f"hook: {scale.hook_runs} rounds of bare / courier / installed command / with spawn")
    for _ in range(scale.hook_runs):
        # Interleaved, so drift in machine load hits every variant alike.
        bare.add(procs.timed([py, "-c", "pass"], env=ws.env(), cwd=ws.repo))
        imports.add(procs.timed([py, "-c", IMPORT_ONLY], env=courier_env, cwd=ws.repo))
        courier.add(procs.timed([traces, "hook"], env=courier_env, cwd=ws.repo, stdin=payload))
        installed.add(
            procs.timed(
                ["/bin/sh", "-c", INSTALLED_COMMAND], env=installed_env, cwd=ws.repo, stdin=payload
            )
        )
        if can_adopt:
            spawn.add(procs.timed([traces, "hook"], env=spawn_env, cwd=ws.repo, stdin=payload))
            # The exporter it started would compete for the CPU with the next run: end it.
            for pid in procs.adopted_children():
                procs.kill_adopted(pid)
                killed += 1

    e2e = Sample()
    e2e_note = "needs Linux (a child subreaper) to wait for the detached exporter"
    if can_adopt:
        e2e_note = _end_to_end(ws, scale, homes["e2e"], e2e, log)

    log(f"hook: MLflow process_transcript hook, {scale.hook_mlflow_runs} runs")
    mlflow_dir = ws.root / "hook-mlflow"
    db = ws.fresh_db(mlflow_dir)
    mlflow_env = ws.mlflow_env(db)
    mlflow_argv = ws.child("mlflow_hook")
    if scale.warmup:  # creates the experiment, fills the page cache
        procs.timed(mlflow_argv, env=mlflow_env, cwd=mlflow_dir, stdin=payload)
    mlflow = Sample()
    for _ in range(scale.hook_mlflow_runs):
        mlflow.add(procs.timed(mlflow_argv, env=mlflow_env, cwd=mlflow_dir, stdin=payload))

    overhead = courier.median - bare.median
    verdict = "PASS" if overhead <= TARGET_S else "FAIL"
    courier_entries = _pending(homes["courier"])
    spooled = _pending(homes["installed"])
    if spooled != scale.hook_runs:  # a command that does nothing would measure fast
        raise RuntimeError(f"the installed hook command spooled {spooled} of {scale.hook_runs}")
    return [
        Row(
            "hook.bare",
            "bare interpreter start, `python -c pass` (same interpreter)",
            "-",
            bare.cell(),
            bare.cell(),
            "reference for the target; both hooks run on this interpreter",
        ),
        Row(
            "hook.import",
            f"`python -c '{IMPORT_ONLY}'`: the hook's imports alone",
            "-",
            imports.cell(),
            "n/a",
            "the part of hook.stop spent importing (stdlib modules pulled in by hook/spool/"
            "paths), before any work",
        ),
        Row(
            "hook.stop",
            "Stop hook, spawn to exit (what Claude Code waits for)",
            f"Stop payload; MLflow reads the transcript: {describe(transcript, 10)}",
            courier.cell(),
            mlflow.cell(),
            "ours: `traces hook` with CLAUDETRACING_NO_EXPORTER=1, i.e. parse stdin + durable "
            f"spool write ({courier_entries} entries landed); MLflow: `setup_mlflow()` + "
            "`process_transcript()` inside the hook (async trace logging at its default, "
            "flushed before returning)",
        ),
        Row(
            "hook.target",
            "hook minus bare interpreter (difference of medians)",
            "-",
            "+" + seconds(overhead),
            "+" + seconds(mlflow.median - bare.median),
            f"issue target: ours within {TARGET_S * 1000:.0f} ms of a bare interpreter: {verdict}",
        ),
        Row(
            "hook.installed",
            "Stop hook as installed: `sh -c` with the command `traces init` writes",
            "Stop payload",
            installed.cell(),
            "n/a (MLflow's hook is now a Node plugin)",
            f"`{INSTALLED_COMMAND}`, exporter spawn off",
        ),
        Row(
            "hook.spawn",
            "Stop hook including the start of the detached exporter",
            "Stop payload",
            spawn.cell() if can_adopt else "n/a (needs Linux subreaper)",
            "n/a (no separate exporter: see hook.stop)",
            f"Popen of `python -m claudetracing.export.worker` is part of the hook; "
            f"each exporter was "
            f"killed right after the hook exited ({killed} killed)",
        ),
        Row(
            "hook.e2e",
            "Stop to trace stored: hook + detached exporter, until the exporter exits",
            "a new 1-turn session per run (3 tool calls, 1 subagent)",
            e2e.cell() if e2e.n else "n/a (skipped)",
            mlflow.cell(),
            f"nobody waits for ours past hook.stop; MLflow stores inside the hook, so its "
            f"figure is hook.stop again. {e2e_note}",
        ),
    ]


def _end_to_end(
    ws: Workspace, scale: Scale, home: Path, sample: Sample, log: Callable[[str], None]
) -> str:
    db = ws.fresh_store(home)
    env = ws.env(CLAUDETRACING_HOME=str(home), CLAUDE_PROJECT_DIR=str(ws.repo))
    warm = 1 if scale.warmup else 0
    runs = scale.hook_e2e_runs + warm
    log(f"hook: end to end through the detached exporter, {scale.hook_e2e_runs} runs (+{warm})")
    sessions = [ws.session(f"e2e-{i}", turns=1, tools_per_turn=3) for i in range(runs)]
    for index, transcript in enumerate(sessions):
        before = _traces_in(db)
        start = time.perf_counter()
        payload = stop_payload(transcript, ws.repo)
        procs.timed([str(ws.traces), "hook"], env=env, cwd=ws.repo, stdin=payload)
        for pid in procs.adopted_children():
            if not procs.wait_exit(pid, 300.0):
                procs.kill_adopted(pid)
                raise procs.ChildFailed("the detached exporter did not finish in 300 s")
        elapsed = time.perf_counter() - start
        if _pending(home) or _traces_in(db) != before + 1:
            raise procs.ChildFailed(f"the exporter did not store the turn of {transcript.name}")
        if index >= warm:  # a warm-up run pays the first experiment lookup and cold caches
            sample.add(elapsed)
    return "Each run: spool empty afterwards and exactly one new trace in the store."
