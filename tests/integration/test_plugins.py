"""Third-party enrichments, installed for real: the documented example, a broken one, a raising
one. Tags land; failures are reported and never cost a trace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from claudetracing.core import config as config_mod
from tests.sessions import copy_recorded, recorded
from tests.tracing import stored_traces, traces

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "claudetracing-ticket"


def _fake_plugin(target: Path, name: str, module: str, body: str) -> None:
    info = target / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[claudetracing.enrichments]\n{name} = {module}:enrichment\n"
    )
    (target / f"{module}.py").write_text(body)


@pytest.fixture
def plugins(tmp_path: Path) -> dict[str, str]:
    target = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    _fake_plugin(target, "broken", "broken_plugin", "raise ImportError('needs libfoo')\n")
    _fake_plugin(
        target,
        "explodes",
        "explodes_plugin",
        (
            "from claudetracing.enrichments.api import Enrichment\n"
            "def boom(context):\n    raise RuntimeError('cannot reach the ticket server')\n"
            "enrichment = Enrichment(name='explodes', description='always fails', enrich=boom)\n"
        ),
    )
    return {**os.environ, "PYTHONPATH": str(target)}


def test_example_plugin_tags_and_broken_ones_are_reported(
    repo: Path, local_store: Path, plugins: dict[str, str], tmp_path: Path
) -> None:
    assert traces("init", "--local", "--yes", "--no-verify", cwd=repo, env=plugins).returncode == 0
    listed = traces("enrichment", "list", "--json", cwd=repo, env=plugins)
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["ticket"]["error"] is None and not rows["ticket"]["enabled"]
    assert "needs libfoo" in rows["broken"]["error"]
    added = traces("enrichment", "add", "ticket", "explodes", cwd=repo, env=plugins)
    assert added.returncode == 0, added.stderr
    team = json.loads((repo / ".claude/settings.json").read_text())
    assert team["env"]["CLAUDETRACING_ENRICHMENTS"] == "git,files,tokens,cost,ticket,explodes"
    refused = traces("enrichment", "add", "broken", cwd=repo, env=plugins)
    assert refused.returncode == 1 and "needs libfoo" in refused.stderr

    path = copy_recorded("tool_call", tmp_path / "s")
    text = path.read_text().replace("Run `echo hello`", "For WID-42, run `echo hello`")
    path.write_text(text)
    done = traces("import", str(path), cwd=repo, env=plugins)
    assert done.returncode == 0, done.stderr
    cfg = config_mod.load(repo)
    (trace,) = stored_traces(cfg.tracking_uri, cfg.experiment)
    assert trace.info.tags["ticket.ids"] == '["WID-42"]'
    assert trace.info.tags["tokens.total"]
    assert not any(k.startswith("explodes.") for k in trace.info.tags)
    assert "explodes" in trace.info.tags["claudetracing.enrichments"]

    status = traces("status", "--json", cwd=repo, env=plugins)
    warnings = " ".join(w["what"] for w in json.loads(status.stdout)["warnings"])
    assert "'broken' cannot load" in warnings
    assert "'explodes' failed" in warnings and "ticket server" in warnings
    listed = traces("enrichment", "list", cwd=repo, env=plugins)
    assert "cannot reach the ticket server" in listed.stdout


def test_status_warns_when_recent_traces_were_tagged_differently(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    assert traces("init", "--local", "--yes", "--no-verify", cwd=repo).returncode == 0
    session = tmp_path / "s"
    shutil.copytree(recorded("tool_call").folder, session)
    assert traces("import", str(session), cwd=repo).returncode == 0
    assert traces("enrichment", "remove", "cost", cwd=repo).returncode == 0
    status = traces("status", "--json", cwd=repo)
    warnings = " ".join(w["what"] for w in json.loads(status.stdout)["warnings"])
    assert "tagged with other enrichments (cost,files,git,tokens)" in warnings
