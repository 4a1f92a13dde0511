"""`init` for a Databricks workspace: profile, identity, experiment path, remote preparation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from claudetracing.core import config as config_mod
from claudetracing.core import naming
from claudetracing.core.errors import TracesError
from claudetracing.setup import databricks
from claudetracing.setup.project import Plan, SetupOptions, plan_init


@dataclass
class WorkspaceChoice:
    profile: databricks.Profile
    user: str
    experiment: str
    scope: str  # naming.SHARED, naming.PERSONAL, or "custom"
    reused_team_experiment: bool = False

    @property
    def tracking_uri(self) -> str:
        return f"databricks://{self.profile.name}"

    @property
    def personal(self) -> bool:
        return self.experiment.startswith(f"/Users/{self.user}/")


def find_profile(name: str) -> databricks.Profile:
    profiles = {p.name: p for p in databricks.read_profiles()}
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise TracesError(
            f"no profile {name!r} in {databricks.config_file()} (profiles: {known})",
            databricks.login_command(None, name),
        )
    profile = profiles[name]
    databricks.refuse_unusable(profile)
    return profile


def team_experiment(root: Path) -> str | None:
    """The experiment a teammate already committed, if any."""
    from claudetracing.core import settings_scopes

    value = config_mod.load(root).values.get(config_mod.EXPERIMENT)
    for found in [value, *value.shadowed] if value else []:  # a managed value may hide it
        if found.scope == settings_scopes.PROJECT:
            return found.value
    return None


def choose(
    root: Path, profile: databricks.Profile, *, scope: str | None, experiment: str | None
) -> WorkspaceChoice:
    """Resolve the experiment path: explicit path, else the team's, else the convention."""
    databricks.require_cli()
    user = databricks.current_user(profile)
    if experiment:
        return WorkspaceChoice(profile, user, naming.validate(experiment, user), "custom")
    committed = team_experiment(root)
    if committed and scope is None:
        return WorkspaceChoice(
            profile, user, naming.normalise(committed), naming.SHARED, reused_team_experiment=True
        )
    chosen = scope or naming.SHARED
    repo = config_mod.repo_slug(root)
    return WorkspaceChoice(profile, user, naming.conventional(chosen, user, repo), chosen)


def plan(
    root: Path,
    choice: WorkspaceChoice,
    team_env: dict[str, str] | None = None,
    personal_env: dict[str, str] | None = None,
) -> Plan:
    return plan_init(
        root,
        SetupOptions(
            tracking_uri=choice.tracking_uri,
            experiment=choice.experiment,
            profile=choice.profile.name,
            experiment_is_personal=choice.personal,
            user=choice.user,  # traces carry the workspace identity, not a local git e-mail
            extra_team_env=dict(team_env or {}),
            extra_personal_env=dict(personal_env or {}),
        ),
    )


def prepare_remote(choice: WorkspaceChoice) -> str:
    """Create the parent folder (MLflow never does), then create or reuse the experiment."""
    from claudetracing.export.backend import MlflowBackend

    databricks.mkdirs(choice.profile, naming.parent(choice.experiment))
    return MlflowBackend(choice.tracking_uri, choice.experiment).connect(create=True)
