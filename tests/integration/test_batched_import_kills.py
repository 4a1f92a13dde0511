"""`traces import` killed in the middle of a batch of turns: the store keeps whole batches only,
and the next import stores every turn exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from claudetracing.core import config as config_mod
from claudetracing.export import ledger
from claudetracing.export.exporter import BATCH_TURNS
from claudetracing.setup.sample_sessions import write_synthetic_session
from claudetracing.trace.builder import TURN_KEY_TAG, span_count
from claudetracing.transcript.turns import read_session
from tests.tracing import stored_traces, traces

TURNS = 2 * BATCH_TURNS + 20  # two full batches and a short one

# Runs the import as `traces import` does, and dies (SIGKILL: no cleanup, no finally) at the
# Nth call of the function named on the command line.
IMPORT_AND_DIE = """
import os, signal, sys
from pathlib import Path

from claudetracing.core import config as config_mod
from claudetracing.export import backfill, ledger
from claudetracing.export.exporter import Exporter
from claudetracing.export.prepare import Preparer

transcript, where, nth = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if where == "log_spans":  # inside a batch's transaction: its traces started, no span stored
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as owner
else:  # "add_many": the batch is committed and read back, not yet recorded in the ledger
    owner = ledger.ResponseIndex
original = getattr(owner, where)
calls = []

def dying(*args, **kwargs):
    calls.append(1)
    if len(calls) == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)

setattr(owner, where, dying)
cfg = config_mod.load(Path.cwd())
backfill.run_import(Exporter(cfg, pipeline=Preparer(cfg)), [transcript])
"""


def _session(tmp_path: Path) -> Path:
    path = write_synthetic_session(
        tmp_path / "projects" / "long-session.jsonl",
        turns=TURNS,
        tools_per_turn=1,
        output_chars=200,
        subagent_every=7,
    )
    old = time.time() - 3600  # over: its last turn is exported as it stands
    os.utime(path, (old, old))
    return path


def _import_and_die(repo: Path, transcript: Path, where: str, nth: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_DIE, str(transcript), where, str(nth)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]


def _stored(repo: Path) -> list:  # type: ignore[type-arg]
    """Every trace of the experiment, with its spans; and none hiding without them."""
    cfg = config_mod.load(repo)
    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    import mlflow

    client = mlflow.MlflowClient(cfg.tracking_uri)
    experiment = client.get_experiment_by_name(cfg.experiment)
    assert experiment is not None
    infos = client.search_traces(
        locations=[experiment.experiment_id], max_results=1000, include_spans=False
    )
    assert len(infos) == len(found), "traces without their spans were left behind"
    return found


@pytest.mark.parametrize(
    ("where", "left_after_kill", "exported_on_rerun"),
    [
        # Killed inside the second batch's transaction: it rolls back, none of it is left.
        ("log_spans", BATCH_TURNS, TURNS - BATCH_TURNS),
        # Killed after the second batch was stored, before the ledger knew: found, not redone.
        ("add_many", 2 * BATCH_TURNS, TURNS - 2 * BATCH_TURNS),
    ],
)
def test_a_kill_midway_leaves_whole_batches_and_a_rerun_completes_exactly_once(
    where: str,
    left_after_kill: int,
    exported_on_rerun: int,
    repo: Path,
    local_store: Path,
    tmp_path: Path,
) -> None:
    transcript = _session(tmp_path)
    _import_and_die(repo, transcript, where, nth=2)
    found = _stored(repo)
    assert len(found) == left_after_kill
    assert all(len(t.data.spans) > 1 for t in found)  # whole traces only
    rerun = traces("import", str(transcript), cwd=repo)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{exported_on_rerun} turn(s) exported" in rerun.stderr
    turns = read_session(transcript, final=True).turns
    found = _stored(repo)
    by_key = {t.info.tags[TURN_KEY_TAG]: t for t in found}
    assert Counter(t.info.tags[TURN_KEY_TAG] for t in found) == Counter(t.key for t in turns)
    for turn in turns:
        assert len(by_key[turn.key].data.spans) == span_count(turn.run)
    cfg = config_mod.load(repo)
    state = ledger.open_session(cfg.tracking_uri, cfg.experiment, transcript.stem)
    assert state.started == set() and state.offset == transcript.stat().st_size
    again = traces("import", str(transcript), cwd=repo)
    assert "0 turn(s) exported" in again.stderr
    assert len(_stored(repo)) == TURNS
