"""The benchmark harness runs end to end and prints its table; no timing is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.stats import CELL_RE, Sample
from bench.table import COLUMNS, Row, render

REPO = Path(__file__).resolve().parents[2]


def _cells(line: str) -> list[str]:
    # Cells may hold an escaped pipe (`\|`): split only on the bare ones.
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def parse_table(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) >= 3, text
    header = _cells(lines[0])
    assert header == list(COLUMNS)
    assert set(lines[1]) <= {"|", "-"}
    rows = [dict(zip(header, _cells(line), strict=True)) for line in lines[2:]]
    return rows


def assert_figure(cell: str) -> None:
    """`median unit (min-max, n=N)`, with min <= median <= max and N >= 1."""
    match = CELL_RE.match(cell)
    assert match, f"not a figure: {cell!r}"
    assert match["n"], f"no spread in {cell!r}"
    median, lo, hi = float(match["median"]), float(match["lo"]), float(match["hi"])
    assert lo <= median <= hi
    assert int(match["n"]) >= 1


def run_bench(tmp_path: Path, *args: str) -> tuple[list[dict[str, str]], str]:
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *args, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return parse_table(proc.stdout), out.read_text(encoding="utf-8")


def test_startup_rows_and_results_file(tmp_path: Path) -> None:
    rows, results = run_bench(tmp_path, "--only", "startup")
    assert [r["id"] for r in rows] == [
        "startup.bare",
        "startup.help",
        "startup.help_target",
        "startup.status",
    ]
    for row in rows:
        if row["id"] == "startup.help_target":
            assert row["claudetracing"].startswith("+") and "budget" in row["notes"]
        else:
            assert_figure(row["claudetracing"])
        assert row["MLflow"].startswith("n/a")
    for key in ("- CPU:", "- cores:", "- RAM:", "- Python:", "- mlflow:", "- Claude Code:"):
        assert key in results
    assert "python -m bench --quick --only startup" in results
    assert "| startup.status |" in results


def test_hook_rows_compare_both_sides(tmp_path: Path) -> None:
    rows, _ = run_bench(tmp_path, "--only", "hook")
    by_id = {r["id"]: r for r in rows}
    assert list(by_id) == [
        "hook.bare",
        "hook.import",
        "hook.stop",
        "hook.target",
        "hook.installed",
        "hook.spawn",
        "hook.e2e",
    ]
    for key in (
        "hook.bare",
        "hook.import",
        "hook.stop",
        "hook.installed",
        "hook.spawn",
        "hook.e2e",
    ):
        assert_figure(by_id[key]["claudetracing"])
    for key in ("hook.bare", "hook.stop", "hook.e2e"):
        assert_figure(by_id[key]["MLflow"])
    for side in ("claudetracing", "MLflow"):
        assert by_id["hook.target"][side].startswith("+")
        assert CELL_RE.match(by_id["hook.target"][side])
    assert re.search(r"(PASS|FAIL)$", by_id["hook.target"]["notes"])


def test_cells_and_table_render() -> None:
    assert Sample([0.012, 0.010, 0.020]).cell() == "12.0 ms (10.0-20.0, n=3)"
    assert Sample([2.5], unit="MB").cell() == "2 MB (2-2, n=1)"
    assert Sample().cell().startswith("n/a")
    table = render([Row("a.b", "x | y", "-", Sample([1.5, 2.0]).cell(), "n/a", "")])
    (row,) = parse_table(table)
    assert row["measurement"] == "x | y"
    assert_figure(row["claudetracing"])


def test_corpus_rows_compare_both_sides(tmp_path: Path) -> None:
    rows, _ = run_bench(tmp_path, "--only", "corpus")
    by_id = {r["id"]: r for r in rows}
    assert list(by_id) == ["corpus.import", "corpus.rate", "corpus.rss"]
    for key in ("corpus.import", "corpus.rss"):
        assert_figure(by_id[key]["claudetracing"])
        assert_figure(by_id[key]["MLflow"])
    assert re.match(r"^\d+(\.\d+)? turns/s, \d+\.\d+ MB/s$", by_id["corpus.rate"]["claudetracing"])
    # Every turn of the corpus on our side; one trace per session file at most on MLflow's.
    traced = re.search(r"ours: (\d+) traces", by_id["corpus.import"]["notes"])
    files = re.search(r"MLflow: (\d+) traces", by_id["corpus.import"]["notes"])
    assert traced and files and int(traced.group(1)) > int(files.group(1))
