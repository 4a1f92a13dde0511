"""Reading traces back from MLflow as the query model: searches, one trace, experiments."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from claudetracing.trace.builder import ANTHROPIC_USAGE_ATTRIBUTE
from claudetracing.trace.stored import Experiment, Filters, Span, Tokens, Trace, TraceRow

if TYPE_CHECKING:
    from mlflow.entities import Span as MlflowSpan
    from mlflow.entities import Trace as MlflowTrace
    from mlflow.entities import TraceInfo

    from claudetracing.export.backend import MlflowBackend

PAGE = 200


def traces(
    backend: MlflowBackend, filters: Filters, *, limit: int | None, include_spans: bool
) -> Iterator[Trace]:
    """Newest first, paging through the server's results until `limit` (None: all of them).

    On a Unity Catalog location a search without a start time covers the default window."""
    experiment_id = backend.connect(create=False)
    if filters.since_ms is None and backend.uc_location is not None:
        filters = replace(filters, since_ms=uc_window_start_ms())
    filter_string = _filter_string(filters)
    token = None
    seen = 0
    while True:
        size = PAGE if limit is None else min(PAGE, limit - seen)
        if size <= 0:
            return
        page = backend.client.search_traces(
            locations=[experiment_id],
            filter_string=filter_string or None,
            max_results=size,
            order_by=["timestamp_ms DESC"],
            page_token=token,
            include_spans=include_spans,
        )
        for found in page:
            yield _trace(found)
            seen += 1
        token = page.token
        if not token or not page:
            return


def trace(backend: MlflowBackend, trace_id: str) -> Trace | None:
    """One trace with all its spans, or None when the destination has no such trace."""
    found = backend.get(trace_id)
    return None if found is None else _trace(found)


def experiments(backend: MlflowBackend) -> list[Experiment]:
    """The experiments named by the convention, by name."""
    return [Experiment(str(e.name), str(e.experiment_id)) for e in backend.convention_experiments()]


def newest_ms(backend: MlflowBackend, experiment_id: str) -> int | None:
    """When the experiment's newest trace started, if it has any (on Unity Catalog: within the
    default window)."""
    newest = backend.client.search_traces(
        locations=[experiment_id],
        filter_string=_uc_bound(backend),
        max_results=1,
        order_by=["timestamp_ms DESC"],
        include_spans=False,
    )
    return int(newest[0].info.request_time) if newest else None


@dataclass(frozen=True)
class Tally:
    """What one pass over an experiment's trace ids found."""

    traces: int  # counted no further than about the cap
    capped: bool  # there are more
    tag_sum: int  # the summed integer values of the tag asked for
    untagged: int  # traces without that tag


def count(
    backend: MlflowBackend,
    experiment_id: str,
    *,
    cap: int,
    sum_tag: str | None = None,
    page_size: int = PAGE,
) -> Tally:
    """How many traces the experiment holds, counting no further than about `cap`; whether
    there are more (MLflow has no count, so this pages through ids); and, in the same pass,
    the sum of an integer tag (`sum_tag`) over them."""
    counted = tagged_sum = untagged = 0
    token = None
    while counted < cap:
        page = backend.client.search_traces(
            locations=[experiment_id],
            filter_string=_uc_bound(backend),
            max_results=page_size,
            page_token=token,
            include_spans=False,
        )
        counted += len(page)
        if sum_tag is not None:
            for found in page:
                value = found.info.tags.get(sum_tag)
                if value is None:
                    untagged += 1
                else:
                    tagged_sum += _int(value)
        token = page.token
        if not token:
            break
    capped = counted >= cap and token is not None
    return Tally(min(counted, cap), capped, tagged_sum, untagged)


def experiment_tags(backend: MlflowBackend, experiment_id: str) -> dict[str, str]:
    """The experiment's tags (where its traces are stored, among others)."""
    return dict(backend.client.get_experiment(experiment_id).tags)


def uc_window_start_ms() -> int:
    """Where an unbounded read of a Unity Catalog location starts: UC_DEFAULT_WINDOW_DAYS ago."""
    from claudetracing.export.backend import UC_DEFAULT_WINDOW_DAYS

    return int((time.time() - UC_DEFAULT_WINDOW_DAYS * 86400) * 1000)


def _uc_bound(backend: MlflowBackend) -> str | None:
    if backend.uc_location is None:
        return None
    return f"trace.timestamp_ms >= {uc_window_start_ms()}"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _filter_string(filters: Filters) -> str:
    """One MLflow filter string: all filtering happens on the server."""
    parts = []
    if filters.since_ms is not None:
        parts.append(f"trace.timestamp_ms >= {filters.since_ms}")
    if filters.until_ms is not None:
        parts.append(f"trace.timestamp_ms <= {filters.until_ms}")
    if filters.status:
        parts.append(f"trace.status = '{filters.status.upper()}'")
    for key, value in (
        ("metadata.`mlflow.trace.session`", filters.session),
        ("metadata.`mlflow.trace.user`", filters.user),
        ("tags.`git.repo_name`", filters.repo),
        ("tags.`git.branch`", filters.branch),
    ):
        if value:
            parts.append(f"{key} = {_quote(value)}")
    return " AND ".join(parts)


def _int(value: object) -> int:
    if isinstance(value, (int, float, str)):
        try:
            return int(value)
        except ValueError:
            pass
    return 0


def _float(value: object) -> float | None:
    if isinstance(value, (int, float, str)):
        try:
            return float(value)
        except ValueError:
            pass
    return None


def _trace(found: MlflowTrace) -> Trace:
    return Trace(_row(found.info), tuple(_span(s) for s in found.data.spans))


def _row(info: TraceInfo) -> TraceRow:
    tags = dict(info.tags)
    meta = info.trace_metadata or {}
    # Our tags first; MLflow's own aggregate for traces written by something else.
    usage = info.token_usage or {}
    tokens = Tokens(
        input=_int(tags.get("tokens.input", usage.get("input_tokens"))),
        output=_int(tags.get("tokens.output", usage.get("output_tokens"))),
        cache_read=_int(tags.get("tokens.cache_read", usage.get("cache_read_input_tokens"))),
        cache_creation=_int(
            tags.get("tokens.cache_creation", usage.get("cache_creation_input_tokens"))
        ),
    )
    cost = tags.get("cost.usd")
    return TraceRow(
        trace_id=str(info.trace_id),
        start_ms=int(info.request_time),
        duration_ms=info.execution_duration,
        status=str(getattr(info.state, "value", info.state)),
        session=meta.get("mlflow.trace.session"),
        user=meta.get("mlflow.trace.user"),
        prompt=_prompt_of(info),
        tokens=tokens,
        cost_usd=_float(cost) if cost else None,
        tags={k: v for k, v in sorted(tags.items()) if not k.startswith(("mlflow.", "tokens."))},
    )


def _prompt_of(info: TraceInfo) -> str:
    preview = getattr(info, "request_preview", None) or ""
    try:
        body = json.loads(preview)
    except ValueError:
        return str(preview)
    if isinstance(body, dict) and isinstance(body.get("prompt"), str):
        return str(body["prompt"])
    return str(preview)


def _tokens(usage: dict[str, object]) -> Tokens:
    """Tokens from Anthropic's counts (input excludes the cache): `anthropic.usage`, or on spans
    written before it the `mlflow.chat.tokenUsage` we then wrote in that convention."""
    return Tokens(
        input=_int(usage.get("input_tokens")),
        output=_int(usage.get("output_tokens")),
        cache_read=_int(usage.get("cache_read_input_tokens")),
        cache_creation=_int(usage.get("cache_creation_input_tokens")),
    )


def _span(span: MlflowSpan) -> Span:
    attributes = span.attributes
    usage = attributes.get(ANTHROPIC_USAGE_ATTRIBUTE, attributes.get("mlflow.chat.tokenUsage"))
    cost = attributes.get("mlflow.llm.cost")
    model = attributes.get("mlflow.llm.model")
    return Span(
        span_id=str(span.span_id),
        parent_id=span.parent_id,
        name=str(span.name),
        span_type=span.span_type,
        start_ns=int(span.start_time_ns),
        end_ns=span.end_time_ns,
        status=str(span.status.status_code.value),
        status_message=span.status.description or "",
        inputs=span.inputs,
        outputs=span.outputs,
        attributes=attributes,
        model=str(model) if model else None,
        tokens=_tokens(usage) if isinstance(usage, dict) else None,
        cost_usd=_float(cost.get("total_cost")) if isinstance(cost, dict) else None,
        copied=bool(attributes.get("claude_code.copied_response")),
    )
