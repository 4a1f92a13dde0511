"""`git`: commit, branch, remote, repository name and dirtiness of the turn's working tree."""

from __future__ import annotations

from datetime import datetime, timezone

from claudetracing.core import git_info
from claudetracing.enrichments.api import Enrichment, TurnContext


def recorded_branch(context: TurnContext) -> str | None:
    """The branch Claude Code recorded with the turn's prompt; None when it recorded none or a
    detached HEAD (`HEAD`)."""
    branch = context.turn.git_branch
    return branch if isinstance(branch, str) and branch.strip() not in ("", "HEAD") else None


def _enrich(context: TurnContext) -> dict[str, object]:
    snap = context.git
    if snap is None and context.repo_root is not None:
        snap = git_info.snapshot(context.cwd)  # a context made without the exporter's reading
    branch = recorded_branch(context)
    if snap is None:
        if branch is None or context.recent:
            return {}  # outside any repository: no tags, no error
        # A session recorded in a repository, imported where there is none to read.
        return {"branch": branch, "commit_unknown": f"no git repository at {context.cwd}"}
    tags: dict[str, object] = {
        "commit_id": snap.commit_id,
        "branch": snap.branch,
        "remote_url": snap.remote_url,
        "repo_name": snap.repo_name,
    }
    if context.recent:
        if snap.dirty is not None:
            tags["dirty"] = snap.dirty
        return tags
    # A backfilled turn: HEAD now is not HEAD then, and this may not even be the machine it
    # ran on. The branch is the one the transcript recorded; the commit, that branch's last at
    # or before the turn's end; and when that cannot be known, the tag says why.
    ended = datetime.fromtimestamp(context.turn.run.end_ns / 1e9, tz=timezone.utc)
    past = git_info.commit_at(context.cwd, ended, branch)
    tags["commit_id"] = past.commit_id
    tags["branch"] = branch
    if past.unknown:
        tags["commit_unknown"] = past.unknown
    return tags


enrichment = Enrichment(
    name="git",
    description="git.commit_id, git.branch, git.remote_url (no credentials), git.repo_name, "
    "git.dirty; git.commit_unknown when an imported turn's commit cannot be known",
    enrich=_enrich,
)
