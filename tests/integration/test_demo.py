"""`traces demo` shows what the enrichments add: its repository has a history, so each trace
carries the branch and commit it was made on and the files it wrote."""

from __future__ import annotations

import json
from pathlib import Path

from claudetracing.core import paths
from tests.conftest import git
from tests.tracing import stored_traces, traces


def test_demo_traces_carry_git_and_file_context(isolated: Path, tmp_path: Path) -> None:
    done = traces("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    checkout = paths.data_dir() / "demo" / "widgets"
    started, shouting = git(checkout, "log", "--reverse", "--format=%H").splitlines()
    found = stored_traces(paths.local_tracking_uri(), "claude-code/demo")
    by_prompt = {t.info.request_preview or "": t.info for t in found}
    assert len(by_prompt) == 4
    for prompt, info in by_prompt.items():
        tags = info.tags
        assert tags["git.branch"] == "main", prompt
        assert tags["git.repo_name"] == "acme/widgets", prompt
        assert tags["git.remote_url"] == "https://github.com/acme/widgets.git", prompt
        # The first session ran before `greet` was committed, the second after.
        expected = shouting if "ada" in prompt else started
        assert tags["git.commit_id"] == expected, prompt
        assert info.trace_metadata["mlflow.source.git.commit"] == expected, prompt
        assert info.trace_metadata["mlflow.source.git.branch"] == "main", prompt
    (write,) = [i for p, i in by_prompt.items() if "Create hello.py" in p]
    assert json.loads(write.tags["files.modified"]) == ["hello.py"]
    assert write.tags["files.count"] == "1"
    # And the output says so, trace by trace.
    assert f"{write.trace_id}  main@{started[:7]}  wrote hello.py" in done.stdout
    assert f"main@{shouting[:7]}  wrote nothing" in done.stdout
