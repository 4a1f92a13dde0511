"""The stand-in workspace's Unity Catalog: catalogs, schemas, grants, SQL warehouses and trace
locations, kept in one JSON file under the server's root.

Tests set the catalog up through `StandinWorkspace` (fixtures.py), as an admin would in a real
workspace; the server reads the same file on every request, so a grant added while the server
runs counts at once. Only the stand-in's routes write `locations` and `links`.

Layout of `unity_catalog.json`:
    catalogs:   {catalog: {"grants": {principal: [privilege, ...]},
                           "schemas": {schema: {"grants": {...}}}}}
    tables:     {"c.s.t": {"grants": {...}}}            tables a trace location created
    warehouses: {id: {"name": str, "state": "RUNNING" | "STOPPED" | "STARTING" | ...}}
    locations:  {"c.s.prefix": {"sql_warehouse_id": id, "tables": {kind: "c.s.t"}}}
    links:      {experiment_id: "c.s.prefix"}

Privileges are Unity Catalog's names (USE_CATALOG, USE_SCHEMA, CREATE_TABLE, MODIFY, SELECT,
ALL_PRIVILEGES, ...). A grant on a catalog or schema is inherited by what it holds, as in UC.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

FILE_NAME = "unity_catalog.json"
Json = dict[str, Any]


def path_in(server_root: Path) -> Path:
    return server_root / FILE_NAME


def load(server_root: Path) -> Json:
    path = path_in(server_root)
    state: Json = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for key in ("catalogs", "tables", "warehouses", "locations", "links"):
        state.setdefault(key, {})
    return state


def save(server_root: Path, state: Json) -> None:
    path = path_in(server_root)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


# ---- what tests (admins) set up ----------------------------------------------------------


def add_catalog(state: Json, catalog: str, grants: dict[str, list[str]] | None = None) -> None:
    entry = state["catalogs"].setdefault(catalog, {"grants": {}, "schemas": {}})
    _merge_grants(entry["grants"], grants)


def add_schema(
    state: Json, catalog: str, schema: str, grants: dict[str, list[str]] | None = None
) -> None:
    add_catalog(state, catalog)
    entry = state["catalogs"][catalog]["schemas"].setdefault(schema, {"grants": {}})
    _merge_grants(entry["grants"], grants)


def grant_table(state: Json, full_name: str, principal: str, privileges: list[str]) -> None:
    entry = state["tables"].setdefault(full_name, {"grants": {}})
    _merge_grants(entry["grants"], {principal: privileges})


def add_warehouse(
    state: Json,
    warehouse_id: str,
    name: str,
    state_name: str = "RUNNING",
    *,
    serverless: bool = False,
) -> None:
    state["warehouses"][warehouse_id] = {
        "name": name,
        "state": state_name,
        "serverless": serverless,
    }


def _merge_grants(into: dict[str, list[str]], grants: dict[str, list[str]] | None) -> None:
    for principal, privileges in (grants or {}).items():
        have = into.setdefault(principal, [])
        have.extend(p for p in privileges if p not in have)


# ---- what the server's routes ask ------------------------------------------------------------


def schema_exists(state: Json, catalog: str, schema: str) -> bool:
    return schema in state["catalogs"].get(catalog, {}).get("schemas", {})


def privileges(state: Json, principal: str, full_name: str) -> set[str]:
    """Effective privileges of `principal` on a catalog, schema or table (inherited included)."""
    parts = full_name.split(".")
    catalog = state["catalogs"].get(parts[0], {})
    found = set(catalog.get("grants", {}).get(principal, []))
    if len(parts) >= 2:
        schema = catalog.get("schemas", {}).get(parts[1], {})
        found |= set(schema.get("grants", {}).get(principal, []))
    if len(parts) == 3:
        found |= set(state["tables"].get(full_name, {}).get("grants", {}).get(principal, []))
    return found


WAREHOUSE_START_SECONDS = 0.5  # a started warehouse is STARTING, then RUNNING (real: minutes)


def warehouse(state: Json, warehouse_id: str) -> Json | None:
    """A warehouse's entry; one started (`POST .../start`) a moment ago has become RUNNING."""
    found: Json | None = state["warehouses"].get(warehouse_id)
    since = found.get("starting_since") if found else None
    if found and since and time.time() - float(since) >= WAREHOUSE_START_SECONDS:
        found["state"] = "RUNNING"
        found.pop("starting_since", None)
    return found
