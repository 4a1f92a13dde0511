"""Every time option reads the same spellings: `traces import --since` takes a date too."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from tests.integration.test_import_demo import _place_sessions
from tests.tracing import traces


def test_import_since_takes_a_date_as_search_does(repo: Path, local_store: Path) -> None:
    _place_sessions(repo, "tool_call")  # last written an hour ago
    day = datetime.fromtimestamp(time.time() + 86400, tz=timezone.utc).strftime("%Y-%m-%d")
    done = traces("import", "--since", day, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "no sessions found" in done.stderr
    hours_ago = datetime.fromtimestamp(time.time() - 7200, tz=timezone.utc)
    done = traces("import", "--since", hours_ago.strftime("%Y-%m-%dT%H:%M:%SZ"), cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "1 session(s): 1 turn(s) exported" in done.stderr


def test_a_bad_time_is_refused_with_the_option_and_the_fix(repo: Path, local_store: Path) -> None:
    for command in (("import",), ("search",), ("usage",)):
        done = traces(*command, "--since", "last tuesday", cwd=repo)
        assert done.returncode == 1, (command, done.stderr)
        assert "cannot read --since 'last tuesday'" in done.stderr
        assert "fix: use a duration ago such as 24h or 7d" in done.stderr
