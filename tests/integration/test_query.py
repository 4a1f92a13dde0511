"""`traces list/search/show/usage` on stores filled by the real pipeline; golden outputs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.sessions import copy_recorded, recorded
from tests.tracing import traces

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
DEMO = ["--experiment", "claude-code/demo"]
ALL = ["--since", "2026-11-01", "--until", "2026-11-30"]


def _normal(text: str) -> str:
    text = re.sub(r"tr-[0-9a-f]{32}", "tr-<id>", text)
    return re.sub(r"\"trace_id\": \"tr-<id>\"", '"trace_id": "tr-<id>"', text)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def _demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo store for the module's read-only queries (building it takes seconds)."""
    home = tmp_path_factory.mktemp("demo-home")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "CLAUDETRACING_HOME": str(home / "ct")}
    done = traces("demo", cwd=home, env=env)
    assert done.returncode == 0, done.stderr
    return home


@pytest.fixture
def demo_store(_demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAUDETRACING_HOME", str(_demo_home / "ct"))
    return _demo_home


def _run(cwd: Path, *args: str) -> str:
    done = traces(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_search_json_has_stable_fields(demo_store: Path) -> None:
    out = _run(demo_store, "search", *DEMO, *ALL, "-f", "json")
    rows = json.loads(out)
    assert len(rows) == 4
    assert set(rows[0]) == {
        "trace_id",
        "session",
        "user",
        "time",
        "duration_ms",
        "status",
        "prompt",
        "tokens",
        "cost_usd",
        "tags",
        "tool_errors",
    }
    assert [r["time"] for r in rows] == sorted((r["time"] for r in rows), reverse=True)
    _golden("search.json", _normal(out))


def test_search_table_and_context(demo_store: Path) -> None:
    _golden("search-table.txt", _normal(_run(demo_store, "search", *DEMO, *ALL, "-f", "table")))
    context = _run(demo_store, "search", *DEMO, *ALL, "-f", "context")
    _golden("search-context.txt", _normal(context))
    assert "Bash(python -m pytest -q) → ERROR" in context
    small = _run(demo_store, "search", *DEMO, *ALL, "-f", "context", "--budget", "600")
    assert len(small) < 900 and "more turn(s) left out" in small


def test_filters_run_on_the_server(demo_store: Path) -> None:
    def count(*args: str) -> int:
        return len(json.loads(_run(demo_store, "search", *DEMO, *ALL, "-f", "json", *args)))

    assert count("--session", "5a3f7c2e-0d1b-4e8a-9c6f-1b2d3e4f5a6b") == 3
    assert count("--session", "nope") == 0
    assert count("--user", "demo@example.com") == 4
    assert count("--status", "ERROR") == 0
    assert count("--status", "ok") == 4
    assert count("--limit", "3") == 3
    assert count("--until", "2026-11-20T09:10:00Z") == 3
    recent = _run(demo_store, "search", *DEMO, "--hours", "1", "-f", "json")
    assert json.loads(recent) == []  # the demo sessions are days old


def test_show_prints_the_span_tree(demo_store: Path) -> None:
    rows = json.loads(_run(demo_store, "search", *DEMO, *ALL, "-f", "json"))
    (subagent,) = [r for r in rows if "subagent" in r["prompt"]]
    out = _run(demo_store, "show", subagent["trace_id"], *DEMO)
    _golden("show.txt", _normal(out))
    assert "subagent:general-purpose" in out and "Bash(wc -l hello.py) → ok" in out


@pytest.mark.parametrize("by", ["day", "model", "user", "repo", "session"])
def test_usage_groups(demo_store: Path, by: str) -> None:
    out = _run(demo_store, "usage", *DEMO, "--since", "2026-11-01", "--by", by, "-f", "json")
    rows = json.loads(out)
    total_cost = sum(r["cost_usd"] for r in rows)
    searched = json.loads(_run(demo_store, "search", *DEMO, *ALL, "-f", "json"))
    assert total_cost == pytest.approx(sum(r["cost_usd"] for r in searched), abs=1e-6)
    _golden(f"usage-{by}.json", out)


def test_usage_table_and_chart(demo_store: Path) -> None:
    out = _run(demo_store, "usage", *DEMO, "--since", "2026-11-01", "--by", "model")
    _golden("usage-model.txt", out)
    chart = _run(
        demo_store, "usage", *DEMO, "--since", "2026-11-01", "--by", "session", "-f", "chart"
    )
    assert chart.count("█") > 10 and "$" in chart


def test_list_counts_and_last_activity(demo_store: Path) -> None:
    rows = json.loads(_run(demo_store, "list", "--json"))
    (demo,) = [r for r in rows if r["name"] == "claude-code/demo"]
    assert demo["traces"] == 4 and demo["last_activity"].startswith("2026-11-20T09:30")


def test_bad_input_is_a_clear_error(demo_store: Path) -> None:
    for args, words in (
        (["search", *DEMO, "--since", "last tuesday"], "cannot read --since 'last tuesday'"),
        (["search", *DEMO, "--trace-id", "tr-" + "0" * 32], "no trace tr-000"),
        (["search", *DEMO, "--trace-id", "banana"], "is not a trace id"),
        (["show", "tr-" + "f" * 32, *DEMO], "no trace"),
        (["search", "--experiment", "claude-code/nope"], "does not exist"),
        (["search", *DEMO, "--status", "BROKEN"], "unknown status"),
        (["usage", *DEMO, "--days", "3", "--since", "7d"], "exclude each other"),
    ):
        done = traces(*args, cwd=demo_store)
        assert done.returncode == 1, (args, done.stdout)
        assert words in done.stderr, (args, done.stderr)


def test_search_by_repo_and_branch_on_real_git_tags(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    assert traces("init", "--local", "--yes", "--no-verify", cwd=repo).returncode == 0
    path = copy_recorded("tool_call", tmp_path / "s")
    text = path.read_text().replace(recorded("tool_call").case["cwd"], str(repo))
    path.write_text(text)
    assert traces("import", str(path), cwd=repo).returncode == 0
    found = json.loads(
        _run(repo, "search", "--since", "30d", "--repo", "acme/widgets", "-f", "json")
    )
    assert len(found) == 1 and found[0]["tags"]["git.repo_name"] == "acme/widgets"
    assert (
        json.loads(_run(repo, "search", "--since", "30d", "--branch", "nope", "-f", "json")) == []
    )
