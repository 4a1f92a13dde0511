"""Find enrichments through entry points, run the enabled ones, and keep their tags valid."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from claudetracing.core import keys
from claudetracing.enrichments.api import NAME, Enrichment, TurnContext

GROUP = "claudetracing.enrichments"
CONFIG_KEY = keys.ENRICHMENTS
BUILT_INS = ("git", "files", "tokens", "cost")
MAX_KEY = 250  # MLflow's limit for a tag key
MAX_VALUE = 8000  # MLflow's limit for a trace tag value (MAX_TRACE_TAG_VAL_LENGTH)
log = logging.getLogger(__name__)


@dataclass
class Registry:
    available: dict[str, Enrichment] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # name -> distribution or module
    broken: dict[str, str] = field(default_factory=dict)  # name -> why it could not load


def _load_one(point: EntryPoint) -> Enrichment:
    loaded = point.load()
    if callable(loaded) and not isinstance(loaded, Enrichment):
        loaded = loaded()
    if not isinstance(loaded, Enrichment):
        raise TypeError(f"{point.value} is a {type(loaded).__name__}, not an Enrichment")
    if loaded.name != point.name:
        raise ValueError(
            f"entry point {point.name!r} provides an enrichment named "
            f"{loaded.name!r}; the two must match"
        )
    if not NAME.match(loaded.name):
        raise ValueError(
            f"invalid enrichment name {loaded.name!r}: use lower-case letters, "
            "digits and _ (at most 32)"
        )
    if not callable(loaded.enrich):
        raise TypeError(f"{loaded.name}: `enrich` is not callable")
    return loaded


def load_registry() -> Registry:
    """Every installed enrichment. One that fails to load is recorded, never fatal."""
    registry = Registry()
    for point in entry_points(group=GROUP):
        try:
            enrichment = _load_one(point)
        except Exception as exc:  # a broken plugin must not break tracing
            registry.broken[point.name] = f"{type(exc).__name__}: {exc}"
            continue
        if enrichment.name in registry.available:
            registry.broken[point.name] = f"defined twice ({point.value})"
            continue
        registry.available[enrichment.name] = enrichment
        dist = getattr(point, "dist", None)
        registry.sources[enrichment.name] = dist.name if dist else point.value
    return registry


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = list(value)
        text = json.dumps(items, ensure_ascii=False)
        while len(text) > MAX_VALUE and items:
            items.pop()  # keep the value valid JSON: drop whole items, never cut one in half
            text = json.dumps(items, ensure_ascii=False)
        return text
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    raise TypeError(f"unsupported value type {type(value).__name__}")


def tags_of(enrichment: Enrichment, produced: object) -> dict[str, str]:
    """Validate and prefix one enrichment's output. Raises on a malformed result."""
    if not isinstance(produced, dict):
        raise TypeError(f"returned a {type(produced).__name__}, not a dict")
    tags: dict[str, str] = {}
    for key, value in produced.items():
        if not isinstance(key, str) or not key or not all(c.isalnum() or c in "._-" for c in key):
            raise ValueError(f"invalid tag key {key!r}")
        full = key if key.startswith(f"{enrichment.name}.") else f"{enrichment.name}.{key}"
        if len(full) > MAX_KEY:
            raise ValueError(f"tag key longer than {MAX_KEY} characters: {full[:60]}…")
        text = _text(value)
        if text is None:
            continue
        if len(text) > MAX_VALUE:
            text = text[: MAX_VALUE - 1] + "…"
        tags[full] = text
    return tags


@dataclass
class Applied:
    tags: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # name -> what went wrong this turn


def apply(registry: Registry, enabled: list[str], context: TurnContext) -> Applied:
    """Run the enabled enrichments. A failing one is reported and skipped; the turn goes on."""
    result = Applied()
    for name in enabled:
        enrichment = registry.available.get(name)
        if enrichment is None:
            result.errors[name] = registry.broken.get(name, "not installed")
            continue
        try:
            result.tags.update(tags_of(enrichment, enrichment.enrich(context)))
        except Exception as exc:
            result.errors[name] = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("enrichment %s failed on turn %s: %s", name, context.turn.key, exc)
    return result


def enabled_names(configured: str | None) -> list[str]:
    """The configured list (comma-separated; `none` for none), else every built-in."""
    if configured is None:
        return list(BUILT_INS)
    names = [n.strip() for n in configured.split(",") if n.strip()]
    return [] if names == ["none"] else names


def describe(registry: Registry, enabled: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name, enrichment in sorted(registry.available.items()):
        rows.append(
            {
                "name": name,
                "enabled": name in enabled,
                "description": enrichment.description,
                "source": registry.sources.get(name, ""),
                "error": None,
            }
        )
    for name, error in sorted(registry.broken.items()):
        rows.append(
            {
                "name": name,
                "enabled": name in enabled,
                "description": "",
                "source": "",
                "error": error,
            }
        )
    return rows
