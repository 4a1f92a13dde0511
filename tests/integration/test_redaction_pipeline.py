"""Secrets in prompts, tool inputs and outputs, files, subagents and tags never reach the
store; ordinary content arrives untouched. Both rates are printed and asserted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from claudetracing.core import config as config_mod
from claudetracing.export.exporter import Exporter
from claudetracing.export.prepare import Preparer
from tests.tracing import stored_traces
from tests.unit.test_redaction import leaks, load_benign, load_secrets
from tests.unit.test_turns import Lines, _u


def _session(path: Path, contents: list[str]) -> Path:
    """One turn per content: in the prompt, a Bash input, a Bash output, a Write, a subagent."""
    t = Lines(path)
    folder = path.parent / "sess-1" / "subagents"
    folder.mkdir(parents=True, exist_ok=True)
    for n, text in enumerate(contents):
        t.prompt(f"Please look at this:\n{text}")
        t.assistant(
            {
                "type": "tool_use",
                "id": f"b{n}",
                "name": "Bash",
                "input": {"command": f"echo {json.dumps(text)}"},
            },
            mid=f"m{n}a",
            usage=_u(1, 1),
            stop="tool_use",
        )
        t.result(f"b{n}", f"output:\n{text}")
        t.assistant(
            {
                "type": "tool_use",
                "id": f"w{n}",
                "name": "Write",
                "input": {"file_path": "/repo/.env", "content": text},
            },
            mid=f"m{n}b",
            usage=_u(1, 1),
            stop="tool_use",
        )
        t.result(f"w{n}", "File created", toolUseResult={"type": "create", "content": text})
        t.assistant(
            {
                "type": "tool_use",
                "id": f"a{n}",
                "name": "Agent",
                "input": {"prompt": f"check {n}", "description": text},
            },
            mid=f"m{n}c",
            usage=_u(1, 1),
            stop="tool_use",
        )
        sub = Lines(folder / f"agent-ag{n}.jsonl")
        sub.add(type="user", isSidechain=True, message={"role": "user", "content": f"check {n}"})
        sub.assistant(
            {"type": "text", "text": f"found: {text}"},
            mid=f"s{n}",
            usage=_u(1, 1),
            stop="end_turn",
            isSidechain=True,
        )
        sub.save()
        t.result(
            f"a{n}", f"found: {text}", toolUseResult={"status": "completed", "agentId": f"ag{n}"}
        )
        t.assistant(
            {"type": "text", "text": f"Here it is again: {text}"},
            mid=f"m{n}d",
            usage=_u(1, 1),
            stop="end_turn",
        )
    return t.save()


def _stored_text(trace: Any) -> str:
    parts = [
        json.dumps(trace.info.tags),
        json.dumps(trace.info.trace_metadata),
        str(trace.info.request_preview),
        str(trace.info.response_preview),
    ]
    for span in trace.data.spans:
        parts.append(json.dumps(span.to_dict(), default=str))
    return "\n".join(parts)


def _export(repo: Path, tmp_path: Path, contents: list[str], name: str) -> list[Any]:
    folder = tmp_path / name
    folder.mkdir()
    path = _session(folder / "sess-1.jsonl", contents)
    cfg = config_mod.load(repo, environ={"CLAUDETRACING_EXPERIMENT": name})
    exporter = Exporter(cfg, pipeline=Preparer(cfg))
    report = exporter.export_transcript(path, final=True)
    assert len(report.exported) == len(contents)
    found = stored_traces(cfg.tracking_uri, name)
    assert len(found) == len(contents)
    return found


def test_no_secret_reaches_the_store(repo: Path, local_store: Path, tmp_path: Path) -> None:
    rows = load_secrets()
    assert len(rows) >= 40
    found = _export(repo, tmp_path, [r["context"] for r in rows], "secrets")
    stored = "\n".join(_stored_text(t) for t in found)
    leaked = [r["provider"] for r in rows if leaks(r["secret"], stored)]
    caught = len(rows) - len(leaked)
    print(f"\nsecrets caught in stored traces: {caught}/{len(rows)} = {caught / len(rows):.0%}")
    assert leaked == []
    assert sum(int(t.info.tags["claudetracing.redactions"]) for t in found) >= len(rows) * 5


def test_ordinary_content_arrives_untouched(repo: Path, local_store: Path, tmp_path: Path) -> None:
    snippets = [s for s in load_benign() if len(s) < 2000]
    found = _export(repo, tmp_path, snippets, "benign")
    by_prompt = {}
    for trace in found:
        root = next(s for s in trace.data.spans if s.parent_id is None)
        by_prompt[root.inputs["prompt"]] = trace
    changed = [s for s in snippets if f"Please look at this:\n{s}" not in by_prompt]
    rate = len(changed) / len(snippets)
    print(
        f"\nbenign snippets changed in stored traces: {len(changed)}/{len(snippets)} = {rate:.0%}"
    )
    assert changed == []
    assert all(t.info.tags["claudetracing.redactions"] == "0" for t in found)


def test_metadata_only_keeps_structure_and_counts_but_no_content(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "meta"
    folder.mkdir()
    path = _session(folder / "sess-1.jsonl", ["the quarterly numbers are 42"])
    cfg = config_mod.load(
        repo, environ={"CLAUDETRACING_EXPERIMENT": "meta", "CLAUDETRACING_CONTENT": "metadata"}
    )
    Exporter(cfg, pipeline=Preparer(cfg)).export_transcript(path, final=True)
    (trace,) = stored_traces(cfg.tracking_uri, "meta")
    assert "quarterly" not in _stored_text(trace)
    assert len(trace.data.spans) == 1 + 4 + 3 + 2  # root, 4 LLM, 3 tools, subagent + its LLM
    assert trace.info.token_usage["input_tokens"] == 5
    assert trace.info.tags["claudetracing.content"] == "metadata"


def test_team_patterns_extend_the_rules_and_a_bad_one_is_refused(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    import pytest

    from claudetracing.core.errors import TracesError

    folder = tmp_path / "team"
    folder.mkdir()
    path = _session(folder / "sess-1.jsonl", ["customer ACME-12345678 called"])
    env = {
        "CLAUDETRACING_EXPERIMENT": "team",
        "CLAUDETRACING_REDACT_PATTERNS": json.dumps([r"ACME-\d{8}"]),
    }
    cfg = config_mod.load(repo, environ=env)
    Exporter(cfg, pipeline=Preparer(cfg)).export_transcript(path, final=True)
    (trace,) = stored_traces(cfg.tracking_uri, "team")
    assert "ACME-12345678" not in _stored_text(trace)
    assert "[REDACTED:custom]" in _stored_text(trace)
    bad = config_mod.load(repo, environ={"CLAUDETRACING_REDACT_PATTERNS": '["broken(["]'})
    with pytest.raises(TracesError, match="invalid redaction pattern"):
        Preparer(bad)
    shutil.rmtree(folder)
