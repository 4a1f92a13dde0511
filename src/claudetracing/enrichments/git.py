"""`git`: commit, branch, remote, repository name and dirtiness of the turn's working tree."""

from __future__ import annotations

from datetime import datetime, timezone

from claudetracing.core import git_info
from claudetracing.enrichments.api import Enrichment, TurnContext


def _enrich(context: TurnContext) -> dict[str, object]:
    snap = context.git
    if snap is None and context.repo_root is not None:
        snap = git_info.snapshot(context.cwd)  # a context made without the exporter's reading
    if snap is None:
        return {}  # outside any repository: no tags, no error
    commit = snap.commit_id
    branch = snap.branch
    if not context.recent:
        # A backfilled turn: HEAD now is not HEAD then. The reflog knows what it was.
        ended = datetime.fromtimestamp(context.turn.run.end_ns / 1e9, tz=timezone.utc)
        commit = git_info.head_at(context.cwd, ended) or None
        branch = context.turn.git_branch or None
    tags: dict[str, object] = {
        "commit_id": commit,
        "branch": branch,
        "remote_url": snap.remote_url,
        "repo_name": snap.repo_name,
    }
    if context.recent and snap.dirty is not None:
        tags["dirty"] = snap.dirty
    return tags


enrichment = Enrichment(
    name="git",
    description="git.commit_id, git.branch, git.remote_url (no credentials), git.repo_name, "
    "git.dirty",
    enrich=_enrich,
)
