"""`traces import` over damaged copies of real transcripts (tests/corpus/real): no line costs
its file, no file costs the batch, what was written twice counts once, and every repair is
counted. The stored traces are checked against the independent oracle (tests/corpus/oracle.py)
run on the undamaged copy."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from claudetracing.core import config as config_mod
from tests.corpus import oracle
from tests.corpus.stored import copy_project, stored_facts
from tests.tracing import stored_traces, traces

DENIED = "ccl-claude-p-denied"  # one session, 18 tool calls
DANIEL = "ccl-danieldemmel"  # three sessions, flat subagent files


def _main_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.jsonl") if not p.name.startswith("agent-"))


def _rewrite(path: Path, lines: list[bytes]) -> None:
    """Write the lines back, keeping the file's old modification time (a session that is over)."""
    when = path.stat()
    path.write_bytes(b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines))
    os.utime(path, ns=(when.st_atime_ns, when.st_mtime_ns))


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def _stored(repo: Path) -> list[Any]:
    cfg = config_mod.load(repo)
    return stored_traces(cfg.tracking_uri, cfg.experiment)


def _count(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0


def _init(repo: Path) -> None:
    done = traces("init", "--local", "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr


def _assert_same_calls(got: Any, expected: oracle.ProjectFacts) -> None:
    assert got.responses == expected.responses
    assert (got.tool_calls, got.tool_errors) == (expected.tool_calls, expected.tool_errors)
    assert got.tokens_by_model == {
        m: v for m, v in expected.tokens_by_model.items() if any(v.values())
    }


def test_deep_lines_and_broken_files_cost_nothing_else(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    """A line nested 1,000 deep, a tool input 500 deep, a symlink loop and a FIFO named like
    transcripts: every good turn lands, each broken file is one line of the report."""
    _init(repo)
    clean = copy_project(DENIED, tmp_path / "clean" / DENIED)
    expected = oracle.project_facts(clean)
    given = copy_project(DENIED, tmp_path / "given")
    (main,) = _main_files(given)
    lines = main.read_bytes().splitlines(keepends=True)
    deep_line = b'{"type": "progress", "data": ' + b"[" * 1_000 + b"0" + b"]" * 1_000 + b"}"
    tool_line = next(i for i, line in enumerate(lines) if b'"tool_use"' in line)
    record = json.loads(lines[tool_line])
    block = next(b for b in record["message"]["content"] if b["type"] == "tool_use")
    block["input"]["deep"] = _nested(500)
    lines[tool_line] = json.dumps(record).encode()
    _rewrite(main, [*lines[:3], deep_line, *lines[3:]])
    (given / "loop.jsonl").symlink_to(given / "loop.jsonl")
    os.mkfifo(given / "fifo.jsonl")

    done = traces("import", str(given), cwd=repo, timeout=300)

    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert done.returncode == 1, done.stderr  # the broken files are reported: not all went well
    failed = [line for line in done.stderr.splitlines() if line.startswith("failed ")]
    assert sorted(Path(line.split()[1].rstrip(":")).name for line in failed) == [
        "fifo.jsonl",
        "loop.jsonl",
    ], done.stderr
    got = stored_facts(_stored(repo))
    _assert_same_calls(got, expected)
    # Both deep lines are counted: the one too deep to parse skipped, the other cut.
    skipped = _count(r"(\d+) unreadable transcript line", done.stderr)
    repaired = _count(r"(\d+) transcript line\(s\) repaired", done.stderr)
    assert skipped + repaired == 2, done.stderr
    assert repaired >= 1
    inputs = [s.inputs for t in _stored(repo) for s in t.data.spans if s.span_type == "TOOL"]
    assert any("nested too deep" in json.dumps(i) for i in inputs)


def test_records_written_twice_count_once(repo: Path, local_store: Path, tmp_path: Path) -> None:
    """Every line of every file written twice, plus a response line written again under
    another uuid: the same turns, responses, tool calls and tokens as the clean copy."""
    _init(repo)
    clean = copy_project(DANIEL, tmp_path / "clean" / DANIEL)
    expected = oracle.project_facts(clean)
    given = copy_project(DANIEL, tmp_path / "given")
    doubled = 0
    for path in sorted(given.glob("*.jsonl")):
        lines = [line for line in path.read_bytes().splitlines(keepends=True) if line.strip()]
        twice = [copy for line in lines for copy in (line, line)]
        # Records are known by their uuid: a line without one (`summary`) is not traced anyway.
        doubled += sum(isinstance(json.loads(line).get("uuid"), str) for line in lines)
        if path.name.startswith("agent-"):
            _rewrite(path, twice)
            continue
        index = next((i for i, line in enumerate(twice) if b'"tool_use"' in line), None)
        if index is not None:
            again = json.loads(twice[index])
            again["uuid"] = again["uuid"][:-4] + "beef"
            twice.insert(index + 2, json.dumps(again).encode())
            doubled += 1
        _rewrite(path, twice)

    done = traces("import", str(given), cwd=repo, timeout=300)

    assert done.returncode == 0, done.stderr
    assert f"{doubled} duplicate transcript line(s) counted once" in done.stderr
    got = stored_facts(_stored(repo))
    _assert_same_calls(got, expected)
    turns = {t.prompt_uuid for s in expected.sessions.values() for t in s.turns if t.responses}
    assert set(got.turns) == turns


def test_an_absurd_timestamp_does_not_stretch_a_turn(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    """One line of year 9999 and one of 2001 in a real session: no trace lasts longer than the
    session did, and both lines are counted as repaired."""
    _init(repo)
    given = copy_project(DENIED, tmp_path / "given")
    (main,) = _main_files(given)
    lines = main.read_bytes().splitlines(keepends=True)
    stamped = [
        i for i, line in enumerate(lines) if b'"timestamp"' in line and b'"assistant"' in line
    ]
    for index, moment in zip(
        stamped[1:3], ("9999-12-31T23:59:59.000Z", "2001-01-01T00:00:00Z"), strict=True
    ):
        record = json.loads(lines[index])
        record["timestamp"] = moment
        lines[index] = json.dumps(record).encode()
    _rewrite(main, lines)

    done = traces("import", str(given), cwd=repo)

    assert done.returncode == 0, done.stderr
    assert "2 transcript line(s) repaired" in done.stderr
    found = _stored(repo)
    assert found
    for trace in found:
        starts = [s.start_time_ns for s in trace.data.spans]
        ends = [s.end_time_ns for s in trace.data.spans]
        assert max(ends) - min(starts) < 3_600 * 10**9  # the session lasted minutes
        assert min(starts) > 1_700_000_000 * 10**9  # nothing back in 2001


def test_lines_repaired_from_invalid_utf8_are_counted(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    _init(repo)
    given = copy_project(DENIED, tmp_path / "given")
    (main,) = _main_files(given)
    lines = main.read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"text"' in line)
    lines[index] = lines[index].replace(b'"text":"', b'"text":"\xff\xfe', 1)
    assert b"\xff" in lines[index]
    _rewrite(main, lines)

    done = traces("import", str(given), cwd=repo)

    assert done.returncode == 0, done.stderr
    assert "1 transcript line(s) repaired" in done.stderr
    assert "unreadable" not in done.stderr


def test_import_run_again_says_how_many_turns_were_traced_before(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    _init(repo)
    given = copy_project(DANIEL, tmp_path / "given")
    first = traces("import", str(given), cwd=repo)
    assert first.returncode == 0, first.stderr
    exported = _count(r"(\d+) turn\(s\) exported", first.stderr)
    assert exported == len(_stored(repo)) > 1

    second = traces("import", str(given), cwd=repo)

    assert second.returncode == 0, second.stderr
    assert f"0 turn(s) exported, {exported} already traced" in second.stderr
    assert len(_stored(repo)) == exported
