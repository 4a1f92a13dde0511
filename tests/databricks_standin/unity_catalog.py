"""The stand-in's Unity Catalog and SQL warehouse routes, as the Databricks SDK's
`WorkspaceClient` calls them (`catalogs`, `schemas`, `grants.get_effective`, `tables.exists`,
`warehouses`), on the state in `uc_state.py`.

Answers have the shapes of the SDK's dataclasses (`CatalogInfo`, `SchemaInfo`,
`EffectivePermissionsList`, `GetWarehouseResponse`) and errors the codes Unity Catalog gives:
404 `CATALOG_DOES_NOT_EXIST` / `SCHEMA_DOES_NOT_EXIST` / `TABLE_DOES_NOT_EXIST`, 403
`PERMISSION_DENIED` naming the missing privilege, 404 `RESOURCE_DOES_NOT_EXIST` for a warehouse.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from . import uc_state

Json = dict[str, Any]
Answer = tuple[int, Json]

METASTORE_ID = "11111111-2222-3333-4444-555555555555"
# Every workspace user is in these groups (SCIM `Me` lists `users`).
BUILTIN_GROUPS = ("users", "account users")

_CATALOG = re.compile(r"^/api/2\.1/unity-catalog/catalogs/(?P<name>[^/]+)$")
_SCHEMA = re.compile(r"^/api/2\.1/unity-catalog/schemas/(?P<name>[^/]+)$")
_EFFECTIVE = re.compile(
    r"^/api/2\.1/unity-catalog/effective-permissions/(?P<kind>[^/]+)/(?P<name>[^/]+)$"
)
_TABLE_EXISTS = re.compile(r"^/api/2\.1/unity-catalog/tables/(?P<name>[^/]+)/exists$")
_WAREHOUSE = re.compile(r"^/api/2\.0/sql/warehouses/(?P<id>[^/]+)$")
_WAREHOUSE_START = re.compile(r"^/api/2\.0/sql/warehouses/(?P<id>[^/]+)/start$")


class UcError(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def principals(user: str) -> list[str]:
    return [user, *BUILTIN_GROUPS]


def handle(
    server_root: Path, method: str, path: str, query: dict[str, list[str]], user: str
) -> Answer | None:
    """The answer to a Unity Catalog or warehouse request, or None when the path is not one."""
    if not path.startswith(("/api/2.1/unity-catalog/", "/api/2.0/sql/warehouses")):
        return None
    state = uc_state.load(server_root)
    before = json.dumps(state, sort_keys=True)
    try:
        answer = _route(state, method, path, query, user)
    except UcError as err:
        return err.status, {"error_code": err.error_code, "message": err.message}
    if json.dumps(state, sort_keys=True) != before:
        uc_state.save(server_root, state)
    return answer


def _route(
    state: Json, method: str, path: str, query: dict[str, list[str]], user: str
) -> Answer | None:
    who = principals(user)
    if path == "/api/2.1/unity-catalog/catalogs" and method == "GET":
        names = [c for c in sorted(state["catalogs"]) if _visible(state, who, c)]
        return 200, {"catalogs": [_catalog_info(state, c) for c in names]}
    if (match := _CATALOG.match(path)) and method == "GET":
        name = match["name"].lower()
        _require_catalog(state, name)
        if not _visible(state, who, name):
            raise UcError(
                403, "PERMISSION_DENIED", f"User does not have USE CATALOG on Catalog '{name}'."
            )
        return 200, _catalog_info(state, name)
    if path == "/api/2.1/unity-catalog/schemas" and method == "GET":
        catalog = (query.get("catalog_name") or [""])[0].lower()
        if not catalog:
            raise UcError(400, "INVALID_PARAMETER_VALUE", "Missing required field: catalog_name")
        _require_catalog(state, catalog)
        _require_use_catalog(state, who, catalog)
        schemas = state["catalogs"][catalog]["schemas"]
        visible = [s for s in sorted(schemas) if _has_any(state, who, f"{catalog}.{s}")]
        return 200, {"schemas": [_schema_info(state, catalog, s) for s in visible]}
    if (match := _SCHEMA.match(path)) and method == "GET":
        catalog, schema = _split_schema(match["name"])
        _require_schema(state, catalog, schema)
        _require_use_catalog(state, who, catalog)
        if not _has(state, who, f"{catalog}.{schema}", "USE_SCHEMA"):
            raise UcError(
                403,
                "PERMISSION_DENIED",
                f"User does not have USE SCHEMA on Schema '{catalog}.{schema}'.",
            )
        return 200, _schema_info(state, catalog, schema)
    if (match := _EFFECTIVE.match(path)) and method == "GET":
        return 200, _effective(state, match["kind"], match["name"], query)
    if (match := _TABLE_EXISTS.match(path)) and method == "GET":
        name = match["name"].lower()
        parts = name.split(".")
        if len(parts) != 3:
            raise UcError(400, "INVALID_PARAMETER_VALUE", f"Invalid table name '{name}'.")
        _require_schema(state, parts[0], parts[1])
        return 200, {"table_exists": name in state["tables"]}
    if path == "/api/2.0/sql/warehouses" and method == "GET":
        ids = sorted(state["warehouses"])
        return 200, {"warehouses": [_warehouse_info(state, i) for i in ids]}
    if (match := _WAREHOUSE.match(path)) and method == "GET":
        return 200, _warehouse_info(state, _require_warehouse(state, match["id"]))
    if (match := _WAREHOUSE_START.match(path)) and method == "POST":
        found = state["warehouses"][_require_warehouse(state, match["id"])]
        if found["state"] in ("STOPPED", "STOPPING"):
            found["state"] = "STARTING"
            found["starting_since"] = time.time()  # uc_state.warehouse: RUNNING soon after
        return 200, {}
    return None


# ---- securables --------------------------------------------------------------------------


def _require_catalog(state: Json, catalog: str) -> None:
    if catalog not in state["catalogs"]:
        raise UcError(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{catalog}' does not exist.")


def _require_schema(state: Json, catalog: str, schema: str) -> None:
    _require_catalog(state, catalog)
    if not uc_state.schema_exists(state, catalog, schema):
        raise UcError(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{catalog}.{schema}' does not exist.")


def _split_schema(full_name: str) -> tuple[str, str]:
    parts = full_name.lower().split(".")
    if len(parts) != 2 or not all(parts):
        raise UcError(400, "INVALID_PARAMETER_VALUE", f"Invalid schema full name '{full_name}'.")
    return parts[0], parts[1]


def _privileges(state: Json, who: list[str], full_name: str) -> set[str]:
    found: set[str] = set()
    for principal in who:
        found |= uc_state.privileges(state, principal, full_name)
    return found


def _has(state: Json, who: list[str], full_name: str, privilege: str) -> bool:
    held = _privileges(state, who, full_name)
    return privilege in held or "ALL_PRIVILEGES" in held


def _has_any(state: Json, who: list[str], full_name: str) -> bool:
    return bool(_privileges(state, who, full_name) - {"USE_CATALOG"})


def _visible(state: Json, who: list[str], catalog: str) -> bool:
    """A catalog is listed to whoever holds some privilege on it or on a schema in it."""
    if _privileges(state, who, catalog):
        return True
    schemas = state["catalogs"][catalog].get("schemas", {})
    return any(_privileges(state, who, f"{catalog}.{s}") for s in schemas)


def _require_use_catalog(state: Json, who: list[str], catalog: str) -> None:
    if not _has(state, who, catalog, "USE_CATALOG"):
        raise UcError(
            403, "PERMISSION_DENIED", f"User does not have USE CATALOG on Catalog '{catalog}'."
        )


def _catalog_info(state: Json, catalog: str) -> Json:
    entry = state["catalogs"][catalog]
    return {
        "name": catalog,
        "full_name": catalog,
        "owner": entry.get("owner", "admins"),
        "catalog_type": "MANAGED_CATALOG",
        "metastore_id": METASTORE_ID,
        "securable_type": "CATALOG",
    }


def _schema_info(state: Json, catalog: str, schema: str) -> Json:
    entry = state["catalogs"][catalog]["schemas"][schema]
    return {
        "name": schema,
        "catalog_name": catalog,
        "full_name": f"{catalog}.{schema}",
        "owner": entry.get("owner", "admins"),
        "catalog_type": "MANAGED_CATALOG",
        "metastore_id": METASTORE_ID,
    }


def _effective(state: Json, kind: str, full_name: str, query: dict[str, list[str]]) -> Json:
    """`EffectivePermissionsList`: each principal's privileges, each with where it came from."""
    kind = kind.lower()
    name = full_name.lower()
    parts = name.split(".")
    expected = {"catalog": 1, "schema": 2, "table": 3}.get(kind)
    if expected is None:
        raise UcError(400, "INVALID_PARAMETER_VALUE", f"Invalid securable type '{kind}'.")
    if len(parts) != expected or not all(parts):
        raise UcError(400, "INVALID_PARAMETER_VALUE", f"Invalid {kind} name '{full_name}'.")
    _require_catalog(state, parts[0])
    if kind != "catalog":
        _require_schema(state, parts[0], parts[1])
    if kind == "table" and name not in state["tables"]:
        raise UcError(404, "TABLE_DOES_NOT_EXIST", f"Table '{name}' does not exist.")
    levels = [("CATALOG", parts[0], state["catalogs"][parts[0]]["grants"])]
    if kind != "catalog":
        schema_grants = state["catalogs"][parts[0]]["schemas"][parts[1]]["grants"]
        levels.append(("SCHEMA", ".".join(parts[:2]), schema_grants))
    if kind == "table":
        levels.append(("TABLE", name, state["tables"][name].get("grants", {})))
    wanted = query["principal"][0] if query.get("principal") else None
    assignments: dict[str, list[Json]] = {}
    for level_type, level_name, grants in levels:
        for principal, privileges in grants.items():
            if wanted is not None and principal != wanted:
                continue
            for privilege in privileges:
                item: Json = {"privilege": privilege}
                if level_name != name:
                    item["inherited_from_type"] = level_type
                    item["inherited_from_name"] = level_name
                assignments.setdefault(principal, []).append(item)
    return {
        "privilege_assignments": [
            {"principal": p, "privileges": privileges} for p, privileges in assignments.items()
        ]
    }


# ---- warehouses -----------------------------------------------------------------------------


def _require_warehouse(state: Json, warehouse_id: str) -> str:
    found = uc_state.warehouse(state, warehouse_id)
    if found is None or found.get("state") == "DELETED":
        raise UcError(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            f"SQL warehouse {warehouse_id} does not exist.",
        )
    return warehouse_id


def _warehouse_info(state: Json, warehouse_id: str) -> Json:
    entry = uc_state.warehouse(state, warehouse_id) or {}
    serverless = bool(entry.get("serverless", False))
    return {
        "id": warehouse_id,
        "name": entry["name"],
        "state": entry["state"],
        "cluster_size": entry.get("cluster_size", "2X-Small"),
        "enable_serverless_compute": serverless,
        "warehouse_type": "PRO" if serverless else entry.get("warehouse_type", "PRO"),
        "auto_stop_mins": 10,
        "num_clusters": 1 if entry["state"] == "RUNNING" else 0,
        "creator_name": entry.get("creator_name", "admin@example.com"),
        "odbc_params": {"hostname": "standin", "path": f"/sql/1.0/warehouses/{warehouse_id}"},
    }
