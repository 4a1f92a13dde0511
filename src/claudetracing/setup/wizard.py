"""The interactive side of `traces init`: questions with flag twins, a plan, then a yes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claudetracing.core import naming
from claudetracing.core.errors import TracesError
from claudetracing.setup import databricks, init_flow
from claudetracing.setup.workspace import WorkspaceChoice, choose, team_experiment

ADD = init_flow.ADD
LOCAL = init_flow.LOCAL
CUSTOM = "__custom__"


def default_destination(profiles: list[databricks.Profile], cli_works: bool) -> str:
    """What a first-time user needs: the first OAuth login when Databricks can work here, else
    the local store (it works with nothing else installed)."""
    usable = [p.name for p in profiles if p.usable]
    return usable[0] if cli_works and usable else LOCAL


def ask_destination(profiles: list[databricks.Profile]) -> str:
    """A profile name, ADD or LOCAL. A missing Databricks CLI is said before the question."""
    import questionary

    problem = databricks.cli_problem()
    if problem is not None:
        print(f"note: {problem.message}; Databricks workspaces need it.", file=sys.stderr)
        print(f"  fix: {problem.hint}; the local store works without it.", file=sys.stderr)
    no_cli = "needs the Databricks CLI (see the note above)"
    choices: list[questionary.Choice] = []
    for profile in profiles:
        title = f"{profile.name}  ({profile.host or 'no host'})"
        if profile.usable and problem is None:
            choices.append(questionary.Choice(title, value=profile.name))
        else:
            if problem is not None:
                why = no_cli
            elif profile.kind == databricks.PAT:
                why = "personal access token: refused"
            else:
                why = f"{profile.kind}: not an OAuth user login"
            choices.append(questionary.Choice(title, value=profile.name, disabled=why))
    choices.append(
        questionary.Choice(
            "Add a workspace (runs `databricks auth login`)",
            value=ADD,
            disabled=no_cli if problem is not None else None,
        )
    )
    choices.append(
        questionary.Choice("Local MLflow store on this machine (no Databricks)", value=LOCAL)
    )
    return str(
        questionary.select(
            "Where should this repository's traces go?",
            choices=choices,
            default=default_destination(profiles, problem is None),
        ).unsafe_ask()
    )


def ask_new_workspace() -> str:
    import questionary

    host = questionary.text(
        "Workspace URL (https://….cloud.databricks.com):",
        validate=lambda t: t.startswith(("https://", "http://")) or "start with https://",
    ).unsafe_ask()
    name = questionary.text("Name for this profile:", default="DEFAULT").unsafe_ask()
    databricks.login(str(host), str(name))
    return str(name)


def ask_experiment(root: Path, profile: databricks.Profile) -> WorkspaceChoice:
    import questionary

    committed = team_experiment(root)
    if committed:
        # A teammate already chose: only this person's own profile was needed.
        return choose(root, profile, scope=None, experiment=None)
    shared = choose(root, profile, scope=naming.SHARED, experiment=None)
    personal = choose(root, profile, scope=naming.PERSONAL, experiment=None)
    picked = questionary.select(
        "Which experiment? (the team convention is one experiment per repository)",
        choices=[
            questionary.Choice(f"Shared with the team:  {shared.experiment}", value=naming.SHARED),
            questionary.Choice(
                f"Only mine:             {personal.experiment}", value=naming.PERSONAL
            ),
            questionary.Choice("A custom path (inside /Shared or your own folder)", value=CUSTOM),
        ],
    ).unsafe_ask()
    if picked == naming.SHARED:
        return shared
    if picked == naming.PERSONAL:
        return personal

    def valid(text: str) -> bool | str:
        try:
            naming.validate(text, shared.user)
        except TracesError as exc:
            return exc.message
        return True

    path = questionary.text(
        "Experiment path:", default=shared.experiment, validate=valid
    ).unsafe_ask()
    return choose(root, profile, scope=None, experiment=str(path))


def confirm(question: str) -> bool:
    import questionary

    return bool(questionary.confirm(question, default=True).unsafe_ask())


class TerminalPrompter:
    """`init`'s questions in the real terminal (questionary); Ctrl-C aborts, nothing written."""

    def destination(self, profiles: list[databricks.Profile]) -> str:
        return ask_destination(profiles)

    def new_workspace(self) -> str:
        return ask_new_workspace()

    def experiment(self, root: Path, profile: databricks.Profile) -> WorkspaceChoice:
        return ask_experiment(root, profile)

    def confirm(self, question: str) -> bool:
        return confirm(question)

    def unity_catalog(
        self, root: Path, profile: databricks.Profile, client: Callable[[], Any]
    ) -> tuple[str, str] | None:
        return ask_unity_catalog(root, profile, client)


def ask_unity_catalog(
    root: Path, profile: databricks.Profile, client: Callable[[], Any]
) -> tuple[str, str] | None:
    """Unity Catalog storage, offered when the user can see a catalog: the schema (of those
    they can use), the table prefix (the convention), the SQL warehouse (state shown)."""
    import questionary

    from claudetracing.core import config as config_mod

    ws = client()
    catalogs = databricks.catalogs(profile, ws)
    if not catalogs:
        return None
    store = questionary.confirm(
        "Store traces in Unity Catalog tables? (no 100,000-trace cap, SQL over them; "
        "needs a schema and a SQL warehouse)",
        default=False,
    ).unsafe_ask()
    if not store:
        return None
    schemas = [f"{c}.{s}" for c in catalogs for s in databricks.schemas(profile, ws, c)]
    if not schemas:
        raise TracesError(
            f"you cannot use any schema in the catalogs you see ({', '.join(catalogs)})",
            "ask for a schema and its grants (docs/databricks.md), or answer no to keep "
            "traces in the experiment",
        )
    schema = questionary.select("Which schema?", choices=schemas).unsafe_ask()
    repo = config_mod.repo_slug(root)

    def valid(text: str) -> bool | str:
        try:
            naming.parse_uc(f"{schema}.{text}", repo)
        except TracesError as exc:
            return exc.message
        return True

    prefix = questionary.text(
        "Table prefix (one per repository by default):",
        default=naming.uc_prefix(repo),
        validate=valid,
    ).unsafe_ask()
    listed = [w for w in databricks.warehouses(profile, ws) if w.state not in ("DELETED",)]
    if not listed:
        raise TracesError(
            "this workspace has no SQL warehouse; Unity Catalog trace storage needs one",
            "create one (SQL > SQL warehouses), or answer no to keep traces in the experiment",
        )
    listed.sort(key=lambda w: (w.state != "RUNNING", not w.serverless, w.name.lower()))
    choices = [
        questionary.Choice(
            f"{w.name}  ({w.id}, {w.state}{', serverless' if w.serverless else ''}"
            f"{'; will be started' if w.state in ('STOPPED', 'STOPPING') else ''})",
            value=w.id,
        )
        for w in listed
    ]
    warehouse = questionary.select("Which SQL warehouse?", choices=choices).unsafe_ask()
    return f"{schema}.{prefix}", str(warehouse)
