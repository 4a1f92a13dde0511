"""`traces init` checks every input before writing; `disable` gives the files back as they were."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import git
from tests.tracing import traces

HAND_SETTINGS = {"permissions": {"allow": ["Bash(npm test)"]}, "model": "opus"}


def _tree(repo: Path) -> dict[str, bytes]:
    """Every file of the work tree (not .git), with its bytes."""
    return {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts[:1]
    }


@pytest.fixture
def lived_in(repo: Path) -> Path:
    """A repository with its own .gitignore and settings, committed."""
    (repo / ".gitignore").write_text("node_modules/\n", encoding="utf-8")
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text(
        json.dumps(HAND_SETTINGS, indent=4), encoding="utf-8"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "settings")
    return repo


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--tracking-uri", "not-a-uri"], "--tracking-uri 'not-a-uri'"),
        (["--tracking-uri", "file:///tmp/mlruns"], "--tracking-uri"),
        (["--tracking-uri", "http://"], "--tracking-uri"),
        (["--tracking-uri", "http://localhost:99999"], "--tracking-uri"),
        (["--tracking-uri", "sqlite:///missing/folder/mlflow.db"], "does not exist"),
        (["--tracking-uri", "http://127.0.0.1:9"], "nothing was written"),  # nobody listens
        (["--local", "--experiment", " "], "--experiment"),
        (["--local", "-e", " team"], "--experiment"),
        (["--profile", ""], "--profile"),
        (["-p", "nosuch"], "'nosuch'"),
        (["--local", "--enrichments", ""], "--enrichments"),
        (["--local", "--enrichments", "git,bogus"], "bogus"),
        (["--local", "--scope", "shared"], "--scope"),
        (["--local", "--scope", "everyone"], "--scope"),
        (["--local", "--tracking-uri", "sqlite:///x.db"], "--local and --tracking-uri"),
        (["--local", "--profile", "dev"], "--local and --profile"),
    ],
)
def test_a_bad_input_writes_nothing_and_says_which(
    lived_in: Path, argv: list[str], named: str
) -> None:
    before = _tree(lived_in)
    env = {**os.environ, "COLUMNS": "200", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    done = traces("init", "--yes", *argv, cwd=lived_in, env=env)
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert done.returncode in (1, 2), output
    assert named in output, output
    assert _tree(lived_in) == before
    assert git(lived_in, "status", "--porcelain") == ""


def test_a_relative_sqlite_store_belongs_to_the_repository_root(repo: Path) -> None:
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    done = traces("init", "--tracking-uri", "sqlite:///mlflow.db", "--yes", cwd=sub)
    assert done.returncode == 0, done.stderr
    assert f"sqlite:///{repo.resolve()}/mlflow.db" in done.stderr
    assert "relative to the repository root" in done.stderr
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_TRACKING_URI"] == f"sqlite:///{repo.resolve()}/mlflow.db"
    assert (repo / "mlflow.db").is_file()  # the verify trace went there
    assert not list(sub.glob("*.db"))


def test_a_relative_sqlite_store_in_settings_is_read_from_the_repository_root(
    repo: Path,
) -> None:
    done = traces("init", "--tracking-uri", f"sqlite:///{repo}/team.db", "--yes", cwd=repo)
    assert done.returncode == 0, done.stderr
    # A teammate writes the relative spelling by hand; commands run from a subfolder.
    path = repo / ".claude/settings.local.json"
    path.write_text(path.read_text().replace(f"sqlite:///{repo}/team.db", "sqlite:///team.db"))
    sub = repo / "docs"
    sub.mkdir()
    done = traces("status", "--json", cwd=sub)
    report = json.loads(done.stdout)
    assert report["tracking_uri"] == f"sqlite:///{repo.resolve()}/team.db", report
    assert report["backend_ok"], report
    assert not list(sub.glob("*.db"))


TWO = '{\n  "model": "opus",\n  "env": {\n    "FOO": "bar"\n  }\n}\n'
HOOKED = {
    "hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "./notify.sh"}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint"}]}],
    },
    "permissions": {"allow": ["Bash(npm test)", "Read(*)"], "deny": []},
    "env": {"FOO": "bar", "LANG": "é"},
}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(TWO, id="two-spaces"),
        pytest.param(json.dumps(HOOKED, indent=4, ensure_ascii=False), id="four-spaces-no-newline"),
        pytest.param(json.dumps(HOOKED, indent="\t") + "\n", id="tabs-and-escapes"),
        pytest.param(
            '{\n  "permissions": { "allow": ["Bash(npm test)", "Read(*)"] },\n'
            '  "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "./notify.sh"}]}]}\n'
            "}\n",
            id="inline-arrays-and-other-hooks",
        ),
        pytest.param('{"model":"opus","env":{"FOO":"bar"}}', id="one-compact-line"),
        pytest.param(TWO.replace("\n", "\r\n"), id="crlf"),
    ],
)
def test_disable_after_init_gives_back_the_settings_byte_for_byte(
    repo: Path, local_store: Path, text: str
) -> None:
    (repo / ".claude").mkdir()
    path = repo / ".claude/settings.json"
    path.write_bytes(text.encode("utf-8"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hand-written settings")
    done = traces("init", "--local", "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr
    merged = json.loads(path.read_text(encoding="utf-8"))
    assert "traces hook" in json.dumps(merged["hooks"])
    assert merged["env"]["CLAUDETRACING_EXPERIMENT"]
    done = traces("disable", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == text.encode("utf-8")
    assert git(repo, "status", "--porcelain") == ""
