"""`init --user`, `disable --user` and `init --print-managed`: tracing for every repository.

Our hooks and destination go into Claude Code's user settings (`~/.claude/settings.json`) or,
printed, into an organisation's managed settings. Nothing names a repository there: each
repository's experiment is derived from it when its turns are exported (`{repo}` in the
experiment name, or the default `claude-code/<repo>`), and a repository's own settings still
win for every key they set (managed settings excepted: Claude Code lets nothing override them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claudetracing.core import claude_settings, keys, naming, paths, settings_scopes, tracking_uri
from claudetracing.core import config as config_mod
from claudetracing.core.errors import TracesError
from claudetracing.core.jsonfiles import read_json_object, save_json_object
from claudetracing.setup import databricks, init_flow, workspace
from claudetracing.setup.project import FilePlan

# What `init --user` writes into the user settings' `env`, and `disable --user` removes.
USER_KEYS = (
    keys.TRACKING_URI,
    keys.PROFILE,
    keys.USER,
    keys.EXPERIMENT,
    keys.EXECUTABLE,
    keys.ENRICHMENTS,
)
DEFAULT_EXPERIMENT = f"claude-code/{config_mod.REPO_PLACEHOLDER}"


@dataclass
class UserPlan:
    """What `init --user` will write, before anything is written."""

    tracking_uri: str
    experiment: str  # with {repo}: filled in per repository at export time
    file: FilePlan
    env: dict[str, str]
    profile: databricks.Profile | None = None
    remote: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[FilePlan]:
        return [self.file] if self.file.changes else []


def _check(request: init_flow.InitRequest) -> None:
    init_flow.check_request(request)
    if request.experiment is not None and request.experiment.count("{") != request.experiment.count(
        config_mod.REPO_PLACEHOLDER
    ):
        raise TracesError(
            f"--experiment {request.experiment!r}: the only placeholder is {{repo}}",
            "for example --experiment 'claude-code/{repo}'",
        )
    uri = request.tracking_uri
    if uri and not uri.startswith("databricks") and tracking_uri.anchored(uri, Path("/")) != uri:
        raise TracesError(
            f"--tracking-uri {uri!r} is relative: with --user it would be a different "
            "database in every repository",
            "give an absolute path, e.g. sqlite:////home/me/traces.db",
        )


def _with_placeholder(experiment: str | None, default: str, warn: Callable[[str], None]) -> str:
    if experiment is None:
        return default
    if config_mod.REPO_PLACEHOLDER not in experiment:
        warn(
            f"--experiment {experiment!r} names no {{repo}}: the turns of every repository "
            "go into this one experiment"
        )
    return experiment


def _destination(
    request: init_flow.InitRequest, prompter: init_flow.Prompter | None
) -> tuple[str | None, str | None]:
    """(tracking URI, Databricks profile): one of them, from the flags or asked."""
    uri, profile = request.tracking_uri, request.profile
    if uri and uri.startswith("databricks"):
        return None, uri.partition("://")[2] or "DEFAULT"
    if request.local:
        return config_mod.LOCAL, None
    if uri or profile:
        return uri, profile
    if prompter is None:
        raise TracesError(
            "where should traces go?",
            "pass --profile PROFILE (Databricks), --local, or --tracking-uri URI",
        )
    answer = prompter.destination(databricks.read_profiles())
    if answer == init_flow.LOCAL:
        return config_mod.LOCAL, None
    return None, prompter.new_workspace() if answer == init_flow.ADD else answer


def prepare(
    request: init_flow.InitRequest,
    prompter: init_flow.Prompter | None,
    warn: Callable[[str], None] = init_flow._ignore,
) -> UserPlan:
    """Validate, resolve the destination, plan the user settings file. Writes nothing."""
    _check(request)
    path = settings_scopes.user_settings_path()
    read_json_object(path)  # a corrupt file stops us before any question or sign-in
    extra = init_flow._enrichment_env(request.enrichments)
    uri, profile_name = _destination(request, prompter)
    env: dict[str, str] = {keys.EXECUTABLE: str(claude_settings.installed_executable())}
    chosen = None
    remote: list[str] = []
    if profile_name:
        chosen = workspace.find_profile(profile_name)
        from claudetracing.core import databricks_profiles

        databricks_profiles.refuse_secret_env(chosen.name, chosen.host)
        databricks.require_cli()
        user = databricks.current_user(chosen)
        scope = request.scope or naming.PERSONAL
        default = naming.conventional_template(scope, user)
        experiment = naming.validate_template(
            _with_placeholder(request.experiment, default, warn), user
        )
        uri = f"databricks://{chosen.name}"
        env.update({keys.PROFILE: chosen.name, keys.USER: user, keys.EXPERIMENT: experiment})
        remote = [f"signed in as {user}", f"create folder {naming.parent(experiment)} if missing"]
    else:
        assert uri is not None
        experiment = _with_placeholder(request.experiment, DEFAULT_EXPERIMENT, warn)
        if request.experiment is not None:
            env[keys.EXPERIMENT] = experiment
    env[keys.TRACKING_URI] = uri
    env.update(extra)
    before, after = claude_settings.preview(path, _install(env))
    file = FilePlan(path, before, after, _install(env))
    return UserPlan(uri, experiment, file, env, chosen, remote)


def _install(env: dict[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def transform(data: dict[str, Any]) -> dict[str, Any]:
        result = claude_settings.with_hooks(data)
        current = result.get("env")
        # Keys of an earlier `init --user` that this one does not set go (a Databricks profile
        # after switching to --local); enrichments stay unless given. The others keep their place.
        stale = [k for k in USER_KEYS if k not in env and k != keys.ENRICHMENTS]
        if isinstance(current, dict):
            for key in stale:
                current.pop(key, None)
        return claude_settings.with_env(result, env)

    return transform


def apply(plan: UserPlan) -> list[Path]:
    """Write the user settings file (created readable by its owner only: it names this
    machine's paths), after preparing the workspace folder if any."""
    if plan.profile is not None:
        databricks.mkdirs(plan.profile, naming.parent(plan.experiment))
    return [plan.file.path] if _write(plan.file.path, _install(plan.env)) else []


def _write(path: Path, transform: Callable[[dict[str, Any]], dict[str, Any]]) -> bool:
    document = read_json_object(path)
    if not path.parent.exists():
        paths.ensure_private_dir(path.parent)
    return save_json_object(document, transform(document.data), new_mode=0o600)


def _remove(data: dict[str, Any]) -> dict[str, Any]:
    result = claude_settings.without_hooks(data)
    env = result.get("env")
    if isinstance(env, dict):
        for key in USER_KEYS:
            env.pop(key, None)
        if not env and data.get("env"):
            del result["env"]
    return result


def disable() -> list[Path]:
    """Remove what `init --user` added (our hooks, its env keys); the rest of the file keeps
    its bytes. A file that held nothing else is removed, as `init` created it."""
    path = settings_scopes.user_settings_path()
    return [path] if _write(path, _remove) else []


def verify(plan: UserPlan) -> None:
    """The destination answers (signed in, store opens): no experiment is created here, each
    repository's is created by its first export."""
    from claudetracing.export import backend

    uri = paths.local_tracking_uri() if plan.tracking_uri == config_mod.LOCAL else plan.tracking_uri
    try:
        backend.check_store(uri)
    except TracesError as exc:
        raise TracesError(
            f"{exc.message}; nothing was written",
            f"{exc.hint or 'check the destination'}; or pass --no-verify to write the settings "
            "without this check",
        ) from exc


def managed_snippet(request: init_flow.InitRequest) -> dict[str, Any]:
    """The `hooks` and `env` an organisation puts into Claude Code's managed settings file.

    Nothing is asked, looked up or written: the file is for other machines. The executable is
    this installation's (an install at the same path on every machine is assumed; where it is
    missing the hook falls back to a `traces` on the PATH)."""
    _check(request)
    if request.scope == naming.PERSONAL:
        raise TracesError(
            "--scope personal needs each person's own workspace folder, and managed settings "
            "are the same for everyone",
            "use --scope shared (the default), or let each person run `traces init --user`",
        )
    env: dict[str, str] = {keys.EXECUTABLE: str(claude_settings.installed_executable())}
    uri, profile = request.tracking_uri, request.profile
    if uri and uri.startswith("databricks"):
        profile = uri.partition("://")[2] or "DEFAULT"
        uri = None
    if profile:
        default = naming.conventional_template(naming.SHARED, "-")
        experiment = request.experiment or default
        env.update(
            {
                keys.TRACKING_URI: f"databricks://{profile}",
                keys.PROFILE: profile,
                keys.EXPERIMENT: naming.validate_template(experiment, None),
            }
        )
    elif uri or request.local:
        env[keys.TRACKING_URI] = uri or config_mod.LOCAL
        if request.experiment:
            env[keys.EXPERIMENT] = request.experiment
    else:
        raise TracesError(
            "where should traces go?",
            "pass --profile PROFILE (Databricks), --local, or --tracking-uri URI",
        )
    env.update(init_flow._enrichment_env(request.enrichments))
    hooks = claude_settings.with_hooks({})["hooks"]
    return {"hooks": hooks, "env": env}


def render_snippet(snippet: dict[str, Any]) -> str:
    return json.dumps(snippet, indent=2) + "\n"
