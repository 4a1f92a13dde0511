"""The public contract for enrichments: what a plugin receives and what it must return.

A plugin package declares, in its pyproject.toml::

    [project.entry-points."claudetracing.enrichments"]
    jira = "my_package.enrich:enrichment"

where ``enrichment`` is an :class:`Enrichment` whose ``name`` equals the entry point's name.
Its function gets a :class:`TurnContext` and returns ``{key: value}``; the registry prefixes every
key with ``<name>.``, turns values into MLflow tag strings and enforces MLflow's limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from claudetracing.core.git_info import GitSnapshot
from claudetracing.transcript.model import TokenTotals, Turn

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class TurnContext:
    """Everything known about one finished turn, read-only."""

    turn: Turn  # the prompt, every API response and tool call, subagents nested
    tokens: TokenTotals  # counted once per API response, subagents included
    cwd: Path  # where the session ran
    repo_root: Path | None  # the repository's top folder, when the session ran in one
    recent: bool  # the turn ended moments ago: the working tree still shows its state
    # The working tree's state as the exporter read it for this turn (once, for every
    # enrichment); None when it was not read, or outside any repository (then repo_root is None).
    git: GitSnapshot | None = None


@dataclass(frozen=True)
class Enrichment:
    """A named source of tags. `enrich` may return fewer keys; it must not modify the context."""

    name: str
    description: str
    enrich: Callable[[TurnContext], Mapping[str, object]]
