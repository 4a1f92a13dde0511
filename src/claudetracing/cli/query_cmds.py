"""`traces list`, `traces search`, `traces show` and `traces usage`."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from claudetracing.cli import app
from claudetracing.core import config as config_mod
from claudetracing.core.errors import TracesError

if TYPE_CHECKING:
    from claudetracing.export.backend import MlflowBackend
    from claudetracing.query.fit import Fitted


class SearchFormat(str, Enum):
    table = "table"
    summary = "summary"  # claudetracing's name for its human-readable listing: our table
    json = "json"
    context = "context"
    tools = "tools"


class UsageFormat(str, Enum):
    table = "table"
    json = "json"
    chart = "chart"


class GroupBy(str, Enum):
    day = "day"
    model = "model"
    user = "user"
    repo = "repo"
    session = "session"


def _backend(experiment: str | None, experiment_id: str | None = None) -> MlflowBackend:
    from claudetracing.export.backend import MlflowBackend

    cfg = config_mod.load(config_mod.find_root())
    if experiment_id is not None:
        if experiment:
            raise TracesError(
                "--experiment and --experiment-id exclude each other", "pass only one of them"
            )
        from claudetracing.query.search import experiment_named

        listing = MlflowBackend(cfg.tracking_uri, cfg.experiment)
        experiment = experiment_named(listing, experiment_id)
    return MlflowBackend(cfg.tracking_uri, experiment or cfg.experiment)


def _print(fitted: Fitted, width: int) -> None:
    from claudetracing.query import render

    render.console().print(fitted.renderable)
    note = render.left_out_note(fitted, width)
    if note:
        typer.echo(note, err=True)


def _window(
    hours: float | None, since: str | None, until: str | None, default_since: str | None = None
) -> tuple[int | None, int | None]:
    """--since and --until (or --hours) as milliseconds since the epoch."""
    from claudetracing.core.durations import parse_moment

    def parse_time(text: str, option: str) -> int:
        return int(parse_moment(text, option=option) * 1000)

    if hours is not None and since:
        raise TracesError("--hours and --since exclude each other", "pass only one of them")
    since_ms = until_ms = None
    if hours is not None:
        if not 0 < hours <= _MAX_DAYS * 24:
            raise TracesError(
                f"--hours must be more than 0 and at most {_MAX_DAYS * 24}, got {hours:g}",
                "for example --hours 24",
            )
        since_ms = parse_time(f"{hours}h", "--hours")
    elif since or default_since:
        since_ms = parse_time(since or default_since or "", "--since")
    if until:
        until_ms = parse_time(until, "--until")
    if since_ms and until_ms and since_ms > until_ms:
        raise TracesError("--since is after --until", "swap them")
    return since_ms, until_ms


_MAX_DAYS = 36_500  # a century: beyond it a window is a typo, and its spelling no longer parses

ExperimentOpt = Annotated[
    str | None,
    typer.Option(
        "--experiment", "-e", help="Experiment name or path (default: this repository's)."
    ),
]
ExperimentIdOpt = Annotated[
    str | None,
    typer.Option(help="The experiment by id instead of name (the id `traces list` shows)."),
]
STATUS_HELP = (
    "Status OK means the turn was answered, even when a tool failed on the way; ERROR means it "
    "was interrupted, the API failed, or it ended unanswered. Tool errors counts the turn's "
    "failed tool calls (ERROR tool spans, subagents' included; - for a trace exported before "
    "traces counted them)."
)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Experiments that follow the convention: trace counts, failed tool calls, last activity."""
    from claudetracing.query import render, search

    rows = search.list_experiments(_backend(None))
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    elif not rows:
        typer.echo("no experiments named claude-code/… yet: run `traces init`", err=True)
    else:
        width = render.console().width
        _print(render.experiments_table(rows, width), width)
        unknown = sum(r.tool_errors_unknown for r in rows)
        if unknown:
            typer.echo(
                f"tool errors: failed tool calls; {unknown:,} trace(s) exported before traces "
                "counted them are not included",
                err=True,
            )


@app.command(help=f"Find traces; every filter runs on the server.\n\n{STATUS_HELP}")
def search(
    experiment: ExperimentOpt = None,
    experiment_id: ExperimentIdOpt = None,
    hours: Annotated[float | None, typer.Option(help="Only the last N hours.")] = None,
    since: Annotated[str | None, typer.Option(help="From: 7d, 24h, or a date/time.")] = None,
    until: Annotated[str | None, typer.Option(help="Until: 1h, or a date/time.")] = None,
    trace_id: Annotated[str | None, typer.Option(help="One trace by id.")] = None,
    session: Annotated[str | None, typer.Option(help="Claude Code session id.")] = None,
    user: Annotated[str | None, typer.Option(help="Value of mlflow.trace.user.")] = None,
    repo: Annotated[str | None, typer.Option(help="git.repo_name, e.g. acme/widgets.")] = None,
    branch: Annotated[str | None, typer.Option(help="git.branch.")] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="OK (answered), ERROR (interrupted, API error, unanswered), IN_PROGRESS."
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-l", help="At most this many traces (newest first).")
    ] = 50,
    fmt: Annotated[
        SearchFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (default on a terminal; summary is the same), json, context (for an "
            "LLM), or tools (each tool's calls and failures).",
        ),
    ] = None,
    budget: Annotated[int, typer.Option(help="Characters for -f context.")] = 20_000,
) -> None:
    from claudetracing.query import render, search, tools
    from claudetracing.trace.stored import Filters

    if limit < 1:
        raise TracesError(f"--limit must be at least 1, got {limit}", "for example --limit 50")
    backend = _backend(experiment, experiment_id)
    chosen = fmt or (SearchFormat.table if sys.stdout.isatty() else SearchFormat.json)
    spans = chosen in (SearchFormat.context, SearchFormat.tools)
    if trace_id:
        found = [search.get(backend, trace_id)]
    else:
        since_ms, until_ms = _window(hours, since, until)
        filters = Filters(
            since_ms=since_ms,
            until_ms=until_ms,
            session=session,
            user=user,
            repo=repo,
            branch=branch,
            status=status,
        )
        found = search.search(backend, filters, limit=limit, include_spans=spans)
    if chosen is SearchFormat.context:
        typer.echo(render.context(found, budget))
        return
    if chosen is SearchFormat.json:
        typer.echo(render.traces_json(found))
        return
    width = render.console().width
    if chosen is SearchFormat.tools:
        used = tools.usage(found)
        if used:
            _print(render.tools_table(used, width), width)
        typer.echo(f"{len(used)} tool(s) in {len(found)} trace(s)", err=True)
        return
    _print(render.traces_table(found, width), width)
    typer.echo(f"{len(found)} trace(s)", err=True)


@app.command()
def show(
    trace_id: Annotated[str, typer.Argument(help="The trace id (tr-…).")],
    experiment: ExperimentOpt = None,
    experiment_id: ExperimentIdOpt = None,
) -> None:
    """The span tree of one trace: tools, subagents, durations, tokens, cost, errors."""
    from claudetracing.query import render, search

    backend = _backend(experiment, experiment_id)
    render.console().print(render.span_tree(search.get(backend, trace_id)))


@app.command()
def usage(
    by: Annotated[
        GroupBy, typer.Option(help="Group by day, model, user, repo or session.")
    ] = GroupBy.day,
    days: Annotated[float | None, typer.Option(help="The last N days (default 7).")] = None,
    since: Annotated[str | None, typer.Option(help="From: 30d, or a date/time.")] = None,
    until: Annotated[str | None, typer.Option(help="Until: a date/time.")] = None,
    experiment: ExperimentOpt = None,
    experiment_id: ExperimentIdOpt = None,
    fmt: Annotated[
        UsageFormat, typer.Option("--format", "-f", help="table (with bars), json, or chart.")
    ] = UsageFormat.table,
) -> None:
    """Tokens and USD cost over a time window, grouped: where the money went."""
    from claudetracing.query import render
    from claudetracing.query.usage import grouped
    from claudetracing.trace.stored import Filters

    if days is not None and since:
        raise TracesError("--days and --since exclude each other", "pass only one of them")
    if days is not None and not 0 < days <= _MAX_DAYS:
        raise TracesError(
            f"--days must be more than 0 and at most {_MAX_DAYS}, got {days:g}",
            "for example --days 7",
        )
    since_ms, until_ms = _window(
        None, since or (f"{days}d" if days else None), until, default_since="7d"
    )
    backend = _backend(experiment, experiment_id)
    rows = grouped(backend, Filters(since_ms=since_ms, until_ms=until_ms), by.value)
    if fmt is UsageFormat.json:
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        typer.echo("no traces in this window", err=True)
        return
    width = render.console().width
    if fmt is UsageFormat.table:
        _print(render.usage_table(rows, by.value, width), width)
    typer.echo(render.usage_bars(rows, width))
