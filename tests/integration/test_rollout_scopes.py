"""Roll-out beyond one repository: `init --user`, `init --dir`, managed settings, and `status`
naming the scope of every value. The real `traces` CLI in subprocesses, real git repositories,
and hooks run as Claude Code runs them: every scope's distinct hook command, `sh -c`, with the
`env` of all scopes merged key by key (user < project < local < managed; checked against Claude
Code 2.1.197: identical commands in two scopes run once, distinct ones each run)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from claudetracing.capture import spool
from claudetracing.core import paths
from claudetracing.trace.builder import TURN_KEY_TAG
from claudetracing.transcript.turns import read_session
from tests.conftest import new_repo
from tests.databricks_standin.fixtures import StandinWorkspace
from tests.sessions import copy_recorded
from tests.tracing import TRACES, hook_payload, stored_traces, traces

BARE_PATH = "/usr/bin:/bin"  # a Claude Code started outside the venv: no `traces` on it
OLD_COMMAND = "command -v traces >/dev/null 2>&1 && traces hook || true"


def _scope_files(repo: Path, managed: Path | None) -> list[Path]:
    user = Path(os.environ["HOME"]) / ".claude" / "settings.json"
    files = [user, repo / ".claude/settings.json", repo / ".claude/settings.local.json"]
    return [*files, managed] if managed else files


def _read(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def claude_code_env(repo: Path, managed: Path | None = None) -> dict[str, str]:
    """The `env` Claude Code gives hooks: every scope's, a higher scope winning key by key."""
    env: dict[str, str] = {}
    for path in _scope_files(repo, managed):
        env.update(_read(path).get("env", {}))
    return env


def hook_commands(repo: Path, event: str, managed: Path | None = None) -> list[str]:
    """The commands Claude Code runs for `event`: every scope's, identical ones once."""
    found: list[str] = []
    for path in _scope_files(repo, managed):
        for group in _read(path).get("hooks", {}).get(event, []):
            for hook in group["hooks"]:
                if hook["command"] not in found:
                    found.append(hook["command"])
    return found


def fire(
    event: str,
    transcript: Path,
    repo: Path,
    managed: Path | None = None,
    *,
    path: str = BARE_PATH,
) -> int:
    """Run the hooks of `event` as Claude Code does; how many ran."""
    payload = hook_payload(event, transcript, repo)
    env = {
        "PATH": path,
        "HOME": os.environ["HOME"],
        "CLAUDETRACING_HOME": os.environ["CLAUDETRACING_HOME"],
        "CLAUDETRACING_NO_EXPORTER": "1",
        "CLAUDE_PROJECT_DIR": str(repo),
        **claude_code_env(repo, managed),
    }
    if managed:
        env["CLAUDETRACING_MANAGED_SETTINGS"] = str(managed)
    commands = hook_commands(repo, event, managed)
    for command in commands:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            input=json.dumps(payload),
            env=env,
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return len(commands)


def flush(cwd: Path) -> None:
    done = traces("flush", cwd=cwd)
    assert done.returncode == 0, done.stderr


def status(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = traces("status", "--json", "--offline", *args, cwd=cwd, env=env)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def _init_user(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return traces("init", "--user", "--yes", "--no-verify", *args, cwd=cwd)


def _user_settings() -> Path:
    return Path(os.environ["HOME"]) / ".claude" / "settings.json"


def _keys(found: list) -> Counter[str]:  # type: ignore[type-arg]
    return Counter(t.info.tags[TURN_KEY_TAG] for t in found)


def _session(tmp_path: Path, name: str, folder: str) -> Path:
    return copy_recorded(name, tmp_path / "projects" / folder)


def _local() -> str:
    return paths.local_tracking_uri()


def test_user_scope_traces_two_repositories_into_their_own_experiments(
    tmp_path: Path, local_store: Path
) -> None:
    done = _init_user("--local", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    alpha, beta = new_repo(tmp_path, "alpha"), new_repo(tmp_path, "beta-svc")
    one, two = _session(tmp_path, "tool_call", "a"), _session(tmp_path, "resume", "b")
    assert fire("Stop", one, alpha) == 1
    assert fire("Stop", two, beta) == 1
    flush(tmp_path)
    in_alpha = stored_traces(_local(), "claude-code/alpha")
    in_beta = stored_traces(_local(), "claude-code/beta-svc")
    assert _keys(in_alpha) == {t.key: 1 for t in read_session(one).turns}
    assert _keys(in_beta) == {t.key: 1 for t in read_session(two).turns}
    assert len(in_beta) == 2
    for repo in (alpha, beta):  # nothing was written into either repository
        assert not (repo / ".claude").exists()
        assert (
            subprocess.run(
                ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True
            ).stdout
            == ""
        )
    code, report = status(alpha)
    assert code == 0, report["problems"]
    assert report["hook_scopes"] == {"user": ["Stop", "StopFailure", "SessionEnd"]}
    assert report["experiment"] == "claude-code/alpha"
    assert report["settings"]["CLAUDETRACING_TRACKING_URI"]["scope"] == "user"
    assert report["settings"]["CLAUDETRACING_EXPERIMENT"]["scope"] == "default"


def test_project_settings_win_and_a_turn_whose_hook_runs_in_two_scopes_lands_once(
    tmp_path: Path, local_store: Path, _store_template: Path
) -> None:
    personal_db = tmp_path / "mine" / "user.db"
    personal_db.parent.mkdir()
    shutil.copy(_store_template, personal_db)
    user_uri = f"sqlite:///{personal_db}"
    assert _init_user("--tracking-uri", user_uri, cwd=tmp_path).returncode == 0
    repo = new_repo(tmp_path, "widgets")
    done = traces("init", "--local", "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr
    # Our identical command in two scopes runs once; an older form left in the project's
    # file runs beside it: the turn is spooled twice, and must land once.
    team = repo / ".claude/settings.json"
    data = json.loads(team.read_text())
    data["hooks"]["Stop"][0]["hooks"][0]["command"] = OLD_COMMAND
    team.write_text(json.dumps(data, indent=2) + "\n")
    session = _session(tmp_path, "subagent", "s")
    with_traces = f"{Path(TRACES).parent}:{BARE_PATH}"  # the old form finds `traces` on PATH
    assert fire("Stop", session, repo, path=with_traces) == 2
    assert spool.count(spool.PENDING) == 2
    flush(repo)
    (turn,) = read_session(session).turns
    assert _keys(stored_traces(_local(), "claude-code/widgets")) == {turn.key: 1}
    assert stored_traces(user_uri, "claude-code/widgets") == []
    code, report = status(repo)
    # The older form is named, in the file that holds it; the user scope's is fine.
    (problem,) = report["problems"]
    assert code == 1 and "older command" in problem["what"] and str(team) in problem["what"]
    assert str(_user_settings()) not in problem["what"]
    uri = report["settings"]["CLAUDETRACING_TRACKING_URI"]
    assert (uri["value"], uri["scope"]) == ("local", "local")
    assert [(h["value"], h["scope"]) for h in uri["shadowed"]] == [(user_uri, "user")]
    (conflict,) = [c for c in report["conflicts"] if c["key"] == "CLAUDETRACING_TRACKING_URI"]
    assert conflict["used"]["scope"] == "local" and conflict["hidden"][0]["scope"] == "user"
    assert any(user_uri in w["what"] and "is used here" in w["what"] for w in report["warnings"])
    assert report["hook_scopes"].keys() == {"user", "project"}
    text = traces("status", "--offline", cwd=repo)
    assert f"hides user: {user_uri}" in text.stdout
    assert "from user, project settings" in text.stdout


def test_init_dir_sets_up_another_repository_and_status_and_disable_follow(
    tmp_path: Path, local_store: Path
) -> None:
    repo = new_repo(tmp_path, "gadgets")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / "src").mkdir()
    done = traces(
        "init", "--dir", str(repo / "src"), "--local", "--yes", "--no-verify", cwd=outside
    )
    assert done.returncode == 0, done.stderr
    assert f"every Claude Code turn in {repo}" in done.stderr
    team = json.loads((repo / ".claude/settings.json").read_text())
    assert team["env"]["CLAUDETRACING_EXPERIMENT"] == "claude-code/gadgets"
    assert (repo / ".claude/settings.local.json").is_file() and (repo / ".gitignore").is_file()
    assert not (outside / ".claude").exists()
    code, report = status(outside, "--dir", str(repo))
    assert code == 0, report["problems"]
    assert report["root"] == str(repo) and report["hook_scopes"] == {
        "project": ["Stop", "StopFailure", "SessionEnd"]
    }
    session = _session(tmp_path, "tool_call", "t")
    fire("Stop", session, repo)
    flush(outside)
    assert len(stored_traces(_local(), "claude-code/gadgets")) == 1
    undone = traces("disable", "--dir", str(repo), cwd=outside)
    assert undone.returncode == 0, undone.stderr
    assert not (repo / ".claude").exists() and not (repo / ".gitignore").exists()


def test_init_dir_refuses_a_missing_folder_and_a_link_out_of_that_repository(
    tmp_path: Path,
) -> None:
    missing = traces("init", "--dir", str(tmp_path / "nope"), "--local", "--yes", cwd=tmp_path)
    assert missing.returncode == 1 and "no such folder" in missing.stderr
    repo = new_repo(tmp_path, "cloned")
    target = tmp_path / "victim.json"
    target.write_text("{}\n")
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").symlink_to(target)
    done = traces("init", "--dir", str(repo), "--local", "--yes", "--no-verify", cwd=tmp_path)
    assert done.returncode == 1 and "symbolic link" in done.stderr
    assert target.read_text() == "{}\n"
    assert not (repo / ".claude/settings.local.json").exists()
    both = traces("init", "--user", "--dir", str(repo), "--local", cwd=tmp_path)
    assert both.returncode == 1 and "exclude each other" in both.stderr


def test_disable_user_leaves_every_other_user_setting_byte_identical(
    tmp_path: Path, local_store: Path
) -> None:
    settings = _user_settings()
    settings.parent.mkdir()
    original = json.dumps(
        {
            "model": "opus",
            "permissions": {"allow": ["Bash(npm test)"]},
            "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "./notify.sh"}]}]},
            "env": {"EDITOR": "vim"},
        },
        indent=4,
    )  # four spaces and no final newline: kept as they are
    settings.write_text(original)
    settings.chmod(0o640)
    done = _init_user("--local", "--enrichments", "git,tokens", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(settings.read_text())
    assert data["model"] == "opus" and data["env"]["EDITOR"] == "vim"
    assert data["env"]["CLAUDETRACING_ENRICHMENTS"] == "git,tokens"
    assert data["env"]["CLAUDETRACING_EXECUTABLE"] == TRACES
    stop = [h["command"] for g in data["hooks"]["Stop"] for h in g["hooks"]]
    assert stop[0] == "./notify.sh" and len(stop) == 2
    assert "\n    " in settings.read_text()  # its own indentation
    written = settings.read_bytes()
    again = _init_user("--local", "--enrichments", "git,tokens", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to change" in again.stderr
    assert settings.read_bytes() == written
    undone = traces("disable", "--user", cwd=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert settings.read_text() == original
    assert stat.S_IMODE(settings.stat().st_mode) == 0o640


def test_user_settings_created_by_init_are_private_and_go_with_disable(tmp_path: Path) -> None:
    settings = _user_settings()
    dry = traces("init", "--user", "--local", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and "dry run: nothing written" in dry.stderr
    assert '"CLAUDETRACING_TRACKING_URI": "local"' in dry.stderr
    assert not settings.exists()
    assert _init_user("--local", cwd=tmp_path).returncode == 0
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.parent.stat().st_mode) == 0o700
    # Switching destination replaces the destination keys, not adds to them.
    db = tmp_path / "t.db"
    assert _init_user("--tracking-uri", f"sqlite:///{db}", cwd=tmp_path).returncode == 0
    assert json.loads(settings.read_text())["env"]["CLAUDETRACING_TRACKING_URI"] == (
        f"sqlite:///{db}"
    )
    assert traces("disable", "--user", cwd=tmp_path).returncode == 0
    assert not settings.exists()
    again = traces("disable", "--user", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to remove" in again.stderr


@pytest.mark.parametrize("content", ["{not json", "[]"])
def test_a_corrupt_user_settings_file_is_refused_and_left_alone(
    tmp_path: Path, content: str
) -> None:
    settings = _user_settings()
    settings.parent.mkdir()
    settings.write_text(content)
    for command in (("init", "--user", "--local", "--yes", "--no-verify"), ("disable", "--user")):
        done = traces(*command, cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert str(settings) in done.stderr and "Traceback" not in done.stderr
        assert settings.read_text() == content


def test_user_scope_refuses_what_cannot_work_for_every_repository(tmp_path: Path) -> None:
    relative = _init_user("--tracking-uri", "sqlite:///traces.db", cwd=tmp_path)
    assert relative.returncode == 1 and "relative" in relative.stderr
    braces = _init_user("--local", "--experiment", "cc/{name}", cwd=tmp_path)
    assert braces.returncode == 1 and "{repo}" in braces.stderr
    fixed = _init_user("--local", "--experiment", "all-my-work", cwd=tmp_path)
    assert fixed.returncode == 0 and "every repository" in fixed.stderr
    assert not _user_settings().exists() or "all-my-work" in _user_settings().read_text()
    home = traces("init", "--local", "--yes", "--no-verify", cwd=Path(os.environ["HOME"]))
    assert home.returncode == 1 and "traces init --user" in home.stderr


def test_managed_snippet_traces_a_repository_that_has_no_settings_of_its_own(
    tmp_path: Path, local_store: Path
) -> None:
    printed = traces("init", "--print-managed", "--local", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    snippet = json.loads(printed.stdout)
    assert snippet["env"] == {
        "CLAUDETRACING_EXECUTABLE": TRACES,
        "CLAUDETRACING_TRACKING_URI": "local",
    }
    assert set(snippet["hooks"]) == {"Stop", "StopFailure", "SessionEnd"}
    assert not _user_settings().exists()  # printed, nothing written
    managed = tmp_path / "etc" / "claude-code" / "managed-settings.json"
    managed.parent.mkdir(parents=True)
    managed.write_text(printed.stdout)
    repo = new_repo(tmp_path, "payments")
    session = _session(tmp_path, "tool_call", "m")
    assert fire("Stop", session, repo, managed) == 1
    flush(tmp_path)
    (turn,) = read_session(session).turns
    assert _keys(stored_traces(_local(), "claude-code/payments")) == {turn.key: 1}
    env = {**os.environ, "CLAUDETRACING_MANAGED_SETTINGS": str(managed)}
    code, report = status(repo, env=env)
    assert code == 0, report["problems"]
    assert report["hook_scopes"] == {"managed": ["Stop", "StopFailure", "SessionEnd"]}
    assert report["settings"]["CLAUDETRACING_TRACKING_URI"]["scope"] == "managed"
    assert str(managed) in report["settings"]["CLAUDETRACING_TRACKING_URI"]["source"]
    # Without the managed file, the same repository has no hooks: status fails and says so.
    code, report = status(repo)
    assert code == 1 and "hooks missing" in report["problems"][0]["what"]


def test_managed_snippet_for_databricks_names_a_shared_experiment_per_repository(
    tmp_path: Path,
) -> None:
    printed = traces("init", "--print-managed", "--profile", "ORG", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    env = json.loads(printed.stdout)["env"]
    assert env["CLAUDETRACING_TRACKING_URI"] == "databricks://ORG"
    assert env["CLAUDETRACING_EXPERIMENT"] == "/Shared/claude-code/{repo}"
    personal = traces(
        "init", "--print-managed", "--profile", "ORG", "--scope", "personal", cwd=tmp_path
    )
    assert personal.returncode == 1 and "traces init --user" in personal.stderr
    nowhere = traces("init", "--print-managed", cwd=tmp_path)
    assert nowhere.returncode == 1 and "--local" in nowhere.stderr
    secret = traces("init", "--print-managed", "--tracking-uri", "http://a:pw@h", cwd=tmp_path)
    assert secret.returncode == 1 and "pw" not in secret.stdout


def test_status_json_names_the_scope_of_every_value(tmp_path: Path, local_store: Path) -> None:
    repo = new_repo(tmp_path, "widgets")
    settings = _user_settings()
    settings.parent.mkdir()
    settings.write_text(
        json.dumps({"env": {"CLAUDETRACING_TRACKING_URI": "local", "CLAUDETRACING_USER": "u@x"}})
    )
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text(
        json.dumps({"env": {"CLAUDETRACING_EXPERIMENT": "team-exp", "CLAUDETRACING_USER": "t@x"}})
    )
    (repo / ".claude/settings.local.json").write_text(
        json.dumps({"env": {"CLAUDETRACING_ENRICHMENTS": "git"}})
    )
    managed = tmp_path / "managed-settings.json"
    managed.write_text(json.dumps({"env": {"CLAUDETRACING_CONTENT": "metadata"}}))
    env = {
        **os.environ,
        "CLAUDETRACING_MANAGED_SETTINGS": str(managed),
        "CLAUDETRACING_REDACT_PATTERNS": '["ACME-[0-9]+"]',
    }
    _, report = status(repo, env=env)
    scopes = {key: value["scope"] for key, value in report["settings"].items()}
    assert scopes == {
        "CLAUDETRACING_TRACKING_URI": "user",
        "CLAUDETRACING_USER": "project",
        "CLAUDETRACING_EXPERIMENT": "project",
        "CLAUDETRACING_ENRICHMENTS": "local",
        "CLAUDETRACING_CONTENT": "managed",
        "CLAUDETRACING_REDACT_PATTERNS": "env",
    }
    assert report["settings"]["CLAUDETRACING_USER"]["shadowed"] == [
        {"value": "u@x", "scope": "user", "source": f"user settings ({settings})"}
    ]
    assert report["conflicts"] == []  # the user e-mail is no destination
    # The organisation's destination hides the repository's: said as a warning.
    managed.write_text(json.dumps({"env": {"CLAUDETRACING_EXPERIMENT": "org/{repo}"}}))
    _, report = status(repo, env=env)
    assert report["experiment"] == "org/widgets"
    (conflict,) = report["conflicts"]
    assert conflict["used"]["scope"] == "managed"
    assert conflict["hidden"] == [
        {
            "value": "team-exp",
            "scope": "project",
            "source": f"team settings ({repo / '.claude/settings.json'})",
        }
    ]
    assert any("managed settings win" in w["fix"] for w in report["warnings"])


def test_a_folder_outside_git_is_traced_under_its_own_name_and_status_says_so(
    tmp_path: Path, local_store: Path
) -> None:
    assert _init_user("--local", cwd=tmp_path).returncode == 0
    folder = tmp_path / "scratch notes"
    folder.mkdir()
    session = _session(tmp_path, "tool_call", "n")
    fire("Stop", session, folder)
    flush(tmp_path)
    assert len(stored_traces(_local(), "claude-code/scratch-notes")) == 1
    code, report = status(folder)
    assert code == 0, report["problems"]
    (note,) = [w for w in report["warnings"] if "not in a git repository" in w["what"]]
    assert "claude-code/scratch-notes" in note["what"]
    assert "CLAUDETRACING_DISABLED" in note["fix"]
    # The way out it names: the hook does nothing there, and status says why.
    (folder / ".claude").mkdir()
    (folder / ".claude/settings.local.json").write_text(
        json.dumps({"env": {"CLAUDETRACING_DISABLED": "1"}})
    )
    fire("Stop", _session(tmp_path, "resume", "n2"), folder)
    assert spool.count(spool.PENDING) == 0
    code, report = status(folder)
    assert code == 0 and any("turned off" in w["what"] for w in report["warnings"])


def test_disable_in_a_repository_says_the_user_scope_still_traces_it(
    tmp_path: Path, local_store: Path
) -> None:
    assert _init_user("--local", cwd=tmp_path).returncode == 0
    repo = new_repo(tmp_path, "widgets")
    assert traces("init", "--local", "--yes", "--no-verify", cwd=repo).returncode == 0
    done = traces("disable", cwd=repo)
    assert done.returncode == 0 and "traces disable --user" in done.stderr
    assert _user_settings().is_file()


@pytest.mark.server
def test_user_scope_on_databricks_names_each_repositorys_experiment_in_your_folder(
    tmp_path: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    done = traces("init", "--user", "--profile", ws.profile, "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    env = json.loads(_user_settings().read_text())["env"]
    folder = f"/Users/{ws.user}/claude-code"
    assert env["CLAUDETRACING_EXPERIMENT"] == folder + "/{repo}"
    assert env["CLAUDETRACING_TRACKING_URI"] == f"databricks://{ws.profile}"
    assert env["CLAUDETRACING_USER"] == ws.user and ws.token not in _user_settings().read_text()
    assert ("POST", "/api/2.0/workspace/mkdirs") in ws.routes()
    repo = new_repo(tmp_path, "ledger")
    session = _session(tmp_path, "tool_call", "d")
    assert fire("Stop", session, repo) == 1
    flush(tmp_path)
    listed = json.loads(traces("list", "--json", cwd=repo).stdout)
    assert [r["name"] for r in listed] == [f"{folder}/ledger"]
    found = json.loads(traces("search", "--since", "30d", "-f", "json", cwd=repo).stdout)
    assert len(found) == 1 and found[0]["user"] == ws.user


def test_status_fails_when_scopes_combine_a_workspace_with_a_plain_experiment_name(
    tmp_path: Path,
) -> None:
    settings = _user_settings()
    _write_env(settings, {"CLAUDETRACING_TRACKING_URI": "databricks://work"})
    repo = new_repo(tmp_path, "widgets")
    _write_env(repo / ".claude/settings.json", {"CLAUDETRACING_EXPERIMENT": "claude-code/widgets"})
    code, report = status(repo)
    (mixed,) = [p for p in report["problems"] if "no workspace path" in p["what"]]
    assert code == 1 and "databricks://work, user settings" in mixed["what"]
    assert "project settings" in mixed["what"] and "/Shared/claude-code/widgets" in mixed["fix"]
    # With the user scope's own {repo} path and no repository value, the destination holds.
    _write_env(
        settings,
        {
            "CLAUDETRACING_TRACKING_URI": "databricks://work",
            "CLAUDETRACING_EXPERIMENT": "/Users/a/{repo}",
        },
    )
    (repo / ".claude/settings.json").unlink()
    _, report = status(repo)
    assert report["experiment"] == "/Users/a/widgets"
    assert not [p for p in report["problems"] if "no workspace path" in p["what"]]


def _write_env(path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"env": env}), encoding="utf-8")
