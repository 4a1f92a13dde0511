"""`traces init --uc` against the stand-in workspace (real `traces` CLI): every Unity Catalog
precondition is checked before anything is written, each refusal names its fix, and a good
setup creates the location, links the experiment once and writes the personal settings."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.databricks_standin.fixtures import StandinWorkspace
from tests.tracing import traces

pytestmark = pytest.mark.server

EXPERIMENT = "/Shared/claude-code/widgets"
LOCATION = "main.traces.widgets"
LINK_TAG = "mlflow.experiment.databricksTraceDestinationPath"
WRITERS = ["USE_SCHEMA", "CREATE_TABLE", "MODIFY", "SELECT"]


def _set_up(
    ws: StandinWorkspace,
    *,
    schema_grants: list[str] | None = None,
    catalog_grants: list[str] | None = None,
    warehouse: str | None = "RUNNING",
) -> None:
    """What an admin does (docs/databricks.md): schema, grants, a warehouse."""
    catalog = ["USE_CATALOG"] if catalog_grants is None else catalog_grants
    ws.add_catalog("main", {ws.user: catalog} if catalog else None)
    grants = WRITERS if schema_grants is None else schema_grants
    ws.add_schema("main", "traces", {ws.user: grants} if grants else None)
    if warehouse is not None:
        ws.add_warehouse("wh0001", "Starter Warehouse", warehouse, serverless=True)


def _init(repo: Path, ws: StandinWorkspace, *extra: str) -> Any:
    return traces("init", "--profile", ws.profile, "--scope", "shared", *extra, cwd=repo)


def _writes(ws: StandinWorkspace) -> list[tuple[str, str]]:
    """Requests that change the workspace (searches and reads excluded)."""
    return [
        (method, path)
        for method, path in ws.routes()
        if method != "GET" and not path.endswith("/search")
    ]


def _assert_nothing_written(repo: Path, ws: StandinWorkspace) -> None:
    assert not (repo / ".claude").exists()
    assert (
        ".gitignore" not in {p.name for p in repo.iterdir()}
        or "claudetracing" not in (repo / ".gitignore").read_text()
    )
    assert _writes(ws) == [], _writes(ws)
    state = ws.uc_state()
    assert state["locations"] == {} and state["links"] == {}


def _experiment(ws: StandinWorkspace, path: str = EXPERIMENT) -> dict[str, Any] | None:
    from databricks.sdk import WorkspaceClient

    client = WorkspaceClient(profile=ws.profile)
    try:
        found = client.api_client.do(
            "GET", "/api/2.0/mlflow/experiments/get-by-name", query={"experiment_name": path}
        )
    except Exception:
        return None
    return dict(found["experiment"])


def _tags(experiment: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in experiment.get("tags", [])}


def _make_experiment(ws: StandinWorkspace, tags: dict[str, str] | None = None) -> str:
    from databricks.sdk import WorkspaceClient

    client = WorkspaceClient(profile=ws.profile)
    client.workspace.mkdirs("/Shared/claude-code")
    body = {"name": EXPERIMENT, "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
    made = client.api_client.do("POST", "/api/2.0/mlflow/experiments/create", body=body)
    return str(made["experiment_id"])


# ---- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--local", "--uc", "main.traces"], "applies to a Databricks workspace only"),
        (["--tracking-uri", "sqlite:///x.db", "--uc", "main.traces"], "Databricks workspace"),
        (["--profile", "dev", "--warehouse", "auto"], "--warehouse goes with --uc"),
        (["--profile", "dev", "--uc", "main"], "is not CATALOG.SCHEMA"),
        (["--profile", "dev", "--uc", "a.b.c.d"], "is not CATALOG.SCHEMA"),
        (["--profile", "dev", "--uc", "main.traces.9lives"], "is not a plain identifier"),
        (["--profile", "dev", "--uc", "main.traces.my-repo"], "is not a plain identifier"),
        (["--profile", "dev", "--uc", "main.tra ces"], "has characters we do not accept"),
        (["--profile", "dev", "--uc", " main.traces"], "spaces or control characters"),
        (["--profile", "dev", "--uc", f"main.traces.{'p' * 239}"], "at most 238"),
    ],
)
def test_bad_uc_flags_are_refused_before_anything(repo: Path, args: list[str], words: str) -> None:
    done = traces("init", *args, "--yes", cwd=repo)
    assert done.returncode != 0
    assert words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (repo / ".claude").exists()


# ---- refusals: nothing written ------------------------------------------------------------


def test_missing_schema_is_refused_with_the_create_statement(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    _set_up(ws)
    done = _init(repo, ws, "--uc", "main.missing", "--yes")
    assert done.returncode != 0
    assert "schema main.missing does not exist (schemas in main: traces)" in done.stderr
    assert "CREATE SCHEMA `main`.`missing`" in done.stderr
    _assert_nothing_written(repo, ws)


def test_missing_catalog_is_refused(repo: Path, databricks_workspace: StandinWorkspace) -> None:
    ws = databricks_workspace
    _set_up(ws)
    done = _init(repo, ws, "--uc", "nope.traces", "--yes")
    assert done.returncode != 0
    assert "catalog 'nope' does not exist (catalogs: main)" in done.stderr
    _assert_nothing_written(repo, ws)


@pytest.mark.parametrize("lacking", ["USE_CATALOG", *WRITERS])
def test_each_missing_privilege_is_refused_with_its_grant(
    repo: Path, databricks_workspace: StandinWorkspace, lacking: str
) -> None:
    ws = databricks_workspace
    catalog = [] if lacking == "USE_CATALOG" else ["USE_CATALOG"]
    _set_up(ws, catalog_grants=catalog, schema_grants=[p for p in WRITERS if p != lacking])
    done = _init(repo, ws, "--uc", "main.traces", "--yes")
    assert done.returncode != 0, done.stderr
    words = lacking.replace("_", " ")
    if lacking == "USE_CATALOG":
        expected = f"GRANT USE CATALOG ON CATALOG `main` TO `{ws.user}`;"
    else:
        expected = f"GRANT {words} ON SCHEMA `main`.`traces` TO `{ws.user}`;"
    assert expected in done.stderr, done.stderr
    assert "nothing was written" in done.stderr
    _assert_nothing_written(repo, ws)


def test_all_privileges_does_not_stand_in_for_modify_and_select(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    _set_up(ws, schema_grants=["ALL_PRIVILEGES"])
    done = _init(repo, ws, "--uc", "main.traces", "--yes")
    assert done.returncode != 0
    assert f"GRANT MODIFY, SELECT ON SCHEMA `main`.`traces` TO `{ws.user}`;" in done.stderr
    assert "ALL PRIVILEGES does not count" in done.stderr
    _assert_nothing_written(repo, ws)


def test_missing_warehouse_is_refused_with_the_ones_there_are(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    _set_up(ws)
    done = _init(repo, ws, "--uc", "main.traces", "--warehouse", "gone42", "--yes")
    assert done.returncode != 0
    assert "SQL warehouse 'gone42' does not exist" in done.stderr
    assert "wh0001 (Starter Warehouse, RUNNING)" in done.stderr
    _assert_nothing_written(repo, ws)


def test_no_warehouse_at_all_is_refused(repo: Path, databricks_workspace: StandinWorkspace) -> None:
    ws = databricks_workspace
    _set_up(ws, warehouse=None)
    done = _init(repo, ws, "--uc", "main.traces", "--warehouse", "auto", "--yes")
    assert done.returncode != 0
    assert "this workspace has no SQL warehouse" in done.stderr
    _assert_nothing_written(repo, ws)


def test_an_experiment_linked_elsewhere_is_not_relinked(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    _set_up(ws)
    _make_experiment(ws, {LINK_TAG: "main.other.team"})
    ws.clear_requests()
    done = _init(repo, ws, "--uc", "main.traces", "--yes")
    assert done.returncode != 0
    assert "is linked to another Unity Catalog location, main.other.team" in done.stderr
    assert "--uc main.other.team" in done.stderr
    _assert_nothing_written(repo, ws)
    found = _experiment(ws)
    assert found is not None and _tags(found)[LINK_TAG] == "main.other.team"


def test_an_experiment_holding_its_own_traces_points_to_the_migration(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    from databricks.sdk import WorkspaceClient

    ws = databricks_workspace
    _set_up(ws)
    experiment_id = _make_experiment(ws)
    trace_info = {
        "trace_id": f"tr-{secrets.token_hex(16)}",
        "trace_location": {
            "type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": experiment_id},
        },
        "request_time": "2026-01-01T00:00:00Z",
        "state": "OK",
    }
    client = WorkspaceClient(profile=ws.profile)
    client.api_client.do(
        "POST", "/api/3.0/mlflow/traces", body={"trace": {"trace_info": trace_info}}
    )
    ws.clear_requests()
    done = _init(repo, ws, "--uc", "main.traces", "--yes")
    assert done.returncode != 0
    assert "already holds traces stored in the experiment" in done.stderr
    assert "migrate-traces-to-uc" in done.stderr and "databricks-agents" in done.stderr
    _assert_nothing_written(repo, ws)


def test_dry_run_shows_the_location_and_the_checks_and_writes_nothing(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    _set_up(ws, warehouse="STOPPED")
    done = _init(repo, ws, "--uc", "main.traces", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "create trace location main.traces.widgets" in done.stderr
    assert "widgets_otel_spans" in done.stderr
    assert "checked: schema main.traces: USE SCHEMA, CREATE TABLE, MODIFY, SELECT" in done.stderr
    assert "start SQL warehouse Starter Warehouse (wh0001)" in done.stderr
    assert "CLAUDETRACING_UC_LOCATION" in done.stderr  # the planned personal settings
    _assert_nothing_written(repo, ws)
    assert ws.uc_state()["warehouses"]["wh0001"]["state"] == "STOPPED"


# ---- success ----------------------------------------------------------------------------------


def test_init_uc_links_the_experiment_once_and_writes_the_settings(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    _set_up(ws, warehouse="STOPPED")
    done = _init(repo, ws, "--uc", "main.traces", "--warehouse", "auto", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"stores its traces in Unity Catalog, {LOCATION}" in done.stderr
    state = ws.uc_state()
    assert set(state["locations"]) == {LOCATION}
    experiment = _experiment(ws)
    assert experiment is not None
    assert state["links"] == {experiment["experiment_id"]: LOCATION}
    assert _tags(experiment)[LINK_TAG] == LOCATION
    assert state["warehouses"]["wh0001"]["state"] in ("STARTING", "RUNNING")  # it was started
    assert ("POST", "/api/2.0/sql/warehouses/wh0001/start") in ws.routes()
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_UC_LOCATION"] == LOCATION
    assert personal["env"]["CLAUDETRACING_UC_WAREHOUSE"] == "wh0001"
    team = json.loads((repo / ".claude/settings.json").read_text())
    assert "CLAUDETRACING_UC_LOCATION" not in team.get("env", {})
    # No test trace: one could not be deleted from Unity Catalog.
    assert not [p for m, p in ws.routes() if m == "POST" and p.startswith("/api/2.0/otel")]

    ws.clear_requests()
    again = _init(repo, ws, "--uc", "main.traces", "--yes")
    assert again.returncode == 0, again.stderr
    assert "already linked to main.traces.widgets" in again.stderr
    assert "nothing to change" in again.stderr
    assert not [p for m, p in ws.routes() if m == "POST" and "/api/5.0/" in p]
    # Without --uc, init keeps what the personal settings say rather than dropping it.
    plain = _init(repo, ws, "--yes")
    assert plain.returncode == 0, plain.stderr
    assert "the Unity Catalog location comes from" in plain.stderr
    assert "nothing to change" in plain.stderr


def test_a_teammate_links_to_the_existing_tables_with_read_write_grants(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    """The tables exist (a teammate's init made them): USE SCHEMA plus MODIFY and SELECT on
    the tables suffice, no CREATE TABLE; a new experiment links to the same location."""
    ws = databricks_workspace
    _set_up(ws)
    first = _init(repo, ws, "--uc", "main.traces", "--yes")
    assert first.returncode == 0, first.stderr
    ws._uc(
        lambda state: state["catalogs"]["main"]["schemas"]["traces"]["grants"].update(
            {ws.user: ["USE_SCHEMA", "MODIFY", "SELECT"]}
        )
    )
    done = traces(
        "init",
        "--profile",
        ws.profile,
        "--experiment",
        f"/Users/{ws.user}/claude-code/widgets-mine",
        "--uc",
        "main.traces",
        "--yes",
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr
    assert "reuse trace location main.traces.widgets" in done.stderr
    assert len(ws.uc_state()["links"]) == 2


# ---- traces status ----------------------------------------------------------------------------


def _status(repo: Path) -> tuple[int, dict[str, Any], str]:
    done = traces("status", "--json", cwd=repo)
    text = traces("status", cwd=repo)
    return done.returncode, json.loads(done.stdout), text.stdout + text.stderr


def test_status_shows_the_location_and_says_what_broke(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    ws = databricks_workspace
    _set_up(ws)
    done = _init(repo, ws, "--uc", "main.traces", "--yes")
    assert done.returncode == 0, done.stderr
    code, report, text = _status(repo)
    assert code == 0, report["problems"]
    uc = report["unity_catalog"]
    assert uc["location"] == LOCATION and uc["linked"] is True
    assert uc["warehouse_id"] == "wh0001" and uc["warehouse_state"] == "RUNNING"
    assert f"{LOCATION}_otel_spans" in uc["tables"]
    assert f"unity catalog: {LOCATION} (linked)" in text
    assert "warehouse:  Starter Warehouse (wh0001): RUNNING" in text

    ws._uc(lambda state: state["warehouses"]["wh0001"].update(state="STOPPED"))
    code, report, text = _status(repo)
    assert code == 0  # a stopped warehouse starts on the next write: a warning
    assert any("is STOPPED" in w["what"] for w in report["warnings"])
    assert "databricks warehouses start wh0001" in text

    ws._uc(
        lambda state: state["catalogs"]["main"]["schemas"]["traces"]["grants"].update(
            {ws.user: ["USE_SCHEMA", "CREATE_TABLE", "SELECT"]}
        )
    )
    code, report, text = _status(repo)
    assert code != 0
    assert f"GRANT MODIFY ON TABLE `main`.`traces`.`widgets_otel_spans` TO `{ws.user}`;" in text

    ws._uc(lambda state: state["warehouses"].pop("wh0001"))
    code, report, text = _status(repo)
    assert code != 0
    assert any("SQL warehouse wh0001 does not exist" in p["what"] for p in report["problems"])
    assert report["unity_catalog"]["warehouse_state"] == "MISSING"


# ---- the wizard, in a real terminal -----------------------------------------------------------


def test_the_wizard_offers_unity_catalog_and_lists_what_the_user_can_use(
    repo: Path, databricks_workspace: StandinWorkspace
) -> None:
    import os

    import pexpect

    from tests.tracing import TRACES

    ws = databricks_workspace
    _set_up(ws)
    ws.add_schema("main", "hidden")  # no grant: not offered
    ws.add_warehouse("wh0002", "Big Classic", "STOPPED")
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160", "LINES": "40"}
    child = pexpect.spawn(
        TRACES, ["init"], cwd=str(repo), env=env, encoding="utf-8", timeout=90, dimensions=(40, 160)
    )
    child.expect("Where should this repository's traces go?")
    child.send("\r")  # dev
    child.expect("Which experiment?")
    child.send("\r")  # shared
    child.expect("Store traces in Unity Catalog tables?")
    child.send("y")  # a key answers it; a newline would answer the next question
    child.expect("Which schema?")
    child.expect("main.traces")
    assert "main.hidden" not in child.before + child.after
    child.send("\r")
    child.expect("Table prefix")
    child.send("\r")  # the convention: widgets
    child.expect("Which SQL warehouse?")
    child.expect(r"Starter Warehouse  \(wh0001, RUNNING, serverless\)")
    child.expect(r"Big Classic  \(wh0002, STOPPED; will be started\)")
    child.send("\r")
    child.expect("create trace location main.traces.widgets")
    child.expect("Apply this plan?")
    assert not (repo / ".claude").exists() and ws.uc_state()["links"] == {}
    child.sendline("y")
    child.expect("stores its traces in Unity Catalog, main.traces.widgets")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    personal = json.loads((repo / ".claude/settings.local.json").read_text())
    assert personal["env"]["CLAUDETRACING_UC_LOCATION"] == LOCATION
    assert personal["env"]["CLAUDETRACING_UC_WAREHOUSE"] == "wh0001"
