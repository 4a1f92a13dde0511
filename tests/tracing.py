"""Helpers for tests that run the real pipeline: the `traces` executable, the spool, stores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.harness.versions import ClaudeCode, current

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
    from claudetracing.capture import spool

    deadline = time.monotonic() + timeout
    while spool.count(spool.PENDING) and time.monotonic() < deadline:
        time.sleep(0.2)
    from claudetracing.export.lock import exporter_lock

    with exporter_lock(wait=max(1.0, deadline - time.monotonic())) as held:
        assert held, f"an exporter still holds the lock after {timeout}s"
    pending = spool.count(spool.PENDING)
    assert pending == 0, f"{pending} spool entries still pending after {timeout}s"


def stored_traces(tracking_uri: str, experiment: str) -> list[Any]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return list(client.search_traces(locations=[found.experiment_id], max_results=500))


def settings_env(repo: Path) -> dict[str, str]:
    """The `env` Claude Code would give hooks: team settings, then personal ones on top."""
    import json

    env: dict[str, str] = {}
    for name in ("settings.json", "settings.local.json"):
        path = repo / ".claude" / name
        if path.exists():
            env.update(json.loads(path.read_text(encoding="utf-8")).get("env", {}))
    return env


def hook_payload(event: str, transcript: Path, repo: Path) -> dict[str, Any]:
    """The JSON Claude Code writes to a hook's stdin for `event` of the transcript's session."""
    return {
        "session_id": transcript.stem,
        "transcript_path": str(transcript),
        "cwd": str(repo),
        "hook_event_name": event,
        "permission_mode": "default",
    }


def fire_hook(
    event: str,
    transcript: Path,
    repo: Path,
    *,
    spawn: bool = False,
    last_message: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `traces hook` the way Claude Code does: payload on stdin, settings env, project dir."""
    import json

    payload = hook_payload(event, transcript, repo)
    if last_message is not None:
        payload["last_assistant_message"] = last_message
    env = {**os.environ, **settings_env(repo), "CLAUDE_PROJECT_DIR": str(repo)}
    if not spawn:
        env["CLAUDETRACING_NO_EXPORTER"] = "1"
    return subprocess.run(
        [TRACES, "hook"],
        input=json.dumps(payload),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def run_exporter(extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """What the hook starts, run in the foreground: `python -m claudetracing.export.worker`."""
    return subprocess.run(
        [sys.executable, "-m", "claudetracing.export.worker"],
        env={**os.environ, **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def unrecorded_output(
    messages_api: Any, runs: list[Any], claude: ClaudeCode | None = None
) -> list[tuple[str, int]]:
    """(model, output tokens) that no transcript holds: Claude Code 2.1.197 writes a subagent's
    lines as soon as each block ends, usually with the placeholder count (1) of
    `message_start` (a busy machine can write the real count: it is a race); only a subagent's
    LAST response gets its real count back, from the Agent result (which we read). What was
    sent less what the subagent files recorded, read from the files themselves. 2.1.328 writes
    subagent lines with the real count: nothing is missing."""
    if not (claude or current()).subagent_placeholder_output:
        return []
    recorded: dict[str, int] = {}
    for run in runs:
        for lines in run.subagent_transcripts().values():
            for line in lines:
                message = line.get("message") or {}
                if line.get("type") == "assistant" and message.get("id"):
                    out = int((message.get("usage") or {}).get("output_tokens") or 0)
                    recorded[message["id"]] = max(recorded.get(message["id"], 0), out)
    by_thread: dict[str, list[tuple[str, int]]] = {}
    for request in messages_api.message_requests():
        if request.position.thread not in ("main", "aux"):
            response = request.response
            sent = int(response["usage"]["output_tokens"])
            by_thread.setdefault(request.position.thread, []).append(
                (str(response["model"]), sent - recorded.get(str(response["id"]), sent))
            )
    return [item for outputs in by_thread.values() for item in outputs[:-1] if item[1] > 0]


def anthropic_usage(usage: dict[str, int]) -> dict[str, int]:
    """MLflow's trace-level token usage (input counts the cache, as MLflow's Anthropic autolog
    does) in Anthropic's convention (input without the cache), as Claude Code and the API count."""
    cached = usage.get("cache_read_input_tokens", 0) + usage.get("cache_creation_input_tokens", 0)
    return {**usage, "input_tokens": usage.get("input_tokens", 0) - cached}
