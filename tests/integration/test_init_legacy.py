"""From the earlier `claudetracing` package: its spellings work; init replaces its setup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tracing import traces

OLD_HOOK = (
    'uv run python -c "from mlflow.claude_code.hooks import stop_hook_handler; stop_hook_handler()"'
)
# What claudetracing 0.2 wrote (json.dumps(indent=2), no final newline), next to a user's own hook.
OLD_SETTINGS = {
    "model": "opus",
    "environment": {
        "MLFLOW_CLAUDE_TRACING_ENABLED": "true",
        "MLFLOW_TRACKING_URI": "databricks://dev",
        "MLFLOW_EXPERIMENT_NAME": "/Workspace/Shared/widgets",
        "DATABRICKS_CONFIG_PROFILE": "dev",
    },
    "hooks": {
        "Stop": [
            {
                "hooks": [
                    {"type": "command", "command": "./notify.sh"},
                    {"type": "command", "command": OLD_HOOK},
                ]
            }
        ]
    },
}


def test_init_replaces_the_old_hook_and_environment_keys(repo: Path, local_store: Path) -> None:
    (repo / ".claude").mkdir()
    path = repo / ".claude/settings.json"
    path.write_text(json.dumps(OLD_SETTINGS, indent=2))
    done = traces("init", "--local", "-y", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "replacing the earlier claudetracing setup" in done.stderr
    assert "'/Workspace/Shared/widgets'" in done.stderr  # where it traced, and how to keep it
    after = json.loads(path.read_text())
    assert "environment" not in after
    commands = [h["command"] for g in after["hooks"]["Stop"] for h in g["hooks"]]
    assert "./notify.sh" in commands
    assert not any("stop_hook_handler" in c for c in commands)
    assert sum("traces hook" in c for c in commands) == 1
    assert after["model"] == "opus"
    # Done twice: nothing more to replace, nothing changes.
    once = path.read_bytes()
    again = traces("init", "--local", "-y", "--no-verify", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert "replacing" not in again.stderr
    assert path.read_bytes() == once


@pytest.mark.server
def test_old_init_spellings(repo: Path, databricks_workspace: object) -> None:
    done = traces("init", "-p", "dev", "-e", "/Shared/claude-code/widgets", "-y", cwd=repo)
    assert done.returncode == 0, done.stderr
    team = json.loads((repo / ".claude/settings.json").read_text())
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert team["env"]["CLAUDETRACING_EXPERIMENT"] == "/Shared/claude-code/widgets"
    assert personal["env"]["CLAUDETRACING_TRACKING_URI"] == "databricks://dev"
