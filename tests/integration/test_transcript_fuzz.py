"""Mutations of real, public transcripts (tests/corpus/real): the reader and the trace builder
never raise, never hang, count every line they skip or repair, and read a record written twice
once. Deterministic: each case is a (project, mutation, seed) triple. The bulk runs the reader,
the builder and the redactor in this process; a small subset goes through `traces import` into a
real MLflow store."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from claudetracing.core import config as config_mod
from claudetracing.redaction.redactor import Redactor
from claudetracing.trace.builder import TURN_KEY_TAG, build_trace
from claudetracing.transcript.model import SessionRead
from claudetracing.transcript.records import EARLIEST_NS, OUTLIER_NS, parse_timestamp_ns
from claudetracing.transcript.turns import read_session
from tests.corpus import oracle
from tests.corpus.stored import CORPUS, copy_project, corpus_projects, stored_facts
from tests.tracing import stored_traces, traces

SEEDS = range(int(os.environ.get("FUZZ_SEEDS", "3")))  # more seeds: FUZZ_SEEDS=50
CASE_SECONDS = 20  # a case that takes longer hangs: the alarm fails it


@dataclass
class Expect:
    bad: int = 0  # lines at least skipped or repaired
    duplicates: int | None = None  # lines written twice, exactly
    same_calls: bool = False  # the responses and tool calls of the clean read, no more


Lines = list[bytes]
Mutation = Callable[[Lines, random.Random], tuple[Lines, Expect]]


def _records(lines: Lines) -> list[tuple[int, dict[str, Any]]]:
    found = []
    for index, line in enumerate(lines):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            found.append((index, data))
    return found


def _pick(rng: random.Random, items: list[Any], k: int) -> list[Any]:
    return rng.sample(items, min(k, len(items)))


def truncate_file(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    blob = b"\n".join(lines)
    return blob[: rng.randrange(1, len(blob))].split(b"\n"), Expect()


def truncate_lines(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    chosen = _pick(rng, [i for i, line in enumerate(lines) if len(line.strip()) > 2], 3)
    out = list(lines)
    for index in chosen:
        stripped = out[index].strip()
        out[index] = stripped[: rng.randrange(1, len(stripped) - 1)]
    return out, Expect(bad=len(chosen))


def delete_lines(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    gone = set(_pick(rng, list(range(len(lines))), max(1, len(lines) // 5)))
    return [line for i, line in enumerate(lines) if i not in gone], Expect()


def duplicate_lines(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    with_uuid = [i for i, data in _records(lines) if isinstance(data.get("uuid"), str)]
    chosen = set(_pick(rng, with_uuid, max(1, len(with_uuid) // 3)))
    out: Lines = []
    for index, line in enumerate(lines):
        out.append(line)
        # right after (a write retried) or at the end (a copy appended later)
        if index in chosen and rng.random() < 0.5:
            out.append(line)
    late = [lines[i] for i in sorted(chosen) if out.count(lines[i]) == 1]
    return out + late, Expect(duplicates=len(chosen), same_calls=True)


def rewrite_response(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    """An assistant line written again under a new uuid: same message id, same content."""
    answers = [(i, d) for i, d in _records(lines) if d.get("type") == "assistant" and d.get("uuid")]
    out = list(lines)
    chosen = _pick(rng, answers, 2)
    for index, data in sorted(chosen, key=lambda item: item[0], reverse=True):
        again = dict(data, uuid=f"{data['uuid']}-again")
        out.insert(index + 1, json.dumps(again).encode())
    return out, Expect(same_calls=True)


def shuffle_lines(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    out = list(lines)
    start = rng.randrange(0, max(1, len(out) - 1))
    window = out[start : start + 8]
    rng.shuffle(window)
    out[start : start + 8] = window
    return out, Expect()


WRONG = [None, 5, -1, 1e308, True, "x", [], {}, [[]], {"a": None}]


def wrong_types(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    out = list(lines)
    for index, data in _pick(rng, _records(lines), 6):
        targets: list[tuple[dict[str, Any], str]] = [(data, k) for k in data]
        message = data.get("message")
        if isinstance(message, dict):
            targets += [(message, k) for k in message]
            for block in message.get("content") or []:
                if isinstance(block, dict):
                    targets += [(block, k) for k in block]
        for holder, key in _pick(rng, targets, 2):
            holder[key] = rng.choice(WRONG)
        out[index] = json.dumps(data).encode()
    return out, Expect()


def cycles(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    """parentUuid loops, a tool result for its own call, a progress line nesting its own call."""
    out = list(lines)
    records = _records(lines)
    for index, data in _pick(rng, records, 4):
        data["parentUuid"] = data.get("uuid")
        if data.get("type") == "assistant":
            for block in (data.get("message") or {}).get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    data["parentToolUseID"] = block.get("id")
                    data["toolUseID"] = block.get("id")
        out[index] = json.dumps(data).encode()
    if len(records) >= 2:
        (i, first), (j, second) = _pick(rng, records, 2)
        first["parentUuid"], second["parentUuid"] = second.get("uuid"), first.get("uuid")
        out[i], out[j] = json.dumps(first).encode(), json.dumps(second).encode()
    return out, Expect()


def bad_utf8(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    out = list(lines)
    chosen = _pick(rng, [i for i, line in enumerate(lines) if b'":"' in line], 3)
    for index in chosen:
        # inside a string value: the line stays JSON once the bytes are replaced
        out[index] = out[index].replace(b'":"', b'":"\xff\xfe\xc3', 1)
    return out, Expect(bad=len(chosen))


def nul_bytes(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    out = list(lines)
    chosen = _pick(rng, [i for i, line in enumerate(lines) if line.strip()], 2)
    for index in chosen:
        at = rng.randrange(0, len(out[index]))
        out[index] = out[index][:at] + b"\x00" + out[index][at:]
    out.insert(rng.randrange(0, len(out) + 1), b"\x00\x00\x00")
    return out, Expect(bad=len(chosen) + 1)


ABSURD = ["9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "soon", ""]


def odd_timestamps(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    out = list(lines)
    stamped = [
        (i, d) for i, d in _records(lines) if d.get("type") in ("user", "assistant", "progress")
    ]
    chosen = _pick(rng, stamped, 3)
    for index, data in chosen:
        data["timestamp"] = rng.choice(ABSURD)
        out[index] = json.dumps(data).encode()
    # one more line far out of order, inside the file (its neighbours disagree with it)
    if len(stamped) > 4:
        index, data = stamped[len(stamped) // 2]
        data["timestamp"] = "2021-03-04T05:06:07Z"
        out[index] = json.dumps(data).encode()
    return out, Expect(bad=len(chosen))


def deep_nesting(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    out = list(lines)
    depth = rng.choice([900, 1_000, 5_000])
    deep = b'{"type":"user","message":{"content":' + b"[" * depth + b"]" * depth + b"}}"
    out.insert(rng.randrange(0, len(out) + 1), deep)
    bad = 1
    uses = [
        (i, d)
        for i, d in _records(lines)
        if '"tool_use"' in json.dumps((d.get("message") or {}).get("content"))
    ]
    if uses:
        index, data = rng.choice(uses)
        for block in data["message"]["content"]:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                value: Any = "bottom"
                for _ in range(500):
                    value = {"k": value}
                block["input"] = {"deep": value}
        out[out.index(lines[index])] = json.dumps(data).encode()
        bad += 1
    return out, Expect(bad=bad)


def long_line(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    out = list(lines)
    records = _records(lines)
    index, data = rng.choice(records)
    data["padding"] = "x" * 3_000_000
    out[index] = json.dumps(data).encode()
    out.insert(rng.randrange(0, len(out) + 1), b"{" + b" " * 2_000_000)  # never closed
    return out, Expect(bad=1)


def not_objects(lines: Lines, rng: random.Random) -> tuple[Lines, Expect]:
    out = list(lines)
    junk = [b"[1, 2]", b'"a string"', b"null", b"12", b"{}garbage", b"]"]
    for line in _pick(rng, junk, 3):
        out.insert(rng.randrange(0, len(out) + 1), line)
    return out, Expect(bad=3)


MUTATIONS: dict[str, Mutation] = {
    f.__name__: f
    for f in (
        truncate_file,
        truncate_lines,
        delete_lines,
        duplicate_lines,
        rewrite_response,
        shuffle_lines,
        wrong_types,
        cycles,
        bad_utf8,
        nul_bytes,
        odd_timestamps,
        deep_nesting,
        long_line,
        not_objects,
    )
}


class Hung(Exception):
    pass


@contextmanager
def bounded(seconds: int) -> Iterator[None]:
    def alarm(_signum: int, _frame: Any) -> None:
        raise Hung(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _calls(session: SessionRead) -> tuple[int, int, int]:
    """Turns with a response, responses, tool calls."""
    turns = [t for t in session.turns if t.run.walk_llm_calls()]
    calls = sum(len(t.run.walk_llm_calls()) for t in session.turns)
    tools = sum(len(t.run.walk_tool_calls()) for t in session.turns)
    return len(turns), calls, tools


def _time_range(lines: Lines) -> int:
    found = [parse_timestamp_ns(d.get("timestamp")) for _, d in _records(lines)]
    values = [v for v in found if v is not None]
    return max(values) - min(values) if values else 0


def _main_transcripts() -> list[Path]:
    return [
        p
        for name in corpus_projects()
        for p in sorted((CORPUS / name).glob("*.jsonl"))
        if not p.name.startswith("agent-") and p.stat().st_size > 0
    ]


MAINS = _main_transcripts()
REDACTOR = Redactor()


def _scrub(value: Any) -> Any:
    return REDACTOR.redact(value)[0]


def _traced(session: SessionRead) -> None:
    """Build, redact and serialise every turn as an export would."""
    for turn in session.turns:
        trace = build_trace(turn, "fuzz", scrub=_scrub)
        for node in trace.root.walk():
            json.dumps([node.inputs, node.outputs, node.attributes], default=str)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_transcripts_read_without_a_word_lost(mutation: str, tmp_path: Path) -> None:
    for source in MAINS:
        folder = tmp_path / source.parent.name
        if not folder.exists():
            shutil.copytree(source.parent, folder)
        path = folder / source.name
        clean_lines = source.read_bytes().splitlines()
        path.write_bytes(source.read_bytes())
        clean = read_session(path, final=True)
        span = _time_range(clean_lines)
        for seed in SEEDS:
            rng = random.Random(f"{mutation}:{source.name}:{seed}")
            lines, expect = MUTATIONS[mutation](list(clean_lines), rng)
            path.write_bytes(b"\n".join(lines) + b"\n")
            case = f"{mutation} seed {seed} of {source.parent.name}/{source.name}"
            with bounded(CASE_SECONDS):
                session = read_session(path, final=True)
                _traced(session)
            counted = session.skipped_lines + session.repaired_lines
            assert counted >= expect.bad, case
            if expect.duplicates is not None:
                assert session.duplicate_lines == expect.duplicates, case
            if expect.same_calls:
                assert _calls(session) == _calls(clean), case
            for turn in session.turns:
                assert turn.run.start_ns >= EARLIEST_NS or turn.run.start_ns == 0, case
                assert turn.run.end_ns - turn.run.start_ns <= span + OUTLIER_NS, case


STORED = {  # a small project per kind of damage, imported together into a real store
    "ccl-claude-p-denied": duplicate_lines,
    "ccl-claude-p-websearch": deep_nesting,
    "ccl-claude-p-explore": odd_timestamps,
    "yep-native-basic": nul_bytes,
}


def test_mutated_transcripts_through_traces_import(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    assert traces("init", "--local", "--yes", "--no-verify", cwd=repo).returncode == 0
    given = tmp_path / "given"
    expected: dict[str, Expect] = {}
    for name, mutate in STORED.items():
        folder = copy_project(name, given / name)
        for path in sorted(folder.glob("*.jsonl")):
            if path.name.startswith("agent-"):
                continue
            lines, expect = mutate(path.read_bytes().splitlines(), random.Random(name))
            old = path.stat().st_mtime  # the session is over: its last turn goes as it stands
            path.write_bytes(b"\n".join(lines) + b"\n")
            os.utime(path, (old, old))
            expected[name] = expect
    clean = oracle.project_facts(copy_project("ccl-claude-p-denied", tmp_path / "clean"))

    done = traces("import", str(given), cwd=repo, timeout=300)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "failed" not in done.stderr
    duplicates = expected["ccl-claude-p-denied"].duplicates
    assert f"{duplicates} duplicate transcript line(s) counted once" in done.stderr
    numbers = [
        int(n)
        for n in re.findall(
            r"(\d+) (?:unreadable transcript|transcript line\(s\) repaired)", done.stderr
        )
    ]
    assert sum(numbers) >= sum(e.bad for e in expected.values()), done.stderr
    cfg = config_mod.load(repo)
    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    sessions = set(clean.sessions)
    duplicated = [t for t in found if t.info.tags[TURN_KEY_TAG].split(":")[0] in sessions]
    got = stored_facts(duplicated)
    assert got.responses == clean.responses
    assert (got.tool_calls, got.tool_errors) == (clean.tool_calls, clean.tool_errors)
