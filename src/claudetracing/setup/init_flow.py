"""`traces init` as one flow: flags or questions → destination → plan → write → verify.

The command only parses flags and prints; the questions come from a `Prompter`, so the same
flow runs under the real terminal (questionary, `setup/wizard.py`) and under a scripted one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from claudetracing.core import config as config_mod
from claudetracing.core import databricks_profiles, naming, repo_links, tracking_uri
from claudetracing.core.errors import TracesError
from claudetracing.setup import databricks, project, unity_catalog, workspace

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

    def unity_catalog(
        self, root: Path, profile: databricks.Profile, client: Callable[[], Any]
    ) -> tuple[str, str] | None:
        """`(CATALOG.SCHEMA[.PREFIX], warehouse id or "auto")`, or None for experiment storage.
        `client()` is the signed-in workspace client (made on first call)."""
        ...


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
    uc: str | None = None  # CATALOG.SCHEMA[.PREFIX]: store traces in Unity Catalog
    warehouse: str | None = None  # SQL warehouse id, or "auto"


@dataclass
class Prepared:
    """What `init` will do, before anything is written."""

    plan: project.Plan
    choice: workspace.WorkspaceChoice | None = None
    remote: list[str] = field(default_factory=list)  # steps in the workspace
    uc: unity_catalog.UcPlan | None = None
    client: Any = None  # the signed-in workspace client the UC steps use


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
    if not enrichments.strip(" ,"):
        raise TracesError(
            f"--enrichments {enrichments!r} names no enrichment",
            "pass names such as --enrichments git,files, or --enrichments none for none",
        )
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


def _check_text(option: str, value: str | None, example: str) -> None:
    """A value typed for `option` that is there but says nothing is refused, not ignored."""
    if value is None:
        return
    if not value.strip():
        raise TracesError(f"{option} is empty ({value!r})", f"for example {option} {example}")
    if value != value.strip() or any(ord(c) < 32 for c in value):
        raise TracesError(
            f"{option} {value!r} has spaces or control characters around or inside it",
            f"for example {option} {example}",
        )


def check_request(request: InitRequest) -> None:
    """Every flag checked before anything is asked, looked up or written."""
    _check_text("--profile", request.profile, "DEFAULT")
    _check_text("--experiment", request.experiment, "claude-code/widgets")
    _check_text("--uc", request.uc, "main.claude_code")
    _check_text("--warehouse", request.warehouse, "auto")
    if request.uc is not None:
        naming.parse_uc(request.uc, "widgets")  # the form only; the prefix's default comes later
    if request.warehouse is not None and request.uc is None:
        raise TracesError(
            "--warehouse goes with --uc (the warehouse Unity Catalog trace storage uses)",
            "pass --uc CATALOG.SCHEMA with it, or drop --warehouse",
        )
    if request.tracking_uri is not None:
        tracking_uri.check(request.tracking_uri)
    given = [
        name
        for name, value in (
            ("--local", request.local),
            ("--tracking-uri", request.tracking_uri),
            ("--profile", request.profile),
        )
        if value
    ]
    if len(given) > 1:
        raise TracesError(f"{' and '.join(given)} exclude each other", "pass only one of them")
    if request.scope not in SCOPES:
        raise TracesError(
            f"unknown --scope {request.scope!r}", "use --scope shared or --scope personal"
        )
    uri = request.tracking_uri or ""
    if request.scope and (request.local or (uri and not uri.startswith("databricks"))):
        raise TracesError(
            "--scope applies to a Databricks workspace only",
            "drop --scope, or pass --profile PROFILE with it",
        )
    if request.uc is not None and (request.local or (uri and not uri.startswith("databricks"))):
        raise TracesError(
            "--uc (Unity Catalog trace storage) applies to a Databricks workspace only",
            "drop --uc, or pass --profile PROFILE with it",
        )


def _note_legacy(root: Path, request: InitRequest, warn: Callable[[str], None]) -> None:
    """Say what of the earlier claudetracing package init replaces, and where it traced."""
    from claudetracing.core import claude_settings
    from claudetracing.core.jsonfiles import read_json_object
    from claudetracing.setup import legacy

    settings = read_json_object(claude_settings.team_settings_path(root)).data
    items = legacy.found(settings)
    if not items:
        return
    warn(
        "replacing the earlier claudetracing setup in .claude/settings.json "
        f"({', '.join(items)}): left in place it would trace every turn a second time"
    )
    old = legacy.experiment(settings)
    if old and not request.experiment:
        warn(f"it traced into experiment {old!r}; pass --experiment {old!r} to keep using it")


def _local_uri(root: Path, uri: str, warn: Callable[[str], None]) -> str:
    """A relative sqlite path is the repository root's, said once, stored absolute."""
    resolved = tracking_uri.anchored(uri, root)
    if resolved != uri:
        warn(f"{uri} is relative: using {resolved} (relative to the repository root {root})")
    database = tracking_uri.sqlite_path(resolved)
    if database is not None and not database.parent.is_dir():
        raise TracesError(
            f"--tracking-uri {uri!r}: folder {database.parent} does not exist",
            f"create it (mkdir -p {database.parent}) or choose a database file in an existing "
            "folder",
        )
    return resolved


def prepare(
    root: Path,
    request: InitRequest,
    prompter: Prompter | None,
    warn: Callable[[str], None] = _ignore,
) -> Prepared:
    """Validate the flags, ask for what is missing (if someone can answer), plan. Writes nothing
    in the repository; a new workspace login is the only side effect, and it is asked for.
    Warnings go to `warn` at once: they explain failures that may follow."""
    check_request(request)
    repo_links.refuse_outside_links(root)  # before any question, login or remote step
    _note_legacy(root, request, warn)
    local, uri, profile = request.local, request.tracking_uri, request.profile
    if uri and uri.startswith("databricks"):
        profile = uri.partition("://")[2] or "DEFAULT"
        uri = None
    extra = _enrichment_env(request.enrichments)
    if not (local or uri or profile):
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
        uri = _local_uri(root, uri, warn) if uri else config_mod.LOCAL
        options = project.SetupOptions(
            tracking_uri=uri, experiment=request.experiment, extra_team_env=extra
        )
        return Prepared(project.plan_init(root, options))
    chosen = workspace.find_profile(profile)
    databricks_profiles.refuse_secret_env(chosen.name, chosen.host)
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
    uc_text, warehouse = request.uc, request.warehouse
    clients: list[Any] = []

    def client() -> Any:
        if not clients:
            clients.append(databricks.client(chosen))  # one sign-in for all the UC calls
        return clients[0]

    kept = config_mod.load(root).values.get(config_mod.UC_LOCATION)
    if uc_text is None and kept is not None and kept.value:
        # Set up before (init --uc): running init again keeps it, as it keeps the experiment.
        uc_text = kept.value
        warehouse = warehouse or config_mod.load(root).get(config_mod.UC_WAREHOUSE)
        remote.append(f"the Unity Catalog location comes from {kept.source}")
    elif uc_text is None and prompter is not None:
        answer = prompter.unity_catalog(root, chosen, client)
        if answer is not None:
            uc_text, warehouse = answer
    uc_plan = None
    ws = None
    if uc_text is not None:
        wanted = unity_catalog.target(uc_text, config_mod.repo_slug(root))
        ws = client()
        uc_plan = unity_catalog.check(
            chosen, ws, wanted, warehouse or unity_catalog.AUTO, choice.experiment
        )
        remote += uc_plan.steps()
    personal = uc_plan.personal_env if uc_plan else None
    plan = workspace.plan(root, choice, extra, personal)
    return Prepared(plan, choice, remote, uc_plan, ws)


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
        experiment_id = workspace.prepare_remote(prepared.choice)
        if prepared.uc is not None:
            profile = prepared.choice.profile
            unity_catalog.apply(profile, prepared.client, prepared.uc, experiment_id)
            # No test trace: MLflow cannot delete traces stored in Unity Catalog, so it would
            # stay in the team's tables; the link, read back, is the check.
            result.experiment_id = experiment_id
    if request.verify and prepared.uc is None:
        # Before writing: a destination that does not work leaves the repository as it was.
        result.experiment_id = _probe(root, prepared.plan)
    result.written = project.apply(prepared.plan)
    result.applied = True
    if request.verify:
        _enrichment_warnings(root, result)
    return result


def _probe(root: Path, plan: project.Plan) -> str:
    """Write, read back and delete a test trace at the planned destination."""
    values = {
        config_mod.TRACKING_URI: config_mod.Value(plan.tracking_uri, "init"),
        config_mod.EXPERIMENT: config_mod.Value(plan.experiment, "init"),
    }
    try:
        return project.verify(config_mod.Config(root, values))
    except TracesError as exc:
        hint = (exc.hint or "check the destination").replace(
            "run `traces flush`", "run `traces init` again"
        )
        raise TracesError(
            f"{exc.message}; nothing was written",
            f"{hint}; or pass --no-verify to write the settings without this check",
        ) from exc


def _enrichment_warnings(root: Path, result: InitResult) -> None:
    from claudetracing.enrichments import registry
    from claudetracing.setup import status

    cfg = config_mod.load(root)
    enabled = registry.enabled_names(cfg.get(config_mod.ENRICHMENTS))
    result.warnings = [(w.what, w.fix) for w in status.enrichment_warnings(cfg, enabled)]
