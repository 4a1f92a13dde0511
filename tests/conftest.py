"""Isolation for every test: a scratch HOME and data folder, hermetic git, no leaked settings."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.harness.fixtures", "tests.databricks_standin.fixtures"]

FIXTURES = Path(__file__).parent / "fixtures"
SESSIONS = FIXTURES / "sessions"
_SCRUBBED_PREFIXES = ("DATABRICKS_", "MLFLOW_", "CLAUDETRACING_", "ANTHROPIC_", "GIT_", "OTEL_")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test reads or writes the real home, Claude config, git config or data folder."""
    for key in list(os.environ):
        if key.startswith(_SCRUBBED_PREFIXES) or key in ("CLAUDE_CONFIG_DIR", "XDG_DATA_HOME"):
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test Dev\n\temail = dev@example.com\n[init]\n\tdefaultBranch = main\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("CLAUDETRACING_HOME", str(tmp_path / "ct-home"))
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    # MLflow's legacy Databricks config reader freezes `~` at import: point it here too.
    provider = sys.modules.get("mlflow.legacy_databricks_cli.configure.provider")
    if provider is not None and hasattr(provider, "_home"):
        monkeypatch.setattr(provider, "_home", str(home))
    yield home


@pytest.fixture(scope="session")
def _store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow SQLite store, made once (migrations take seconds)."""
    folder = tmp_path_factory.mktemp("store-template")
    db = folder / "mlflow.db"
    code = "import mlflow,sys; mlflow.MlflowClient(sys.argv[1]).search_experiments()"
    subprocess.run(
        [sys.executable, "-c", code, f"sqlite:///{db}"], check=True, capture_output=True, cwd=folder
    )
    return db


@pytest.fixture
def local_store(_store_template: Path, isolated: Path) -> Path:
    """The embedded local store of this test's data folder, ready to use."""
    from claudetracing.core import paths

    target = paths.local_store_dir()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(_store_template, target / "mlflow.db")
    return target / "mlflow.db"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


def new_repo(parent: Path, name: str) -> Path:
    """A real git repository `parent/name` with one commit and an `origin` remote."""
    root = parent / name
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text(f"# {name}\n", encoding="utf-8")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "remote", "add", "origin", f"https://github.com/acme/{name}.git")
    return root


@pytest.fixture
def repo(tmp_path: Path, isolated: Path) -> Path:
    """A real git repository with one commit and an `origin` remote."""
    return new_repo(tmp_path, "widgets")


DURATIONS = Path(__file__).parent / "durations.json"


def _weights(files: list[str]) -> dict[str, float]:
    """Each file's last measured seconds (tests/durations.json); a file not yet measured
    weighs as much as the median one."""
    import json

    root = Path(__file__).parent.parent
    try:
        known = {str(root / k): float(v) for k, v in json.loads(DURATIONS.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        known = {}
    measured = [known[f] for f in files if f in known]
    default = statistics.median(measured) if measured else 1.0
    return {f: known.get(f, default) for f in files}


def shard_of(files: list[str], count: int) -> dict[str, int]:
    """Whole files to shards, heaviest first onto the lightest shard: deterministic, so every
    shard process computes the same split."""
    weights = _weights(files)
    loads = [0.0] * count
    assigned: dict[str, int] = {}
    for path in sorted(files, key=lambda f: (-weights[f], f)):
        target = loads.index(min(loads))
        assigned[path] = target
        loads[target] += weights[path]
    return assigned


@pytest.hookimpl(trylast=True)  # after -m has deselected: shards share what is left
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`TRACES_TEST_SHARD=i/n` keeps the i-th of n shards of the test files, balanced by their
    measured time (scripts/test runs the tests that do not drive Claude Code as two shards side
    by side, so both cores work once the real-CLI tests, which mostly wait, are done). Whole
    files, so module fixtures are built once."""
    shard = os.environ.get("TRACES_TEST_SHARD")
    if not shard:
        return
    index, count = (int(part) for part in shard.split("/"))
    assigned = shard_of(sorted({str(item.path) for item in items}), count)
    mine = {path for path, n in assigned.items() if n == index}
    config.hook.pytest_deselected(items=[i for i in items if str(i.path) not in mine])
    items[:] = [i for i in items if str(i.path) in mine]


_spent: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With TRACES_TEST_DURATIONS_OUT set, add up each file's setup, call and teardown time
    (scripts/test-durations merges the shards' files into tests/durations.json)."""
    if os.environ.get("TRACES_TEST_DURATIONS_OUT"):
        path = report.nodeid.split("::", 1)[0]
        _spent[path] = _spent.get(path, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("TRACES_TEST_DURATIONS_OUT")
    if out and _spent:
        import json

        Path(out).parent.mkdir(parents=True, exist_ok=True)  # a folder named but not made yet
        Path(out).write_text(json.dumps(_spent, indent=1, sort_keys=True), encoding="utf-8")
