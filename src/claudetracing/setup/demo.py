"""`traces demo`: the bundled sample sessions, through the whole pipeline, into the local store.

The sessions were recorded in a checkout at /home/dev/widgets on another machine; the demo makes
a repository with the same history here and imports them into it, as `traces import` does with
a colleague's transcripts. So the enrichments have something to tell: the branch each session
recorded, its commit as of each turn's end, the repository's name, the files each turn wrote."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from claudetracing.core import config as config_mod
from claudetracing.core import git_info, paths, private_files
from claudetracing.export.backfill import run_import
from claudetracing.export.exporter import exporter_for
from claudetracing.export.tally import Tally
from claudetracing.setup.sample_sessions import write_demo_sessions

DEMO_EXPERIMENT = "claude-code/demo"
DEMO_CWD = "/home/dev/widgets"
DEMO_REMOTE = "https://github.com/acme/widgets.git"
DEMO_START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
GREET = "def greet(name):\n    return f'HI {name.upper()}!'\n"


@dataclass
class DemoTrace:
    trace_id: str
    tags: dict[str, str]

    def summary(self) -> str:
        """What the enrichments added, in one line: branch@commit, the files written."""
        branch, commit = self.tags.get("git.branch"), self.tags.get("git.commit_id")
        where = f"{branch or '?'}@{commit[:7]}" if commit else "no commit"
        try:
            files = json.loads(self.tags.get("files.modified", "[]"))
        except ValueError:
            files = []
        wrote = f"wrote {', '.join(files)}" if files else "wrote nothing"
        return f"{self.trace_id}  {where}  {wrote}"


@dataclass
class DemoResult:
    summary: Tally
    experiment: str
    tracking_uri: str
    traces: list[DemoTrace]
    repository: Path | None  # None when git could not run: no git tags then

    @property
    def trace_ids(self) -> list[str]:
        return [t.trace_id for t in self.traces]


def demo_history() -> list[git_info.DatedCommit]:
    """The widgets repository: started the evening before the first session, and the shouting
    `greet` committed between the two sessions (the second one is on that commit)."""
    return [
        git_info.DatedCommit(
            DEMO_START - timedelta(hours=16), "Start widgets", {"README.md": "# widgets\n"}
        ),
        git_info.DatedCommit(
            DEMO_START + timedelta(minutes=12), "greet() shouts the name", {"hello.py": GREET}
        ),
    ]


def run_demo() -> DemoResult:
    from claudetracing.export import reads

    folder = paths.data_dir() / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    paths.ensure_private_dir(folder)
    private_files.tighten(paths.data_dir())  # the store it writes to: ours only
    checkout = folder / "widgets"
    made = git_info.create_repository(checkout, demo_history(), branch="main", remote=DEMO_REMOTE)
    transcripts = write_demo_sessions(folder / "projects", DEMO_CWD, DEMO_START)
    cfg = config_mod.Config(
        root=checkout,
        values={
            config_mod.TRACKING_URI: config_mod.Value(config_mod.LOCAL, "demo"),
            config_mod.EXPERIMENT: config_mod.Value(DEMO_EXPERIMENT, "demo"),
            config_mod.USER: config_mod.Value("demo@example.com", "demo"),
        },
    )
    exporter = exporter_for(cfg)
    summary = run_import(exporter, transcripts)
    found = []
    for turn_key in _turn_keys(transcripts):
        trace_id = exporter.backend.find_turn(turn_key)
        stored = reads.trace(exporter.backend, trace_id) if trace_id else None
        if trace_id and stored is not None:
            found.append(DemoTrace(trace_id, dict(stored.row.tags)))
    return DemoResult(summary, DEMO_EXPERIMENT, cfg.tracking_uri, found, checkout if made else None)


def _turn_keys(transcripts: list[Path]) -> list[str]:
    from claudetracing.transcript.turns import read_session

    return [t.key for p in transcripts for t in read_session(p, final=True).turns]
