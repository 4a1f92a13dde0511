"""The shard split of scripts/test: every file in exactly one shard, balanced by measured time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import conftest


def test_every_file_lands_in_exactly_one_shard() -> None:
    files = [f"/x/tests/test_{n}.py" for n in range(17)]
    assigned = conftest.shard_of(files, 2)
    assert sorted(assigned) == sorted(files)
    assert set(assigned.values()) == {0, 1}


def test_heavy_files_are_spread_by_their_measured_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(conftest.__file__).parent.parent
    times = {"tests/a.py": 600.0, "tests/b.py": 500.0, "tests/c.py": 100.0, "tests/d.py": 20.0}
    table = tmp_path / "durations.json"
    table.write_text(json.dumps(times), encoding="utf-8")
    monkeypatch.setattr(conftest, "DURATIONS", table)
    files = [str(root / name) for name in times] + [str(root / "tests/new.py")]
    assigned = conftest.shard_of(files, 2)
    loads = [0.0, 0.0]
    weights = {**times, "tests/new.py": 300.0}  # unmeasured: the median of the measured ones
    for name, weight in weights.items():
        loads[assigned[str(root / name)]] += weight
    # by name order (a, b | c, d, new) the split would be 1100 against 220
    assert max(loads) - min(loads) <= 100.0
    assert assigned[str(root / "tests/a.py")] != assigned[str(root / "tests/b.py")]
