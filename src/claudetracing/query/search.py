"""Find traces again: filters run on the server, rows with stable fields, usage aggregation."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from claudetracing.core.errors import TracesError
from claudetracing.export.backend import MlflowBackend

PAGE = 200
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
STATUSES = ("OK", "ERROR", "IN_PROGRESS")


def parse_time(text: str, *, option: str, now: float | None = None) -> int:
    """Milliseconds since the epoch from `7d`/`24h` (ago), an ISO date or datetime, or `now`."""
    now = time.time() if now is None else now
    value = text.strip()
    if value.lower() == "now":
        return int(now * 1000)
    match = _RELATIVE.match(value.lower())
    if match:
        return int((now - float(match.group(1)) * _UNITS[match.group(2)]) * 1000)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TracesError(
            f"cannot read {option} {text!r}",
            f"use a duration ago such as 24h or 7d, or a date such as 2026-11-20 or "
            f"2026-11-20T09:30:00Z (for example `{option} 24h`)",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Filters:
    since_ms: int | None = None
    until_ms: int | None = None
    session: str | None = None
    user: str | None = None
    repo: str | None = None
    branch: str | None = None
    status: str | None = None

    def to_mlflow(self) -> str:
        """One MLflow filter string: all filtering happens on the server."""
        parts = []
        if self.since_ms is not None:
            parts.append(f"trace.timestamp_ms >= {self.since_ms}")
        if self.until_ms is not None:
            parts.append(f"trace.timestamp_ms <= {self.until_ms}")
        if self.status:
            status = self.status.upper()
            if status not in STATUSES:
                raise TracesError(
                    f"unknown status {self.status!r}", f"use one of {', '.join(STATUSES)}"
                )
            parts.append(f"trace.status = '{status}'")
        for key, value in (
            ("metadata.`mlflow.trace.session`", self.session),
            ("metadata.`mlflow.trace.user`", self.user),
            ("tags.`git.repo_name`", self.repo),
            ("tags.`git.branch`", self.branch),
        ):
            if value:
                parts.append(f"{key} = {_quote(value)}")
        return " AND ".join(parts)


@dataclass
class TraceRow:
    """The stable JSON shape of one trace in `traces search -f json`."""

    trace_id: str
    session: str | None
    user: str | None
    time: str
    duration_ms: int | None
    status: str
    prompt: str
    tokens: dict[str, int]
    cost_usd: float | None
    tags: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def row_of(trace: Any) -> TraceRow:
    info = trace.info
    tags = dict(info.tags)
    meta = info.trace_metadata or {}
    usage = info.token_usage or {}
    tokens = {
        "input": _int(tags.get("tokens.input", usage.get("input_tokens"))),
        "output": _int(tags.get("tokens.output", usage.get("output_tokens"))),
        "cache_read": _int(tags.get("tokens.cache_read", usage.get("cache_read_input_tokens"))),
        "cache_creation": _int(
            tags.get("tokens.cache_creation", usage.get("cache_creation_input_tokens"))
        ),
    }
    tokens["total"] = tokens["input"] + tokens["output"]
    cost = tags.get("cost.usd")
    prompt = _prompt_of(info)
    shown = {k: v for k, v in sorted(tags.items()) if not k.startswith(("mlflow.", "tokens."))}
    return TraceRow(
        trace_id=info.trace_id,
        session=meta.get("mlflow.trace.session"),
        user=meta.get("mlflow.trace.user"),
        time=_iso(info.request_time),
        duration_ms=info.execution_duration,
        status=str(getattr(info.state, "value", info.state)),
        prompt=prompt,
        tokens=tokens,
        cost_usd=float(cost) if cost else None,
        tags=shown,
    )


def _prompt_of(info: Any) -> str:
    preview = getattr(info, "request_preview", None) or ""
    try:
        body = json.loads(preview)
    except ValueError:
        return preview
    if isinstance(body, dict) and isinstance(body.get("prompt"), str):
        return str(body["prompt"])
    return preview


def search(
    backend: MlflowBackend, filters: Filters, *, limit: int, include_spans: bool = False
) -> list[Any]:
    """Newest first, paging through the server's results until `limit`."""
    return list(_pages(backend, filters.to_mlflow(), limit=limit, include_spans=include_spans))


def _pages(
    backend: MlflowBackend, filter_string: str, *, limit: int | None, include_spans: bool
) -> Iterator[Any]:
    experiment_id = backend.connect(create=False)
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
        for trace in page:
            yield trace
            seen += 1
        token = page.token
        if not token or not page:
            return


def get(backend: MlflowBackend, trace_id: str) -> Any:
    if not re.match(r"^(tr-)?[0-9a-f]{32}$", trace_id):
        raise TracesError(
            f"{trace_id!r} is not a trace id",
            "trace ids look like tr-0123…; find them with `traces search`",
        )
    found = backend.get(trace_id)
    if found is None:
        raise TracesError(
            f"no trace {trace_id} in {backend.tracking_uri}",
            "check the id with `traces search`, or pass --experiment",
        )
    return found


@dataclass
class UsageRow:
    key: str
    turns: int = 0
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # turns (or responses) without a cost: the sum is a lower bound

    @property
    def total(self) -> int:
        return self.input + self.output

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["total"] = self.total
        body["cost_usd"] = round(self.cost_usd, 6)
        return body


GROUPS = ("day", "model", "user", "repo", "session")


def usage(backend: MlflowBackend, filters: Filters, by: str) -> list[UsageRow]:
    """Tokens and cost over the filtered traces, grouped. `model` reads the LLM spans."""
    if by not in GROUPS:
        raise TracesError(f"cannot group by {by!r}", f"use --by {'|'.join(GROUPS)}")
    rows: dict[str, UsageRow] = defaultdict(lambda: UsageRow(""))
    for trace in _pages(backend, filters.to_mlflow(), limit=None, include_spans=by == "model"):
        if by == "model":
            _add_models(rows, trace)
            continue
        row_data = row_of(trace)
        key = {
            "day": row_data.time[:10],
            "user": row_data.user or "(unknown)",
            "repo": row_data.tags.get("git.repo_name") or "(no repository)",
            "session": row_data.session or "(none)",
        }[by]
        row = rows[key]
        row.key = key
        row.turns += 1
        row.input += row_data.tokens["input"]
        row.output += row_data.tokens["output"]
        row.cache_read += row_data.tokens["cache_read"]
        row.cache_creation += row_data.tokens["cache_creation"]
        if row_data.cost_usd is None or row_data.tags.get("cost.unpriced_calls"):
            row.unpriced += 1  # the turn's cost is missing, or covers only part of it
        if row_data.cost_usd is not None:
            row.cost_usd += row_data.cost_usd
    ordered = sorted(rows.values(), key=lambda r: r.key if by == "day" else -r.cost_usd)
    return ordered


def _add_models(rows: dict[str, UsageRow], trace: Any) -> None:
    models_in_trace = set()
    for span in trace.data.spans:
        attrs = span.attributes
        if span.span_type != "LLM" or attrs.get("claude_code.copied_response"):
            continue  # a resumed session's copy: counted in the trace that first had it
        model = str(attrs.get("mlflow.llm.model") or span.name)
        usage_ = attrs.get("mlflow.chat.tokenUsage") or {}
        row = rows[model]
        row.key = model
        if model not in models_in_trace:
            row.turns += 1
            models_in_trace.add(model)
        row.input += _int(usage_.get("input_tokens"))
        row.output += _int(usage_.get("output_tokens"))
        row.cache_read += _int(usage_.get("cache_read_input_tokens"))
        row.cache_creation += _int(usage_.get("cache_creation_input_tokens"))
        cost = attrs.get("mlflow.llm.cost")
        if isinstance(cost, dict) and "total_cost" in cost:
            row.cost_usd += float(cost["total_cost"])
        else:
            row.unpriced += 1


@dataclass
class ExperimentRow:
    name: str
    experiment_id: str
    traces: int
    capped: bool
    last_activity: str | None


def list_experiments(backend: MlflowBackend, *, count_cap: int = 10_000) -> list[ExperimentRow]:
    """Experiments that follow the convention (a `claude-code/` folder), with counts."""
    rows = []
    for experiment in backend.convention_experiments():
        newest = backend.client.search_traces(
            locations=[experiment.experiment_id],
            max_results=1,
            order_by=["timestamp_ms DESC"],
            include_spans=False,
        )
        count = 0
        token = None
        while count < count_cap:
            page = backend.client.search_traces(
                locations=[experiment.experiment_id],
                max_results=PAGE,
                page_token=token,
                include_spans=False,
            )
            count += len(page)
            token = page.token
            if not token:
                break
        rows.append(
            ExperimentRow(
                name=experiment.name,
                experiment_id=experiment.experiment_id,
                traces=min(count, count_cap),
                capped=count >= count_cap and token is not None,
                last_activity=_iso(newest[0].info.request_time) if newest else None,
            )
        )
    return rows
