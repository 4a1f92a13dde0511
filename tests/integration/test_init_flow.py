"""The init flow with a scripted prompter: the same questions the terminal wizard asks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core.errors import TracesError
from claudetracing.setup import databricks, init_flow, workspace
from tests.databricks_standin.fixtures import StandinWorkspace


@dataclass
class Scripted:
    """Answers given in advance; records every question asked."""

    destination_answer: str = init_flow.LOCAL
    scope_answer: str = "shared"
    confirm_answer: bool = True
    asked: list[str] = field(default_factory=list)

    def destination(self, profiles: list[databricks.Profile]) -> str:
        self.asked.append("destination: " + ",".join(p.name for p in profiles))
        return self.destination_answer

    def new_workspace(self) -> str:
        raise AssertionError("not scripted")

    def experiment(self, root: Path, profile: databricks.Profile) -> workspace.WorkspaceChoice:
        self.asked.append(f"experiment for {profile.name}")
        return workspace.choose(root, profile, scope=self.scope_answer, experiment=None)

    def confirm(self, question: str) -> bool:
        self.asked.append(question)
        return self.confirm_answer

    def unity_catalog(
        self, root: Path, profile: databricks.Profile, client: Callable[[], Any]
    ) -> tuple[str, str] | None:
        return None  # experiment storage (test_init_uc.py covers Unity Catalog)


def _files(repo: Path) -> dict[str, str]:
    return {
        p.relative_to(repo).as_posix(): p.read_text()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git/" not in p.as_posix()
    }


def test_questions_lead_to_a_local_setup(repo: Path, local_store: Path) -> None:
    prompter = Scripted()
    shown: list[init_flow.Prepared] = []
    result = init_flow.run(repo, init_flow.InitRequest(), prompter, shown.append)
    assert prompter.asked == ["destination: ", "Apply this plan?"]
    assert result.applied and result.experiment_id
    assert {p.name for p in result.written} == {
        "settings.json",
        "settings.local.json",
        ".gitignore",
    }
    assert shown[0].plan.tracking_uri == "local"
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_TRACKING_URI"] == "local"


def test_saying_no_writes_nothing(repo: Path, local_store: Path) -> None:
    before = _files(repo)
    prompter = Scripted(confirm_answer=False)
    result = init_flow.run(repo, init_flow.InitRequest(), prompter, lambda _: None)
    assert not result.applied and result.written == []
    assert _files(repo) == before


def test_without_anyone_to_ask_the_flags_must_say_everything(repo: Path) -> None:
    before = _files(repo)
    with pytest.raises(TracesError, match="where should traces go"):
        init_flow.run(repo, init_flow.InitRequest(), None, lambda _: None)
    with pytest.raises(TracesError, match="not confirmed"):
        init_flow.run(repo, init_flow.InitRequest(local=True), None, lambda _: None)
    with pytest.raises(TracesError, match="exclude each other"):
        init_flow.prepare(repo, init_flow.InitRequest(local=True, profile="dev"), None)
    assert _files(repo) == before


@pytest.mark.server
def test_a_workspace_chosen_by_questions(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    prompter = Scripted(destination_answer=ws.profile, scope_answer="personal")
    result = init_flow.run(repo, init_flow.InitRequest(), prompter, lambda _: None)
    assert prompter.asked[1:] == [f"experiment for {ws.profile}", "Apply this plan?"]
    assert result.prepared.remote[0] == f"signed in as {ws.user}"
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_EXPERIMENT"].startswith(f"/Users/{ws.user}/")
    assert result.experiment_id
