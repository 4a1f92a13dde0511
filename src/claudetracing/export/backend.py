"""MLflow for writing: experiments, span trees stored as traces, finding turns (reads: reads.py)."""

from __future__ import annotations

import inspect
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from claudetracing.core import databricks_signin, paths, telemetry
from claudetracing.core.errors import BackendError, TraceCapReached, TracesError
from claudetracing.core.failures import short as _short
from claudetracing.core.tracking_uri import check_signin, databricks_profile
from claudetracing.trace.builder import COST_ATTRIBUTE, TURN_KEY_TAG, SpanNode, TurnTrace

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LiveSpan, Trace

    from claudetracing.export.uc_writer import UcWriter

# Reads of a Unity Catalog location without a start time cover this much (unbounded UC scans
# are slow and billed by the warehouse).
UC_DEFAULT_WINDOW_DAYS = 30


def _quiet_mlflow() -> None:
    # No usage telemetry unless the person turned it on (ADR 13); the worker and every
    # command have already said so, this covers anything else that exports through us.
    telemetry.keep_off()
    # Our exporter runs detached; MLflow's start-up chatter would only fill our log.
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    os.environ.setdefault("MLFLOW_TRACE_SAMPLING_RATIO", "1.0")
    # MLflow would fetch a price catalog from GitHub for every LLM span (slow, and air-gapped
    # machines cannot): we price spans ourselves.
    os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")
    # MLflow retries a failing server for minutes; the spool retries for days. Fail fast here.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_DATABRICKS_ENDPOINT_HTTP_RETRY_TIMEOUT", "60")
    # MLflow's warehouse probe builds a WorkspaceClient without our profile (FACTS.md); the
    # workspace starts a serverless warehouse for the query anyway.
    os.environ.setdefault("MLFLOW_SQL_WAREHOUSE_AUTO_START", "false")
    import mlflow  # noqa: F401 - configures its loggers on import; quiet them after that

    for name in ("mlflow", "alembic", "databricks"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _sign_in(tracking_uri: str) -> None:
    """Sign in once for a `databricks://PROFILE` destination and have MLflow use that sign-in
    for every call of this process (ADR 15). Any other destination: nothing to do."""
    profile = databricks_profile(tracking_uri)
    if profile is None:
        return
    databricks_signin.sign_in(profile)
    _hand_mlflow_the_sign_in()


def _hand_mlflow_the_sign_in() -> None:
    """MLflow asks `get_databricks_host_creds` before every REST call, and its Unity Catalog
    span writer `get_databricks_workspace_client_config` before every POST; each builds a new
    SDK client, which for a CLI profile runs `databricks auth token --force-refresh` and a
    discovery request (FACTS.md, "Sign-in cost"). Both are replaced, in every MLflow module
    that imported them, by ones that answer from the sign-in this process holds: the host and
    a bearer token that the SDK refreshes before it expires, in memory only (never in the
    environment, so no child process sees it). A URI whose profile this process has not
    signed in to gets MLflow's own answer. Installed once per process."""
    from mlflow.utils import databricks_utils

    if getattr(databricks_utils.get_databricks_host_creds, "_claudetracing", False):
        return
    from mlflow.utils.rest_utils import MlflowHostCreds

    original_creds = databricks_utils.get_databricks_host_creds
    original_config = databricks_utils.get_databricks_workspace_client_config

    def held(server_uri: Any) -> databricks_signin.SignIn | None:
        profile = databricks_profile(server_uri) if isinstance(server_uri, str) else None
        return databricks_signin.held(profile) if profile else None

    def host_creds(server_uri: Any = None) -> Any:
        signin = held(server_uri)
        if signin is None:
            return original_creds(server_uri)  # type: ignore[no-untyped-call]
        _, _, token = signin.headers().get("Authorization", "").partition(" ")
        return MlflowHostCreds(  # type: ignore[no-untyped-call]
            signin.host,
            token=token,
            ignore_tls_verification=signin.insecure,
            workspace_id=signin.workspace_id,
        )

    def workspace_config(server_uri: str, scopes: list[str] | None = None) -> Any:
        signin = held(server_uri)
        if signin is None or scopes is not None:
            return original_config(server_uri, scopes)
        return signin.config  # its authenticate() is the held, refreshed token

    replacements = {
        "get_databricks_host_creds": (original_creds, host_creds),
        "get_databricks_workspace_client_config": (original_config, workspace_config),
    }
    for _, ours in replacements.values():
        setattr(ours, "_claudetracing", True)  # noqa: B010 - marks a plain function
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("mlflow"):
            continue
        for name, (original, ours) in replacements.items():
            if getattr(module, name, None) is original:
                setattr(module, name, ours)


_failed: list[BaseException] | None = None  # set while `write` hands one trace to MLflow


def _record_export_failures() -> None:
    """Keep what MLflow's span exporter only logs: a trace it could not create or upload.

    Toward a server or a workspace the exporter catches the failure of `start_trace` (or of
    the span upload) and logs a warning; `write` would then learn only that the trace cannot
    be read back. While `_failed` is set, such a failure is also kept there, so the spool and
    `traces status` say what the workspace answered (a full experiment, a lost login)."""
    from mlflow.tracing.client import TracingClient

    for name in ("start_trace", "_upload_trace_data"):
        original = getattr(TracingClient, name, None)
        if original is None or getattr(original, "_claudetracing", False):
            continue

        def recorded(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            try:
                return __original(self, *args, **kwargs)
            except Exception as exc:
                if _failed is not None:
                    _failed.append(exc)
                raise

        recorded._claudetracing = True  # type: ignore[attr-defined]
        setattr(TracingClient, name, recorded)


_batch: list[Any] | None = None  # spans of the trace being written, held until its root ends


def _batch_span_writes() -> None:
    """Store a trace's spans with one call when its root ends, not one transaction per span.

    MLflow's exporter logs every span as it ends; on SQLite that is a transaction each, over
    90% of our export time (bench/RESULTS.md, export.split). We write whole, finished trees,
    so holding the spans until the root ends changes nothing but the number of writes. If a
    future MLflow renames this method, spans are simply written one by one again."""
    try:
        from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
    except ImportError:
        return
    original = getattr(MlflowV3SpanExporter, "_export_spans_incrementally", None)
    if original is None or getattr(original, "_claudetracing", False):
        return

    def batched(self: Any, spans: Any) -> None:
        global _batch
        if _batch is not None:
            _batch.extend(spans)
            if all(getattr(s, "_parent", None) is not None for s in spans):
                return
            spans, _batch = list(_batch), []
        original(self, spans)

    batched._claudetracing = True  # type: ignore[attr-defined]
    MlflowV3SpanExporter._export_spans_incrementally = batched  # type: ignore[method-assign]


@dataclass
class _HeldWrites:
    """The two store calls MLflow's span exporter makes per trace, held back for one batch."""

    exporter: Any = None
    spans: dict[tuple[str, str | None], list[Any]] = field(default_factory=dict)
    traces: list[tuple[Any, Any, str | None]] = field(default_factory=list)  # trace, prompts, ws


_held: _HeldWrites | None = None  # set while `write_many` builds its traces


def _hold_store_calls() -> bool:
    """Let `_held` take MLflow's `_log_spans`/`_log_trace` calls while it is set.

    Everything else MLflow's exporter does when a span ends (finding the spans, building the
    trace info, sizes, token and cost aggregates) runs as always; only the store calls wait, to be
    made together by `_store_together`. False when this MLflow's exporter looks different from
    the one this was written against (3.17): then every trace is written one by one."""
    try:
        from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
    except ImportError:
        return False
    log_spans = getattr(MlflowV3SpanExporter, "_log_spans", None)
    log_trace = getattr(MlflowV3SpanExporter, "_log_trace", None)
    if log_spans is None or log_trace is None:
        return False
    if getattr(log_spans, "_claudetracing", False):
        return True
    expected = (
        ["self", "experiment_id", "spans", "workspace"],
        ["self", "trace", "prompts", "workspace"],
    )
    if (
        list(inspect.signature(log_spans).parameters),
        list(inspect.signature(log_trace).parameters),
    ) != expected:
        return False

    def held_spans(
        self: Any, experiment_id: str, spans: list[Any], workspace: str | None = None
    ) -> None:
        if _held is None:
            log_spans(self, experiment_id, spans, workspace=workspace)
            return
        _held.exporter = self
        _held.spans.setdefault((experiment_id, workspace), []).extend(spans)

    def held_trace(self: Any, trace: Any, prompts: Any, workspace: str | None = None) -> None:
        if _held is None:
            log_trace(self, trace, prompts=prompts, workspace=workspace)
            return
        _held.exporter = self
        _held.traces.append((trace, prompts, workspace))

    for wrapper, original in ((held_spans, log_spans), (held_trace, log_trace)):
        setattr(wrapper, "_claudetracing", True)  # noqa: B010 - marks, on plain functions
        setattr(wrapper, "_original", original)  # noqa: B010
    MlflowV3SpanExporter._log_spans = held_spans  # type: ignore[method-assign]
    MlflowV3SpanExporter._log_trace = held_trace  # type: ignore[method-assign]
    return True


class _Abandoned(Exception):
    """A store call inside the batch's transaction failed: the whole batch is rolled back."""


def _store_together(held: _HeldWrites) -> None:
    """Make the held store calls in ONE SQLite transaction, with MLflow's own code.

    MLflow writes a trace as `log_spans` (creates the trace row from its spans) then
    `start_trace` (merges the trace info into that row): two transactions, the second a
    rollback-and-merge. Here each trace is started first, already marked as keeping its spans in
    the tracking store (the tag `log_spans` would set), then every span of the batch goes in one
    `log_spans` call, which the store groups by trace. The stored result is the same: start_trace
    writes the same info, tags and metadata it would have merged, and log_spans leaves a finalized
    trace's fields alone. All of it shares one session, so a batch lands whole or not at all
    (a kill rolls it back; no half-written trace is left behind)."""
    from mlflow.tracing.constant import SpansLocation, TraceTagKey
    from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
    from sqlalchemy import event

    exporter = held.exporter
    if exporter is None:
        return  # MLflow made no store call (tracing disabled?): the read-back will say so
    log_spans = MlflowV3SpanExporter._log_spans._original  # type: ignore[attr-defined]
    log_trace = MlflowV3SpanExporter._log_trace._original  # type: ignore[attr-defined]
    client = exporter._client
    store = client.store
    maker = store.ManagedSessionMaker
    failures: list[BaseException] = []
    start_trace, log_spans_call = client.start_trace, client.log_spans

    def checked(call: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except BaseException as exc:  # MLflow's exporter would only log it
                failures.append(exc)
                raise

        return run

    def started_in_store(trace_info: Any) -> Any:
        trace_info.tags[TraceTagKey.SPANS_LOCATION] = SpansLocation.TRACKING_STORE.value
        return start_trace(trace_info)

    with maker(read_only=False) as session:

        def rolled_back(_: Any) -> None:
            failures.append(_Abandoned("MLflow rolled back part of the batch"))

        event.listen(session, "after_rollback", rolled_back)

        @contextmanager
        def joined(read_only: bool = True) -> Iterator[Any]:
            yield session

        read_experiment = store.get_experiment
        experiments: dict[str, Any] = {}

        def experiment_once(experiment_id: str) -> Any:
            # start_trace reads the experiment for every trace; inside one transaction it is
            # the same row each time (a writer elsewhere waits for our commit).
            if experiment_id not in experiments:
                experiments[experiment_id] = read_experiment(experiment_id)
            return experiments[experiment_id]

        store.ManagedSessionMaker = joined
        store.get_experiment = experiment_once
        client.start_trace = checked(started_in_store)
        client.log_spans = checked(log_spans_call)
        try:
            for trace, prompts, workspace in held.traces:
                log_trace(exporter, trace, prompts=prompts, workspace=workspace)
            for (experiment_id, workspace), spans in held.spans.items():
                log_spans(exporter, experiment_id, spans, workspace=workspace)
        finally:
            store.ManagedSessionMaker = maker
            del store.get_experiment, client.start_trace, client.log_spans
            event.remove(session, "after_rollback", rolled_back)
        if failures:
            raise _Abandoned(_short(failures[0])) from failures[0]


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class MlflowBackend:
    """An MLflow tracking destination: one tracking URI, one experiment."""

    def __init__(self, tracking_uri: str, experiment_name: str) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._uc: UcWriter | None = None  # set by `connect` when the experiment is UC-linked
        self._uc_confirmed: set[str] = set()  # UC traces read back whole by this process

    @property
    def is_local_sqlite(self) -> bool:
        return self.tracking_uri.startswith("sqlite:")

    @property
    def batches(self) -> bool:
        """Whether several turns are written in one transaction (`write_many`).

        Only into a local SQLite store, whose session we can share across MLflow's calls; a
        tracking server or Databricks gets MLflow's own exporter, one trace at a time."""
        if not self.is_local_sqlite:
            return False
        # Async logging hands the store calls to a thread after `write_many` has returned. Read
        # here without importing MLflow (seconds), which `_quiet_mlflow` will switch off.
        asynchronous = os.environ.get("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
        return asynchronous.strip().lower() in ("false", "0")

    def connect(self, *, create: bool = True) -> str:
        """Point MLflow at the destination and return the experiment id (created if asked)."""
        if self._experiment_id is not None:
            return self._experiment_id
        # Before MLflow is even imported: no credential in the URI, no token sign-in.
        check_signin(self.tracking_uri)
        _quiet_mlflow()
        import mlflow

        if self.is_local_sqlite:
            paths.ensure_private_dir(paths.local_store_dir())
        try:
            _sign_in(self.tracking_uri)
            mlflow.set_tracking_uri(self.tracking_uri)
            client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
            experiment = client.get_experiment_by_name(self.experiment_name)
            if experiment is None:
                if not create:
                    raise BackendError(
                        f"experiment {self.experiment_name!r} does not exist "
                        f"at {self.tracking_uri}",
                        "run `traces init` to create it",
                    )
                artifact = paths.local_artifact_uri() if self.is_local_sqlite else None
                experiment_id = client.create_experiment(
                    self.experiment_name, artifact_location=artifact
                )
            else:
                experiment_id = experiment.experiment_id
                self._uc = self._uc_writer(dict(experiment.tags))
        except TracesError:
            raise
        except Exception as exc:  # every MLflow/HTTP failure becomes one message
            raise self._explain(exc) from exc
        self._client = client
        self._experiment_id = experiment_id
        return experiment_id

    def _uc_writer(self, tags: dict[str, str]) -> UcWriter | None:
        """The experiment's Unity Catalog location, learnt once from its tags (Databricks
        records the link there), or None for experiment storage."""
        if not self.tracking_uri.startswith("databricks"):
            return None
        from claudetracing.export.uc_writer import UcWriter, location_from_tags

        linked = location_from_tags(tags)
        if linked is None:
            return None
        profile = self.tracking_uri.partition("://")[2] or os.environ.get(
            "DATABRICKS_CONFIG_PROFILE", "DEFAULT"
        )
        return UcWriter(profile, *linked)

    @property
    def uc_location(self) -> str | None:
        """`catalog.schema.prefix` when the experiment stores its traces in Unity Catalog."""
        self.connect(create=False)
        return self._uc.location if self._uc is not None else None

    @property
    def uc_writer(self) -> UcWriter | None:
        self.connect()
        return self._uc

    def _explain(self, exc: BaseException) -> TracesError:
        from claudetracing.core import failures, naming

        profile = self.tracking_uri.partition("://")[2] or "DEFAULT"
        return failures.explain(
            exc,
            "tracking",
            profile=profile,
            uri=self.tracking_uri,
            experiment=self.experiment_name,
            rollover=naming.rollover(self.experiment_name),
        )

    @property
    def client(self) -> MlflowClient:
        self.connect()
        assert self._client is not None
        return self._client

    def find_turn(self, turn_key: str) -> str | None:
        """The trace already exported for this turn, if any (the exactly-once check)."""
        experiment_id = self.connect()
        if self._uc is not None:
            # Its id follows from the turn key: read it back by id, never a (slow) UC search.
            trace_id = self._uc.trace_id(turn_key)
            stored = self._uc.read([trace_id]).get(trace_id)
            return trace_id if stored is not None and stored.turn_key == turn_key else None
        try:
            found = self.client.search_traces(
                locations=[experiment_id],
                filter_string=f"tags.`{TURN_KEY_TAG}` = {_quote(turn_key)}",
                max_results=1,
                include_spans=False,
            )
        except Exception as exc:
            raise BackendError(f"cannot search traces: {_short(exc)}") from exc
        return found[0].info.trace_id if found else None

    def session_turns(self, session_id: str) -> dict[str, str]:
        """Every turn of the session already exported here: turn key -> trace id.

        One search for a whole session instead of one `find_turn` per turn. A turn key starts
        with its session id, so the session's traces are those whose key starts with it."""
        experiment_id = self.connect()
        prefix = f"{session_id}:"
        found: dict[str, str] = {}
        token = None
        try:
            while True:
                page = self.client.search_traces(
                    locations=[experiment_id],
                    filter_string=f"tags.`{TURN_KEY_TAG}` LIKE {_quote(prefix + '%')}",
                    max_results=500,
                    include_spans=False,
                    page_token=token,
                )
                for trace in page:
                    key = trace.info.tags.get(TURN_KEY_TAG, "")
                    if key.startswith(prefix):  # LIKE reads `_` in an id as any character
                        found.setdefault(key, trace.info.trace_id)
                token = page.token
                if not token:
                    return found
        except Exception as exc:
            raise BackendError(f"cannot search traces: {_short(exc)}") from exc

    def write(self, trace: TurnTrace) -> str:
        """Store the span tree as one trace through MLflow's exporter and return its id."""
        experiment_id = self.connect()
        import mlflow

        if self._uc is not None:
            return self._write_uc(mlflow, trace, experiment_id, self._uc)

        # Spans go to the global tracking URI: set it per write, one exporter may serve many.
        mlflow.set_tracking_uri(self.tracking_uri)
        global _batch, _failed
        _batch_span_writes()
        _record_export_failures()
        _batch, _failed = [], []
        try:
            trace_id = self._emit(mlflow, trace, experiment_id)
            failed = list(_failed)
        except Exception as exc:
            raise BackendError(
                f"cannot write the trace of turn {trace.key}: {_short(exc)}"
            ) from exc
        finally:
            _batch = _failed = None
        if failed:
            explained = self._explain(failed[0])
            if isinstance(explained, TraceCapReached):
                raise explained from failed[0]
            raise BackendError(
                f"cannot write the trace of turn {trace.key}: {_short(failed[0])}"
            ) from failed[0]
        return trace_id

    def _write_uc(self, mlflow: Any, trace: TurnTrace, experiment_id: str, uc: UcWriter) -> str:
        """MLflow builds the trace as for an experiment; `uc_writer` stores it (ADR 16)."""
        global _held, _batch
        mlflow.set_tracking_uri(self.tracking_uri)
        if not _hold_store_calls():
            raise BackendError(
                "this MLflow version builds traces differently from the one traces knows "
                "(3.17): cannot write to Unity Catalog",
                "install the MLflow version from constraints.txt",
            )
        _batch_span_writes()
        held = _held = _HeldWrites()
        try:
            _batch = []
            self._emit(mlflow, trace, experiment_id)
        except Exception as exc:
            raise BackendError(
                f"cannot build the trace of turn {trace.key}: {_short(exc)}"
            ) from exc
        finally:
            _held = _batch = None
        built = held.traces[0][0] if held.traces else None
        if built is None or not str(built.info.trace_id).startswith("tr-"):
            # MLflow routed the spans to UC on its own (an active UC-linked experiment).
            raise BackendError(
                f"MLflow did not hand over the trace of turn {trace.key}",
                "unset MLFLOW_EXPERIMENT_ID in the exporter's environment, then `traces flush`",
            )
        trace_id = uc.store(built, trace.key)
        self._uc_confirmed.add(trace_id)
        return trace_id

    def write_many(self, traces: list[TurnTrace]) -> list[str]:
        """Store several span trees, one trace each, in one transaction; their ids in order.

        Where the destination does not batch (`batches`), each is written by `write`."""
        experiment_id = self.connect()
        if not (self.batches and _hold_store_calls()):
            return [self.write(trace) for trace in traces]
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        global _held, _batch
        _batch_span_writes()
        held = _held = _HeldWrites()
        try:
            ids = []
            for trace in traces:
                _batch = []  # a trace's spans reach the exporter's store call together
                ids.append(self._emit(mlflow, trace, experiment_id))
        except Exception as exc:
            raise BackendError(f"cannot build the traces to write: {_short(exc)}") from exc
        finally:
            _held = _batch = None
        try:
            _store_together(held)
        except Exception as exc:
            keys = (
                f"{traces[0].key} and {len(traces) - 1} more" if len(traces) > 1 else traces[0].key
            )
            raise BackendError(f"cannot write the traces of turns {keys}: {_short(exc)}") from exc
        return ids

    def _emit(self, mlflow: Any, trace: TurnTrace, experiment_id: str) -> str:
        """Hand the tree to MLflow span by span, with the transcript's times; the trace id."""
        root = self._start(mlflow, trace.root, None, experiment_id, trace, trace.key)
        self._set_previews(str(root.trace_id), trace)
        self._finish_children(mlflow, trace.root, root, trace.key)
        self._end(root, trace.root)
        return str(root.trace_id)

    def _set_previews(self, trace_id: str, trace: TurnTrace) -> None:
        """The Traces list's Request/Response: our plain text, cut as MLflow cuts its own (it
        would show the root span's inputs and outputs as JSON). As MLflow's Claude Code tracer
        does, on the trace it holds until the root ends; without it, MLflow's JSON stays."""
        from mlflow.tracing.constant import (
            TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH_DBX,
            TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH_OSS,
        )
        from mlflow.tracing.trace_manager import InMemoryTraceManager

        databricks = self.tracking_uri.startswith("databricks")
        limit = (
            TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH_DBX
            if databricks
            else TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH_OSS
        )

        def cut(text: str) -> str:
            return text if len(text) <= limit else text[: limit - 1] + "…"

        manager = InMemoryTraceManager.get_instance()  # type: ignore[no-untyped-call]
        with manager.get_trace(trace_id) as held:
            if held is not None:
                held.info.request_preview = cut(trace.request_preview)
                held.info.response_preview = cut(trace.response_preview)

    def get(self, trace_id: str) -> Trace | None:
        from claudetracing.export.uc_writer import is_uc_trace_id

        if is_uc_trace_id(trace_id):
            self.connect(create=False)
            if self._uc is not None and trace_id.startswith(f"trace:/{self._uc.location}/"):
                return self._uc.get(trace_id)  # one batchGet, no retry loop
        try:
            trace: Trace = self.client.get_trace(trace_id)
        except TracesError:  # no sign-in (refused, unreachable): not "no such trace"
            raise
        except Exception:
            return None
        return trace

    def find_orphans(self, turn_key: str, start_ns: int, end_ns: int) -> list[str]:
        """Traces holding spans of this turn but not its tags: what a kill during upload leaves
        on servers that store spans before the trace itself (and its tags) is created."""
        experiment_id = self.connect()
        if self._uc is not None:
            return []  # a turn's spans always carry its own trace id there: nothing is orphaned
        window = (
            f"trace.timestamp_ms >= {start_ns // 1_000_000 - 1}"
            f" AND trace.timestamp_ms <= {end_ns // 1_000_000 + 1}"
        )
        try:
            found = self.client.search_traces(
                locations=[experiment_id], filter_string=window, max_results=100
            )
        except Exception as exc:
            raise BackendError(f"cannot search traces: {_short(exc)}") from exc
        return [
            t.info.trace_id
            for t in found
            if t.info.tags.get(TURN_KEY_TAG) != turn_key
            and any(s.attributes.get(TURN_KEY_TAG) == turn_key for s in t.data.spans)
        ]

    def recent_tag_values(self, tag: str, limit: int = 20) -> list[str]:
        """The tag's values on the experiment's newest traces (those that have it)."""
        experiment_id = self.connect(create=False)
        found = self.client.search_traces(
            locations=[experiment_id],
            max_results=limit,
            order_by=["timestamp_ms DESC"],
            include_spans=False,
        )
        return [t.info.tags[tag] for t in found if tag in t.info.tags]

    def convention_experiments(self) -> list[Any]:
        """Experiments named by the convention: a `claude-code` folder (workspace or local)."""
        check_signin(self.tracking_uri)
        _quiet_mlflow()
        import mlflow

        try:
            _sign_in(self.tracking_uri)
        except TracesError:
            raise
        except Exception as exc:
            raise self._explain(exc) from exc
        mlflow.set_tracking_uri(self.tracking_uri)
        client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
        try:
            found = client.search_experiments(
                filter_string="name LIKE '%claude-code/%'", max_results=1000
            )
        except Exception as exc:
            raise BackendError(
                f"cannot list experiments at {self.tracking_uri}: {_short(exc)}",
                "check the login or server with `traces status`",
            ) from exc
        return sorted(found, key=lambda e: e.name)

    def span_count(self, trace_id: str) -> int:
        trace = self.get(trace_id)
        return len(trace.data.spans) if trace is not None else 0

    def confirm(self, trace_id: str, expected_spans: int) -> None:
        """Read the trace back; raise unless every span arrived."""
        if trace_id in self._uc_confirmed:
            return  # `uc_writer` read it back by id with every span and its turn key
        trace = self.get(trace_id)
        if trace is None:
            raise BackendError(f"trace {trace_id} was written but cannot be read back")
        got = len(trace.data.spans)
        if got != expected_spans:
            raise BackendError(f"trace {trace_id} has {got} spans, expected {expected_spans}")

    def confirm_many(self, expected: dict[str, tuple[str, int]]) -> None:
        """Read traces back in one go; raise unless each holds its turn and every span.

        `expected`: trace id -> (turn key, span count)."""
        if not self.batches:
            for trace_id, (_, spans) in expected.items():
                self.confirm(trace_id, expected_spans=spans)
            return
        from mlflow.tracing.client import TracingClient

        try:
            # MLflow returns only complete traces: one short of its spans is left out. The
            # store's own call: one query, where the client's adds a thread pool per location.
            found = TracingClient(self.tracking_uri).store.batch_get_traces(list(expected))
        except Exception as exc:
            raise BackendError(f"cannot read back traces: {_short(exc)}") from exc
        by_id = {t.info.trace_id: t for t in found}
        for trace_id, (key, spans) in expected.items():
            trace = by_id.get(trace_id)
            if trace is None:
                raise BackendError(f"trace {trace_id} was written but cannot be read back")
            if trace.info.tags.get(TURN_KEY_TAG) != key:
                raise BackendError(f"trace {trace_id} was written without its turn key {key}")
            if len(trace.data.spans) != spans:
                raise BackendError(
                    f"trace {trace_id} has {len(trace.data.spans)} spans, expected {spans}"
                )

    def set_tags(self, trace_id: str, tags: dict[str, str]) -> None:
        """Add tags to a stored trace (Claude Code's figures arrive after their turns)."""
        try:
            for key, value in tags.items():
                self.client.set_trace_tag(trace_id, key, value)
        except Exception as exc:
            raise BackendError(f"cannot tag trace {trace_id}: {_short(exc)}") from exc

    def delete(self, trace_ids: list[str]) -> None:
        from claudetracing.export.uc_writer import is_uc_trace_id

        experiment_id = self.connect()
        # UC traces cannot be deleted (FACTS.md); an incomplete one is completed in place by the
        # next write of its turn, which has the same id.
        trace_ids = [t for t in trace_ids if not is_uc_trace_id(t)]
        if trace_ids:
            self.client.delete_traces(experiment_id=experiment_id, trace_ids=trace_ids)

    def _start(
        self,
        mlflow: Any,
        node: SpanNode,
        parent: LiveSpan | None,
        experiment_id: str,
        trace: TurnTrace | None,
        turn_key: str,
    ) -> LiveSpan:
        attributes = {
            k: v for k, v in node.attributes.items() if v is not None or k == COST_ATTRIBUTE
        }
        if turn_key:
            attributes[TURN_KEY_TAG] = turn_key
        kwargs: dict[str, Any] = {}
        if trace is not None:
            kwargs = {
                "tags": trace.tags,
                "metadata": trace.metadata,
                "experiment_id": experiment_id,
            }
        span: LiveSpan = mlflow.start_span_no_context(
            node.name,
            span_type=node.span_type,
            parent_span=parent,
            inputs=node.inputs,
            attributes=attributes,
            start_time_ns=node.start_ns,
            **kwargs,
        )
        return span

    def _finish_children(self, mlflow: Any, node: SpanNode, live: LiveSpan, key: str) -> None:
        for child in node.children:
            span = self._start(mlflow, child, live, "", None, key)
            self._finish_children(mlflow, child, span, key)
            self._end(span, child)

    @staticmethod
    def _end(span: LiveSpan, node: SpanNode) -> None:
        from mlflow.entities import SpanEvent, SpanStatus, SpanStatusCode

        for event in node.events:
            span.add_event(SpanEvent(event.name, event.at_ns, dict(event.attributes)))  # type: ignore[abstract]
        span.end(
            outputs=node.outputs,
            status=SpanStatus(SpanStatusCode(node.status), node.status_message),
            end_time_ns=node.end_ns,
        )


def check_store(tracking_uri: str) -> None:
    """The store answers: signed in, readable. Creates nothing (no experiment, no trace)."""
    check_signin(tracking_uri)
    _quiet_mlflow()
    import mlflow

    local = tracking_uri.startswith("sqlite:///") and tracking_uri.endswith(
        str(paths.local_store_dir() / "mlflow.db")
    )
    if local:
        paths.ensure_private_dir(paths.local_store_dir())
    try:
        mlflow.MlflowClient(tracking_uri=tracking_uri).search_experiments(max_results=1)
    except Exception as exc:  # every MLflow/HTTP failure becomes one message
        from claudetracing.core import failures

        profile = tracking_uri.partition("://")[2] or "DEFAULT"
        raise failures.explain(exc, "tracking", profile=profile, uri=tracking_uri) from exc
