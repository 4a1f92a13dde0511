"""`traces init` as one flow: flags or questions → destination → plan → write → verify.

The command only parses flags and prints; the questions come from a `Prompter`, so the same
flow runs under the real terminal (questionary, `setup/wizard.py`) and under a scripted one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from claudetracing.core import config as config_mod
from claudetracing.core.errors import TracesError
from claudetracing.setup import databricks, project, workspace

SCOPES = (None, "shared", "personal")
ADD = "__add__"  # a destination answer: add a workspace (runs `databricks auth login`)
LOCAL = "__local__"  # a destination answer: the embedded local store


class Prompter(Protocol):
    """The questions `init` asks when a flag is missing and a person is there to answer."""

    def destination(self, profiles: list[databricks.Profile]) -> str:
        """A profile name, ADD or LOCAL."""
        ...

    def new_workspace(self) -> str:
        """Log in to a new workspace; the new profile's name."""
        ...

    def experiment(self, root: Path, profile: databricks.Profile) -> workspace.WorkspaceChoice: ...

    def confirm(self, question: str) -> bool: ...


@dataclass(frozen=True)
class InitRequest:
    """The flags of `traces init`, as given."""

    profile: str | None = None
    scope: str | None = None
    experiment: str | None = None
    local: bool = False
    tracking_uri: str | None = None
    enrichments: str | None = None
    yes: bool = False
    dry_run: bool = False
    verify: bool = True


@dataclass
class Prepared:
    """What `init` will do, before anything is written."""

    plan: project.Plan
    choice: workspace.WorkspaceChoice | None = None
    remote: list[str] = field(default_factory=list)  # steps in the workspace


@dataclass
class InitResult:
    prepared: Prepared
    applied: bool = False  # False: a dry run, or the person said no
    written: list[Path] = field(default_factory=list)
    experiment_id: str | None = None  # set when the destination was verified
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (what, fix) after verify


def _enrichment_env(enrichments: str | None) -> dict[str, str]:
    if enrichments is None:
        return {}
    from claudetracing.enrichments import registry as registry_mod

    names = registry_mod.enabled_names(enrichments)
    installed = registry_mod.load_registry()
    unknown = [n for n in names if n not in installed.available]
    if unknown:
        raise TracesError(
            f"unknown enrichment(s): {', '.join(unknown)}",
            f"installed: {', '.join(sorted(installed.available))}",
        )
    return {config_mod.ENRICHMENTS: ",".join(names) or "none"}


def _ignore(message: str) -> None:
    pass


def prepare(
    root: Path,
    request: InitRequest,
    prompter: Prompter | None,
    warn: Callable[[str], None] = _ignore,
) -> Prepared:
    """Validate the flags, ask for what is missing (if someone can answer), plan. Writes nothing
    in the repository; a new workspace login is the only side effect, and it is asked for.
    Warnings go to `warn` at once: they explain failures that may follow."""
    local, tracking_uri, profile = request.local, request.tracking_uri, request.profile
    if sum(bool(x) for x in (local, tracking_uri, profile)) > 1:
        raise TracesError(
            "--local, --tracking-uri and --profile exclude each other", "pass only one of them"
        )
    if request.scope not in SCOPES:
        raise TracesError(
            f"unknown scope {request.scope!r}", "use --scope shared or --scope personal"
        )
    if tracking_uri and tracking_uri.startswith("databricks"):
        profile = tracking_uri.partition("://")[2] or "DEFAULT"
        tracking_uri = None
    extra = _enrichment_env(request.enrichments)
    if not (local or tracking_uri or profile):
        if prompter is None:
            raise TracesError(
                "where should traces go?",
                "pass --profile PROFILE (Databricks), --local, or --tracking-uri URI",
            )
        destination = prompter.destination(databricks.read_profiles())
        if destination == LOCAL:
            local = True
        else:
            profile = prompter.new_workspace() if destination == ADD else destination
    if not profile:
        uri = tracking_uri or config_mod.LOCAL
        options = project.SetupOptions(
            tracking_uri=uri, experiment=request.experiment, extra_team_env=extra
        )
        return Prepared(project.plan_init(root, options))
    chosen = workspace.find_profile(profile)
    for name in databricks.overriding_env():
        warn(f"{name} is set and overrides profile {profile!r} for MLflow and the Databricks SDK")
    if prompter is not None and not request.experiment and not request.scope:
        choice = prompter.experiment(root, chosen)
    else:
        choice = workspace.choose(root, chosen, scope=request.scope, experiment=request.experiment)
    remote = [
        f"signed in as {choice.user}",
        f"create folder {choice.experiment.rsplit('/', 1)[0]} if missing",
        f"create experiment {choice.experiment} or reuse it",
    ]
    if choice.reused_team_experiment:
        remote.append("the experiment path comes from the team's .claude/settings.json")
    return Prepared(workspace.plan(root, choice, extra), choice, remote)


def run(
    root: Path,
    request: InitRequest,
    prompter: Prompter | None,
    show: Callable[[Prepared], None],
    warn: Callable[[str], None] = _ignore,
) -> InitResult:
    """The whole of `traces init`: prepare, show the plan, confirm, write, verify."""
    prepared = prepare(root, request, prompter, warn)
    show(prepared)
    result = InitResult(prepared)
    if request.dry_run:
        return result
    if not request.yes:
        if prompter is None:
            raise TracesError("not confirmed", "pass --yes to apply without a question")
        if not prompter.confirm("Apply this plan?"):
            return result
    if prepared.choice is not None:
        workspace.prepare_remote(prepared.choice)
    result.written = project.apply(prepared.plan)
    result.applied = True
    if request.verify:
        _verify(root, result)
    return result


def _verify(root: Path, result: InitResult) -> None:
    from claudetracing.enrichments import registry
    from claudetracing.setup import status

    cfg = config_mod.load(root)
    result.experiment_id = project.verify(cfg)
    enabled = registry.enabled_names(cfg.get(config_mod.ENRICHMENTS))
    result.warnings = [(w.what, w.fix) for w in status.enrichment_warnings(cfg, enabled)]
