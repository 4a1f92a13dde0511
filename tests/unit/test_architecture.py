"""The architecture as rules on the import graph (docs/architecture.md draws the same picture).

Every import counts, including those inside functions: a lazy import is still a dependency."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "claudetracing"

# What each layer may import from ours (besides itself). Top-level modules are entry points
# and forwarding addresses for old import paths.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "capture": {"core"},
    "transcript": {"core"},
    "trace": {"core", "transcript"},
    "redaction": {"core"},
    "enrichments": {"core", "transcript", "trace"},
    "export": {"core", "capture", "transcript", "trace", "redaction", "enrichments"},
    "setup": {"core", "capture", "transcript", "trace", "enrichments", "export"},
    "query": {"core", "trace", "export"},
    "cli": {"core", "capture", "transcript", "trace", "enrichments", "export", "setup", "query"},
    "entry": {"capture", "cli"},
    "__main__": {"entry"},
    "runtime": {"export"},
    "enrichment_api": {"enrichments"},
    "__init__": set(),
}
# Outside systems, each behind the modules named here (one module per outside system).
OWNERS = {
    "mlflow": {
        "claudetracing.export.backend",
        "claudetracing.export.reads",
        "claudetracing.export.uc_writer",
    },
    "databricks": {"claudetracing.setup.databricks", "claudetracing.core.databricks_signin"},
    "git": {"claudetracing.core.git_info"},
    "questionary": {"claudetracing.setup.wizard"},
}
HEAVY = {"mlflow", "databricks", "git", "typer", "rich", "questionary", "filelock", "genai_prices"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


@cache
def imports_of(name: str) -> tuple[tuple[str, bool], ...]:
    """(imported module, at module level?) for every import statement in the module."""
    path = modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, bool]] = []
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((full if full in modules() else base, id(node) in top))
    return tuple(found)


def _ours(imported: str) -> str | None:
    """Our module named by an import (a name imported from a module counts as the module)."""
    while imported and imported not in modules():
        imported = imported.rpartition(".")[0]
    return imported or None


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def test_every_module_belongs_to_a_known_layer() -> None:
    assert {_layer(m) for m in modules()} <= set(MAY_IMPORT)


@pytest.mark.parametrize("module", sorted(modules()))
def test_layers_import_only_what_lies_below_them(module: str) -> None:
    layer = _layer(module)
    allowed = MAY_IMPORT[layer] | {layer}
    wrong = sorted(
        ours
        for imported, _ in imports_of(module)
        if (ours := _ours(imported)) is not None and _layer(ours) not in allowed
    )
    assert not wrong, f"{module} ({layer}) imports {wrong}; {layer} may import {sorted(allowed)}"


@pytest.mark.parametrize("system", sorted(OWNERS))
def test_each_outside_system_is_reached_through_its_one_module(system: str) -> None:
    users = {
        module
        for module in modules()
        for imported, _ in imports_of(module)
        if imported == system or imported.startswith(system + ".")
    }
    assert users <= OWNERS[system], f"{system} imported by {sorted(users - OWNERS[system])}"


def test_capture_stays_on_the_standard_library() -> None:
    """The hook runs while Claude Code waits: capture and what it imports use only the stdlib."""
    seen: set[str] = set()
    todo = [m for m in modules() if _layer(m) == "capture"] + ["claudetracing.entry"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for imported, top_level in imports_of(module):
            ours = _ours(imported)
            if ours is not None:
                if top_level or module.startswith("claudetracing.capture"):
                    todo.append(ours)
                continue
            root = imported.split(".")[0]
            if module != "claudetracing.entry" or top_level:
                assert root in sys.stdlib_module_names or root == "__future__", (
                    f"{module} imports {imported}: the hook path must stay on the stdlib"
                )
    assert not {m for m in seen if _layer(m) not in {"capture", "core", "entry", "__init__"}}


def test_there_are_no_import_cycles() -> None:
    graph = {
        module: {ours for imported, _ in imports_of(module) if (ours := _ours(imported))} - {module}
        for module in modules()
    }
    # A package's __init__ is imported on the way to each of its modules: not an edge back.
    for module in graph:
        graph[module] = {m for m in graph[module] if not module.startswith(m + ".")}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_heavy_libraries_are_imported_inside_the_functions_that_need_them() -> None:
    """`traces --help` and the hook stay fast: nothing heavy at module level outside cli/
    (and query's renderer, which only cli/ imports, inside its commands)."""
    for module in modules():
        if _layer(module) == "cli":
            continue
        allowed = {"rich"} if _layer(module) == "query" else set()
        heavy = [
            imported
            for imported, top_level in imports_of(module)
            if top_level and imported.split(".")[0] in HEAVY - allowed
        ]
        assert not heavy, f"{module} imports {heavy} at module level"


def test_each_configuration_key_is_spelled_once() -> None:
    """Keys live in core/keys.py; a second spelling elsewhere could drift from it."""
    import re

    spelled = re.compile(r"""["']CLAUDETRACING_[A-Z_]+["']""")
    elsewhere = {
        module: spelled.findall(path.read_text(encoding="utf-8"))
        for module, path in modules().items()
        if module != "claudetracing.core.keys" and _layer(module) != "redaction"
    }
    assert not {m: found for m, found in elsewhere.items() if found}


def test_the_hook_takes_exactly_the_events_init_installs(tmp_path: Path) -> None:
    from claudetracing.capture import hook, spool
    from claudetracing.core import claude_settings, keys

    installed = claude_settings.with_hooks({})["hooks"]
    assert tuple(installed) == keys.HOOK_EVENTS
    for event in (*keys.HOOK_EVENTS, "SubagentStop", "UserPromptSubmit"):
        payload = {"hook_event_name": event, "session_id": "s", "transcript_path": "/x.jsonl"}
        before = spool.count(spool.PENDING)
        hook.run(json.dumps(payload).encode(), {keys.NO_EXPORTER: "1"})
        assert spool.count(spool.PENDING) - before == (event in keys.HOOK_EVENTS), event


def test_the_old_addresses_still_answer(isolated: Path) -> None:
    """Old hooks run `python -m claudetracing.runtime`; plugins import the old API module."""
    from claudetracing import enrichment_api
    from claudetracing.enrichments import api

    assert (enrichment_api.Enrichment, enrichment_api.TurnContext) == (
        api.Enrichment,
        api.TurnContext,
    )
    done = subprocess.run(
        [sys.executable, "-m", "claudetracing.runtime"], capture_output=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    log = Path(os.environ["CLAUDETRACING_HOME"]) / "logs" / "exporter.log"
    assert "drain: 0 exported" in log.read_text(encoding="utf-8")


def test_every_configuration_key_is_documented() -> None:
    from claudetracing.core import keys

    documented = (SRC.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    names = [v for k, v in vars(keys).items() if k.isupper() and isinstance(v, str)]
    spelled = [n for n in names if n.startswith(keys.PREFIX) and n != keys.PREFIX]
    assert spelled and not [n for n in spelled if f"`{n}`" not in documented]
