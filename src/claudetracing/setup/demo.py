"""`traces demo`: the bundled sample sessions, through the whole pipeline, into the local store."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from claudetracing.core import config as config_mod
from claudetracing.core import paths
from claudetracing.export.backfill import run_import
from claudetracing.export.exporter import exporter_for
from claudetracing.export.tally import Tally
from claudetracing.setup.sample_sessions import write_demo_sessions

DEMO_EXPERIMENT = "claude-code/demo"
DEMO_CWD = "/home/dev/widgets"


@dataclass
class DemoResult:
    summary: Tally
    experiment: str
    tracking_uri: str
    trace_ids: list[str]


def run_demo() -> DemoResult:
    folder = paths.data_dir() / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    start = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    transcripts = write_demo_sessions(folder / "projects", DEMO_CWD, start)
    cfg = config_mod.Config(
        root=folder,
        values={
            config_mod.TRACKING_URI: config_mod.Value(config_mod.LOCAL, "demo"),
            config_mod.EXPERIMENT: config_mod.Value(DEMO_EXPERIMENT, "demo"),
            config_mod.USER: config_mod.Value("demo@example.com", "demo"),
        },
    )
    exporter = exporter_for(cfg)
    summary = run_import(exporter, transcripts)
    ids = [exporter.backend.find_turn(turn_key) or "" for turn_key in _turn_keys(transcripts)]
    return DemoResult(summary, DEMO_EXPERIMENT, cfg.tracking_uri, [i for i in ids if i])


def _turn_keys(transcripts: list[Path]) -> list[str]:
    from claudetracing.transcript.turns import read_session

    return [t.key for p in transcripts for t in read_session(p, final=True).turns]
