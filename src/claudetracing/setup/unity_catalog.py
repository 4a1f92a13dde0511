"""`init --uc`: store a repository's traces in Unity Catalog tables instead of the experiment.

`check` only reads (schema, grants, warehouse, the experiment's link and traces) and refuses with
the GRANT or command that fixes what is missing; `apply` starts the warehouse if asked, creates
the trace location, links the experiment to it and reads the link back. Not MLflow's
`set_experiment(trace_location=...)`: it creates the experiment before linking, so a missing
schema, grant or warehouse leaves an unlinked experiment behind (docs/adr/0017)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claudetracing.core import naming
from claudetracing.core.errors import TracesError
from claudetracing.setup import databricks

AUTO = "auto"
# The experiment tag MLflow and Databricks record the link in; the exporter reads it.
LINK_TAG = "mlflow.experiment.databricksTraceDestinationPath"
LOCATIONS = "/api/5.0/mlflow/tracing/locations"
MIGRATION_DOCS = "https://docs.databricks.com/aws/en/mlflow3/genai/tracing/migrate-traces-to-uc"
WAREHOUSE_START_TIMEOUT_S = 600
# MLflow's docs: writers need MODIFY and readers SELECT on the tables, granted as such;
# ALL PRIVILEGES does not count for them.
EXPLICIT = ("MODIFY", "SELECT")
UNUSABLE_STATES = ("DELETING", "DELETED")


@dataclass(frozen=True)
class Target:
    catalog: str
    schema: str
    prefix: str

    @property
    def schema_name(self) -> str:
        return f"{self.catalog}.{self.schema}"

    @property
    def location(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.prefix}"

    @property
    def tables(self) -> dict[str, str]:
        return {k: f"{self.location}{s}" for k, s in naming.UC_TABLE_SUFFIXES.items()}

    def body(self) -> dict[str, str]:
        return {
            "catalog_name": self.catalog,
            "schema_name": self.schema,
            "table_prefix": self.prefix,
        }


@dataclass
class UcPlan:
    """What `init --uc` checked and will do in the workspace."""

    target: Target
    warehouse: databricks.Warehouse
    start_warehouse: bool = False
    tables_exist: bool = False
    already_linked: bool = False
    checked: list[str] = field(default_factory=list)

    @property
    def personal_env(self) -> dict[str, str]:
        from claudetracing.core import keys

        return {keys.UC_LOCATION: self.target.location, keys.UC_WAREHOUSE: self.warehouse.id}

    def steps(self) -> list[str]:
        w = self.warehouse
        steps = [f"SQL warehouse {w.name} ({w.id}): {w.state}"]
        if self.start_warehouse:
            steps.append(f"start SQL warehouse {w.name} ({w.id}): creating the tables needs it")
        steps += [f"checked: {line}" for line in self.checked]
        if self.already_linked:
            steps.append(f"the experiment is already linked to {self.target.location}")
        else:
            verb = "reuse" if self.tables_exist else "create"
            where = self.target.location
            steps.append(f"{verb} trace location {where} (tables {self.prefix_tables})")
            steps.append(f"link the experiment to {self.target.location}")
        return steps

    @property
    def prefix_tables(self) -> str:
        return ", ".join(t.rsplit(".", 1)[1] for t in self.target.tables.values())


def target(text: str, repo: str) -> Target:
    return Target(*naming.parse_uc(text, repo))


def _quote(name: str) -> str:
    return ".".join(f"`{part}`" for part in name.split("."))


def _grant_sql(privileges: list[str], kind: str, name: str, user: str) -> str:
    words = ", ".join(p.replace("_", " ") for p in privileges)
    return f"GRANT {words} ON {kind} {_quote(name)} TO `{user}`;"


def choose_warehouse(
    profile: databricks.Profile, ws: Any, wanted: str
) -> tuple[databricks.Warehouse, bool]:
    """The warehouse and whether it must be started. `auto`: a running one (serverless first:
    it starts in seconds and bills per use), else a stopped one to start."""
    listed = databricks.warehouses(profile, ws)
    usable = [w for w in listed if w.state not in UNUSABLE_STATES]
    known = "; ".join(f"{w.id} ({w.name}, {w.state})" for w in usable) or "none"
    if wanted != AUTO:
        found = databricks.warehouse(profile, ws, wanted)
        if found is None or found.state in UNUSABLE_STATES:
            raise TracesError(
                f"SQL warehouse {wanted!r} does not exist in this workspace "
                f"(warehouses: {known}); nothing was written",
                "pass --warehouse ID with one of them, or --warehouse auto",
            )
        return found, found.state in ("STOPPED", "STOPPING")
    if not usable:
        raise TracesError(
            "this workspace has no SQL warehouse; Unity Catalog trace storage writes and reads "
            "through one; nothing was written",
            "create one (SQL > SQL warehouses > Create, serverless if you can) or ask a "
            "workspace admin, then pass --warehouse ID",
        )

    def rank(w: databricks.Warehouse) -> tuple[bool, bool, str]:
        return (w.state != "RUNNING", not w.serverless, w.name.lower())

    best = sorted(usable, key=rank)[0]
    return best, best.state in ("STOPPED", "STOPPING")


def _experiment(profile: databricks.Profile, ws: Any, path: str) -> dict[str, Any] | None:
    answer = databricks.rest(
        profile,
        ws,
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name",
        query={"experiment_name": path},
        missing=("RESOURCE_DOES_NOT_EXIST",),
    )
    found = (answer or {}).get("experiment")
    return found if isinstance(found, dict) else None


def _link_of(experiment: dict[str, Any]) -> str | None:
    for tag in experiment.get("tags") or []:
        if isinstance(tag, dict) and tag.get("key") == LINK_TAG:
            return str(tag.get("value"))
    return None


def _has_experiment_traces(profile: databricks.Profile, ws: Any, experiment_id: str) -> bool:
    location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
    answer = databricks.rest(
        profile,
        ws,
        "POST",
        "/api/3.0/mlflow/traces/search",
        body={"locations": [location], "max_results": 1},
    )
    return bool((answer or {}).get("traces"))


def _check_experiment(
    profile: databricks.Profile, ws: Any, experiment_path: str, wanted: Target
) -> bool:
    """Whether the experiment is already linked to `wanted`; refuses a link elsewhere and an
    experiment that already holds traces of its own."""
    experiment = _experiment(profile, ws, experiment_path)
    if experiment is None:
        return False
    linked = _link_of(experiment)
    if linked == wanted.location:
        return True
    if linked:
        raise TracesError(
            f"experiment {experiment_path} is linked to another Unity Catalog location, "
            f"{linked} (not {wanted.location}); nothing was written",
            f"pass --uc {linked} to keep it, or --experiment PATH for a new experiment "
            f"linked to {wanted.location}",
        )
    if _has_experiment_traces(profile, ws, str(experiment["experiment_id"])):
        raise TracesError(
            f"experiment {experiment_path} already holds traces stored in the experiment; "
            "linking it to Unity Catalog would leave them behind; nothing was written",
            f"pass --experiment PATH for a new experiment linked to {wanted.location}, and copy "
            "the old traces with Databricks' migration (databricks-agents >= 1.10.1 on a "
            f"cluster): {MIGRATION_DOCS}",
        )
    return False


def check(
    profile: databricks.Profile,
    ws: Any,
    wanted: Target,
    warehouse: str,
    experiment_path: str,
) -> UcPlan:
    """Every Unity Catalog precondition of `init --uc`, read-only; refuses with the fix."""
    user, principals = databricks.identity(profile, ws)
    on_catalog = databricks.effective_privileges(profile, ws, "catalog", wanted.catalog, principals)
    if on_catalog is None:
        known = ", ".join(databricks.catalogs(profile, ws)) or "none you can use"
        raise TracesError(
            f"catalog {wanted.catalog!r} does not exist (catalogs: {known}); nothing was written",
            "check the name in --uc, or ask a metastore admin to create it",
        )
    on_schema = databricks.effective_privileges(
        profile, ws, "schema", wanted.schema_name, principals
    )
    if on_schema is None:
        known = ", ".join(databricks.schemas(profile, ws, wanted.catalog)) or "none you can use"
        raise TracesError(
            f"schema {wanted.schema_name} does not exist (schemas in {wanted.catalog}: {known}); "
            "nothing was written",
            f"ask the owner of catalog {wanted.catalog} to run: CREATE SCHEMA "
            f"{_quote(wanted.schema_name)}; then grant it (docs/databricks.md), "
            "or pick another schema in --uc",
        )
    spans = wanted.tables["spans"]
    tables_exist = databricks.table_exists(profile, ws, spans)
    missing: list[tuple[list[str], str, str]] = []  # (privileges, securable kind, name)

    def need(privileges: list[str], held: set[str], kind: str, name: str) -> None:
        lacking = [
            p
            for p in privileges
            if p not in held and (p in EXPLICIT or "ALL_PRIVILEGES" not in held)
        ]
        if lacking:
            missing.append((lacking, kind, name))

    need(["USE_CATALOG"], on_catalog, "CATALOG", wanted.catalog)
    on_schema_needs = ["USE_SCHEMA"] if tables_exist else ["USE_SCHEMA", "CREATE_TABLE", *EXPLICIT]
    need(on_schema_needs, on_schema, "SCHEMA", wanted.schema_name)
    if tables_exist:
        for table in wanted.tables.values():
            held = databricks.effective_privileges(profile, ws, "table", table, principals)
            if held is not None:
                need(list(EXPLICIT), held, "TABLE", table)
    if missing:
        what = "; ".join(f"{' '.join(p)} on {k.lower()} {n}" for p, k, n in missing)
        sql = " ".join(_grant_sql(p, k, n, user) for p, k, n in missing)
        raise TracesError(
            f"{user} lacks Unity Catalog privileges for {wanted.location}: {what} "
            "(ALL PRIVILEGES does not count for MODIFY and SELECT); nothing was written",
            f"ask the owner of {wanted.schema_name} or a metastore admin to run: {sql} "
            "(or grant them to a group you are in), then run traces init again",
        )
    chosen, start = choose_warehouse(profile, ws, warehouse)
    checked = [
        f"catalog {wanted.catalog}: USE CATALOG",
        f"schema {wanted.schema_name}: USE SCHEMA"
        + ("" if tables_exist else ", CREATE TABLE, MODIFY, SELECT"),
    ]
    if tables_exist:
        checked.append(f"tables {wanted.location}_otel_*: MODIFY, SELECT")
    linked = _check_experiment(profile, ws, experiment_path, wanted)
    return UcPlan(wanted, chosen, start, tables_exist, linked, checked)


def apply(profile: databricks.Profile, ws: Any, plan: UcPlan, experiment_id: str) -> None:
    """Start the warehouse if planned, create (or reuse) the location, link, read it back."""
    if plan.start_warehouse:
        plan.warehouse = databricks.start_warehouse(
            profile, ws, plan.warehouse.id, WAREHOUSE_START_TIMEOUT_S
        )
    if not plan.already_linked:
        path = f"/api/5.0/mlflow/experiments/{experiment_id}/trace-location:link"
        link = {"experiment_id": experiment_id, "uc_table_prefix": plan.target.body()}
        # A location whose tables exist was made by a teammate: link to it (creating it again
        # needs CREATE TABLE, which its users do not need).
        done = plan.tables_exist and databricks.rest(
            profile, ws, "POST", path, body=link, missing=("RESOURCE_DOES_NOT_EXIST",)
        )
        if done is None or done is False:
            body = {"uc_table_prefix": plan.target.body(), "sql_warehouse_id": plan.warehouse.id}
            databricks.rest(profile, ws, "POST", LOCATIONS, body=body)
            databricks.rest(profile, ws, "POST", path, body=link)
    answer = databricks.rest(
        profile,
        ws,
        "GET",
        "/api/2.0/mlflow/experiments/get",
        query={"experiment_id": experiment_id},
    )
    linked = _link_of((answer or {}).get("experiment") or {})
    if linked != plan.target.location:
        raise TracesError(
            f"the experiment did not read back as linked to {plan.target.location} "
            f"(its {LINK_TAG} is {linked!r}); the settings were not written",
            "run traces init again; if it persists, check the experiment in the workspace UI",
        )


@dataclass
class UcStatus:
    """What `traces status` shows of Unity Catalog storage, and what is wrong with it."""

    location: str
    tables: list[str]
    warehouse_id: str | None
    warehouse_name: str | None = None
    warehouse_state: str | None = None  # None: not checked
    linked: bool | None = None  # the experiment's link tag names this location
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def inspect(
    profile_name: str | None,
    location: str,
    warehouse_id: str | None,
    experiment_path: str,
    *,
    online: bool,
) -> UcStatus:
    """The configured location, its warehouse, the user's grants on its tables and the
    experiment's link. Offline: only what the settings say."""
    parts = location.split(".")
    fix_init = f"run `traces init --uc {location} --warehouse auto`"
    if len(parts) != 3:
        found = UcStatus(location, [], warehouse_id)
        what = f"CLAUDETRACING_UC_LOCATION {location!r} is not CATALOG.SCHEMA.PREFIX"
        found.problems.append((what, fix_init))
        return found
    wanted = Target(*parts)
    found = UcStatus(location, list(wanted.tables.values()), warehouse_id)
    if not warehouse_id:
        found.problems.append(
            (
                "no SQL warehouse is set (CLAUDETRACING_UC_WAREHOUSE): traces cannot be written "
                "to or read from Unity Catalog",
                fix_init,
            )
        )
    if not online or not profile_name:
        return found
    from claudetracing.setup import workspace

    try:
        profile = workspace.find_profile(profile_name)
        ws = databricks.client(profile)
        _inspect_online(profile, ws, wanted, found, experiment_path, fix_init)
    except TracesError as exc:
        found.problems.append((f"Unity Catalog not checked: {exc.message}", exc.hint or fix_init))
    return found


def _inspect_online(
    profile: databricks.Profile,
    ws: Any,
    wanted: Target,
    found: UcStatus,
    experiment_path: str,
    fix_init: str,
) -> None:
    if found.warehouse_id:
        w = databricks.warehouse(profile, ws, found.warehouse_id)
        if w is None or w.state in UNUSABLE_STATES:
            found.warehouse_state = "MISSING" if w is None else w.state
            found.problems.append(
                (
                    f"SQL warehouse {found.warehouse_id} does not exist any more: writes to "
                    f"{wanted.location} fail and turns stay spooled",
                    f"{fix_init} (or --warehouse ID), then `traces flush`",
                )
            )
        else:
            found.warehouse_name, found.warehouse_state = w.name, w.state
            if w.state in ("STOPPED", "STOPPING"):
                found.warnings.append(
                    (
                        f"SQL warehouse {w.name} ({w.id}) is {w.state}: the next export starts it "
                        "and waits (up to minutes)",
                        f"start it now: `databricks warehouses start {w.id}`, or pick a running "
                        f"one: {fix_init}",
                    )
                )
    user, principals = databricks.identity(profile, ws)
    lacking: list[tuple[str, list[str]]] = []
    for table in wanted.tables.values():
        held = databricks.effective_privileges(profile, ws, "table", table, principals)
        if held is None:
            continue  # not created yet, or this kind of table is not written
        missing = [p for p in EXPLICIT if p not in held]
        if missing:
            lacking.append((table, missing))
    if not databricks.table_exists(profile, ws, wanted.tables["spans"]):
        found.problems.append(
            (
                f"table {wanted.tables['spans']} does not exist: the location was never "
                "created or was dropped",
                fix_init,
            )
        )
    if lacking:
        what = "; ".join(f"{' '.join(m)} on {t}" for t, m in lacking)
        sql = " ".join(_grant_sql(m, "TABLE", t, user) for t, m in lacking)
        found.problems.append(
            (
                f"{user} lacks {what}: exports to Unity Catalog are rejected",
                f"ask the owner of {wanted.schema_name} or a metastore admin to run: {sql}",
            )
        )
    experiment = _experiment(profile, ws, experiment_path)
    link = _link_of(experiment) if experiment else None
    found.linked = link == wanted.location
    if not found.linked:
        now = f"linked to {link}" if link else "not linked to any Unity Catalog location"
        found.problems.append(
            (
                f"experiment {experiment_path} is {now}, but the settings say {wanted.location}",
                fix_init,
            )
        )
