"""`traces list/search/usage` as a user meets them: in a real terminal of 60, 80 and 120 columns,
with failed tools shown, and with the spellings of the old `claudetracing` package."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pexpect
import pytest

from tests.tracing import TRACES, traces

DEMO = ["-e", "claude-code/demo"]
ALL = ["--since", "2026-11-01", "--until", "2026-11-30"]
FAILING_PROMPT = "Run the tests."  # the demo turn whose Bash call fails, answered all the same
WIDTHS = [60, 80, 120]


def _demo(home: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "CLAUDETRACING_HOME": str(home / "ct")}
    done = traces("demo", cwd=home, env=env)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def _demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-home")
    _demo(home)
    return home


@pytest.fixture
def demo_store(_demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAUDETRACING_HOME", str(_demo_home / "ct"))
    return _demo_home


def _run(cwd: Path, *args: str) -> str:
    done = traces(*args, cwd=cwd)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def _json(cwd: Path, *args: str) -> list[dict[str, object]]:
    found = json.loads(_run(cwd, *args))
    assert isinstance(found, list)
    return found


def _terminal(cwd: Path, width: int, *args: str) -> str:
    """What `traces ARGS` shows in a terminal `width` columns wide (its window size, as a
    terminal sets it; no COLUMNS variable), colours taken out."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    child = pexpect.spawn(
        TRACES,
        list(args),
        cwd=str(cwd),
        env={**env, "TERM": "xterm"},
        encoding="utf-8",
        timeout=120,
        dimensions=(50, width),
    )
    child.expect(pexpect.EOF)
    child.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before or "").replace("\r\n", "\n")
    assert child.exitstatus == 0, text
    return text


def _table_lines(text: str) -> list[str]:
    """The table, without the notes on stderr (a terminal wraps those; nothing is lost)."""
    return [
        line
        for line in text.splitlines()
        if line.strip()
        and not line.startswith(("left out to fit", "tool errors: "))
        and not re.fullmatch(r"\d+ (trace|tool)\(s\).*", line)
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_search_shows_whole_trace_ids_and_tool_errors_at_any_width(
    demo_store: Path, width: int
) -> None:
    rows = _json(demo_store, "search", *DEMO, *ALL, "-f", "json")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"OK"}
    shown = _terminal(demo_store, width, "search", *DEMO, *ALL)
    lines = _table_lines(shown)
    assert all(len(line) <= width for line in lines), "\n".join(lines)
    assert "trace id" in lines[0] and "tool errors" in lines[0]
    for row in rows:
        (line,) = [line for line in lines if str(row["trace_id"]) in line]  # whole, one line
        cells = line.split()
        at = cells.index(str(row["trace_id"]))
        expected = "1" if row["prompt"] == FAILING_PROMPT else "0"
        assert cells[at + 1 : at + 3] == ["OK", expected], line
    if width >= 120:
        assert "prompt" in lines[0] and "time (UTC)" in lines[0]
    else:
        assert "left out to fit" in shown  # and says so


@pytest.mark.parametrize("width", WIDTHS)
def test_usage_never_crops_a_number(demo_store: Path, width: int) -> None:
    args = ["usage", *DEMO, "--since", "2026-11-01", "--by", "session"]
    rows = _json(demo_store, *args, "-f", "json")
    shown = _terminal(demo_store, width, *args)
    assert "…" not in shown
    lines = _table_lines(shown)
    table = [line for line in lines if "█" not in line]
    assert all(len(line) <= width for line in table), "\n".join(table)
    for row in rows:
        (line,) = [line for line in table if line.startswith(str(row["key"]))]
        cost = f"${row['cost_usd']:,.4f}"
        whole = {f"{row[k]:,}" for k in ("turns", "input", "output", "cache_read")} | {
            f"{row['cache_creation']:,}",
            f"{row['total']:,}",
            cost,
        }
        cells = line.split()[1:]
        assert cells and set(cells) <= whole, (line, whole)  # each a whole figure of its row
        assert {f"{row['total']:,}", cost} <= set(cells)  # the ones that matter most stay
        (bar,) = [b for b in lines if "█" in b and b.startswith(str(row["key"]))]
        assert bar.endswith(cost)


@pytest.mark.parametrize("width", WIDTHS)
def test_list_shows_whole_names_ids_and_tool_errors(demo_store: Path, width: int) -> None:
    (demo,) = [r for r in _json(demo_store, "list", "--json") if r["name"] == "claude-code/demo"]
    assert (demo["traces"], demo["tool_errors"], demo["tool_errors_unknown"]) == (4, 1, 0)
    lines = _table_lines(_terminal(demo_store, width, "list"))
    assert all(len(line) <= width for line in lines), "\n".join(lines)
    assert "tool errors" in lines[0]
    (line,) = [line for line in lines if line.startswith("claude-code/demo ")]
    cells = line.split()
    assert cells[1] == demo["experiment_id"] and cells[3] == "1"


def test_tool_errors_in_json_context_and_tools(demo_store: Path) -> None:
    rows = _json(demo_store, "search", *DEMO, *ALL, "-f", "json")
    assert {r["prompt"]: r["tool_errors"] for r in rows}[FAILING_PROMPT] == 1
    assert sorted(r["tool_errors"] for r in rows) == [0, 0, 0, 1]
    failing = next(r for r in rows if r["prompt"] == FAILING_PROMPT)
    assert failing["status"] == "OK" and failing["tags"]["tools.errors"] == "1"  # type: ignore[index]
    context = _run(demo_store, "search", *DEMO, *ALL, "-f", "context")
    assert f"{failing['trace_id']} · OK · 1 tool error(s)" in context
    assert context.count("tool error(s)") == 1
    tools = _run(demo_store, "search", *DEMO, *ALL, "-f", "tools").splitlines()
    assert tools[0].split() == ["tool", "calls", "errors", "traces", "time"]
    bash = next(line.split() for line in tools if line.startswith("Bash "))
    assert bash[1:4] == ["3", "1", "2"]  # 3 calls in 2 traces, 1 failed


def test_the_meaning_of_status_and_tool_errors_is_in_the_help(demo_store: Path) -> None:
    text = " ".join(_run(demo_store, "search", "--help").split())
    assert "Status OK means the turn was answered, even when a tool failed" in text
    assert "Tool errors counts the turn's failed tool calls" in text


def test_traces_stored_before_the_tag_count_from_spans_or_show_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from claudetracing.core import paths

    home = tmp_path / "old"
    home.mkdir()
    _demo(home)
    monkeypatch.setenv("CLAUDETRACING_HOME", str(home / "ct"))
    rows = _json(home, "search", *DEMO, *ALL, "-f", "json")
    failing = next(r for r in rows if r["prompt"] == FAILING_PROMPT)
    client = mlflow.MlflowClient(paths.local_tracking_uri())
    for row in rows:  # as every trace exported before `tools.errors` existed
        client.delete_trace_tag(str(row["trace_id"]), "tools.errors")
    assert {r["tool_errors"] for r in _json(home, "search", *DEMO, *ALL, "-f", "json")} == {None}
    context = _run(home, "search", *DEMO, *ALL, "-f", "context")
    assert f"{failing['trace_id']} · OK · 1 tool error(s)" in context  # read from its spans
    trace_id = str(failing["trace_id"])
    shown = _terminal(home, 120, "search", *DEMO, *ALL)
    cells = next(x for x in shown.splitlines() if trace_id in x).split()
    assert cells[cells.index(trace_id) + 1 : cells.index(trace_id) + 3] == ["OK", "-"]
    (demo,) = [r for r in _json(home, "list", "--json") if r["name"] == "claude-code/demo"]
    assert (demo["tool_errors"], demo["tool_errors_unknown"]) == (0, 4)
    assert "4 trace(s) exported before traces counted them" in _terminal(home, 120, "list")


def test_every_spelling_of_the_claudetracing_package_works(demo_store: Path) -> None:
    """Its README and `traces search --help` (claudetracing 0.2.0): -e/--experiment, -l/--limit,
    --hours, --since, --trace-id, -f/--format summary|json|context|tools; and --experiment-id."""
    (demo,) = [r for r in _json(demo_store, "list", "--json") if r["name"] == "claude-code/demo"]
    ids = {
        r["trace_id"]
        for r in _json(demo_store, "search", "--experiment", "claude-code/demo", *ALL, "-f", "json")
    }
    assert len(ids) == 4
    for spelling in (
        ["-e", "claude-code/demo"],
        ["--experiment", "claude-code/demo"],
        ["--experiment-id", str(demo["experiment_id"])],
    ):
        found = _json(demo_store, "search", *spelling, *ALL, "-f", "json")
        assert {r["trace_id"] for r in found} == ids, spelling
    for spelling in (["-l", "2"], ["--limit", "2"]):
        assert len(_json(demo_store, "search", *DEMO, *ALL, *spelling, "-f", "json")) == 2
    assert (
        len(_json(demo_store, "search", *DEMO, "--since", "2026-11-20T09:00:20", "-f", "json")) == 2
    )
    assert _json(demo_store, "search", *DEMO, "--hours", "24", "-f", "json") == []
    rows = _json(demo_store, "search", *DEMO, *ALL, "-f", "json")
    one = str(next(r for r in rows if r["prompt"] == FAILING_PROMPT)["trace_id"])
    assert [
        r["trace_id"] for r in _json(demo_store, "search", *DEMO, "--trace-id", one, "-f", "json")
    ] == [one]
    for spelling in (["-f", "summary"], ["--format", "summary"], ["-f", "table"]):
        out = _run(demo_store, "search", *DEMO, *ALL, *spelling)
        assert "trace id" in out and all(i in out for i in ids), spelling
    for spelling in (["-f", "json"], ["--format", "json"]):
        assert len(_json(demo_store, "search", *DEMO, *ALL, *spelling)) == 4
    for spelling in (["-f", "context"], ["--format", "context"]):
        assert "User: Run the tests." in _run(demo_store, "search", *DEMO, *ALL, *spelling)
    for spelling in (["-f", "tools"], ["--format", "tools"]):
        assert "Bash" in _run(demo_store, "search", *DEMO, *ALL, *spelling)
    assert "claude-code/demo" in _run(demo_store, "list")
    for spelling in (["-e", "claude-code/demo"], ["--experiment-id", str(demo["experiment_id"])]):
        assert "$" in _run(demo_store, "usage", *spelling, "--since", "2026-11-01")
        assert "Bash(python -m pytest -q) → ERROR" in _run(demo_store, "show", one, *spelling)


def test_wrong_experiment_spellings_are_clear_errors(demo_store: Path) -> None:
    for args, words in (
        (["search", "-e", "x", "--experiment-id", "1"], "exclude each other"),
        (["search", "--experiment-id", "999"], "no claude-code experiment with id '999'"),
    ):
        done = traces(*args, cwd=demo_store)
        assert done.returncode == 1, (args, done.stdout)
        assert words in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
