"""What the earlier `claudetracing` package (0.x) left in `.claude/settings.json`, replaced by init.

It wrote a Stop hook that ran MLflow's own transcript handler (or its enriched variant) and, under
an `environment` key, MLFLOW_CLAUDE_TRACING_ENABLED, MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME,
DATABRICKS_CONFIG_PROFILE and CLAUDETRACING_ENRICHMENTS. Left in place, that hook traces every
session a second time, differently; so `init` removes exactly those and nothing else."""

from __future__ import annotations

from typing import Any

from claudetracing.core import claude_settings, keys

HOOK_MARKERS = (
    "mlflow.claude_code.hooks import stop_hook_handler",
    "claudetracing.hooks import enriched_stop_hook_handler",
)
ENV_SECTION = "environment"
ENV_KEYS = (
    "MLFLOW_CLAUDE_TRACING_ENABLED",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "DATABRICKS_CONFIG_PROFILE",
    keys.ENRICHMENTS,  # the same name as ours, under the old `environment` key
)


def _is_legacy(hook: Any) -> bool:
    return isinstance(hook, dict) and any(m in str(hook.get("command", "")) for m in HOOK_MARKERS)


def found(settings: dict[str, Any]) -> list[str]:
    """What of the old setup these settings hold, for the person running init."""
    items = []
    hooks = settings.get("hooks")
    if isinstance(hooks, dict):
        for event, groups in hooks.items():
            for group in groups if isinstance(groups, list) else []:
                inner = group.get("hooks") if isinstance(group, dict) else None
                if isinstance(inner, list) and any(_is_legacy(h) for h in inner):
                    items.append(f"its {event} hook")
    env = settings.get(ENV_SECTION)
    if isinstance(env, dict):
        items.extend(f"{ENV_SECTION}.{key}" for key in ENV_KEYS if key in env)
    return items


def without_legacy(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy without the old hooks and `environment` keys (and what they leave empty)."""
    result = claude_settings.without_matching_hooks(settings, _is_legacy)
    env = result.get(ENV_SECTION)
    if isinstance(env, dict):
        for key in ENV_KEYS:
            env.pop(key, None)
        if not env and settings.get(ENV_SECTION):
            del result[ENV_SECTION]
    return result


def experiment(settings: dict[str, Any]) -> str | None:
    """The experiment the old setup traced into, if it named one."""
    env = settings.get(ENV_SECTION)
    value = env.get("MLFLOW_EXPERIMENT_NAME") if isinstance(env, dict) else None
    return value if isinstance(value, str) and value else None
