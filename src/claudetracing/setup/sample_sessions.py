"""Write realistic Claude Code transcripts: the demo's sample sessions, and benchmark input."""

from __future__ import annotations

import json
import uuid as uuid_mod
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from claudetracing.core.paths import project_key

MODEL = "claude-sonnet-4-5-20250929"
VERSION = "2.1.197"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SessionWriter:
    """Appends lines the way Claude Code does: one line per content block of a response."""

    def __init__(
        self,
        path: Path,
        *,
        session_id: str,
        cwd: str,
        start: datetime,
        agent_id: str | None = None,
        seed: int = 0,
        git_branch: str = "main",
    ) -> None:
        self.path = path
        self.git_branch = git_branch
        self.session_id = session_id
        self.cwd = cwd
        self.clock = start
        self.agent_id = agent_id
        self.parent: str | None = None
        self.counter = seed * 1000
        self.lines: list[str] = []
        path.parent.mkdir(parents=True, exist_ok=True)

    def _next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:06d}{self.session_id[:8]}{self.agent_id or ''}"

    def _uuid(self) -> str:
        self.counter += 1
        # Deterministic across machines and folders: golden outputs depend on it.
        key = f"{self.session_id}:{self.agent_id or 'main'}:{self.counter}"
        return str(uuid_mod.uuid5(uuid_mod.NAMESPACE_URL, key))

    def tick(self, ms: int) -> None:
        self.clock += timedelta(milliseconds=ms)

    def _write(self, record: dict[str, Any]) -> str:
        line_uuid = self._uuid()
        base = {
            "parentUuid": self.parent,
            "isSidechain": self.agent_id is not None,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": VERSION,
            "gitBranch": self.git_branch,
        }
        if self.agent_id:
            base["agentId"] = self.agent_id
        full = {**base, **record, "uuid": line_uuid, "timestamp": _stamp(self.clock)}
        self.lines.append(json.dumps(full, ensure_ascii=False))
        self.parent = line_uuid
        return line_uuid

    def prompt(self, text: str) -> None:
        self.tick(1500)
        self._write({"type": "user", "message": {"role": "user", "content": text}})

    def respond(
        self,
        blocks: list[dict[str, Any]],
        *,
        usage: dict[str, Any],
        stop_reason: str,
        model: str = MODEL,
        took_ms: int = 2400,
    ) -> list[str]:
        """One API response, written as one line per content block sharing the message id."""
        message_id = self._next_id("msg_")
        request_id = self._next_id("req_")
        tool_ids = []
        for index, block in enumerate(blocks):
            self.tick(took_ms if index == 0 else 40)
            if block.get("type") == "tool_use" and "id" not in block:
                block = {**block, "id": self._next_id("toolu_")}
            if block.get("type") == "tool_use":
                tool_ids.append(block["id"])
            last = index == len(blocks) - 1
            line_usage = dict(usage) if last else {**usage, "output_tokens": 1}
            self._write(
                {
                    "type": "assistant",
                    "requestId": request_id,
                    "message": {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [block],
                        "stop_reason": stop_reason if last else None,
                        "stop_sequence": None,
                        "usage": line_usage,
                    },
                }
            )
        return tool_ids

    def tool_result(
        self,
        tool_use_id: str,
        content: str,
        *,
        is_error: bool = False,
        result: dict[str, Any] | None = None,
        took_ms: int = 300,
    ) -> None:
        self.tick(took_ms)
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": content,
        }
        if is_error:
            block["is_error"] = True
        self._write(
            {
                "type": "user",
                "message": {"role": "user", "content": [block]},
                "toolUseResult": result if result is not None else {"stdout": content},
            }
        )

    def other(self, record: dict[str, Any]) -> None:
        self.lines.append(json.dumps(record))

    def save(self) -> Path:
        self.path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return self.path


def usage(n: int, *, cache_read: int = 0, cache_5m: int = 0, cache_1h: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": 3 + n,
        "output_tokens": 40 + 7 * n,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_5m + cache_1h,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_5m,
            "ephemeral_1h_input_tokens": cache_1h,
        },
        "service_tier": "standard",
    }


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _tool(name: str, **tool_input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "input": tool_input}


def write_demo_sessions(projects_dir: Path, cwd: str, start: datetime) -> list[Path]:
    """Two sessions: file edits, a subagent that uses tools, a failing command, several turns."""
    folder = projects_dir / project_key(cwd)
    sid = "5a3f7c2e-0d1b-4e8a-9c6f-1b2d3e4f5a6b"
    main = SessionWriter(folder / f"{sid}.jsonl", session_id=sid, cwd=cwd, start=start)
    main.other({"type": "summary", "summary": "Greeting module", "leafUuid": None})

    main.prompt("Create hello.py with a greet(name) function, then make it shout.")
    (write_id,) = main.respond(
        [
            _text("I'll create the file."),
            _tool(
                "Write",
                file_path=f"{cwd}/hello.py",
                content="def greet(name):\n    return f'hi {name}'\n",
            ),
        ],
        usage=usage(1, cache_5m=5200),
        stop_reason="tool_use",
    )
    main.tool_result(
        write_id,
        f"File created successfully at: {cwd}/hello.py",
        result={"type": "create", "filePath": f"{cwd}/hello.py"},
    )
    (edit_id,) = main.respond(
        [
            _tool(
                "Edit",
                file_path=f"{cwd}/hello.py",
                old_string="f'hi {name}'",
                new_string="f'HI {name.upper()}!'",
            )
        ],
        usage=usage(2, cache_read=5200, cache_5m=300),
        stop_reason="tool_use",
    )
    main.tool_result(
        edit_id,
        f"The file {cwd}/hello.py has been updated.",
        result={"filePath": f"{cwd}/hello.py", "oldString": "f'hi {name}'"},
    )
    main.respond(
        [_text("Done: `greet` now shouts the name.")],
        usage=usage(3, cache_read=5500),
        stop_reason="end_turn",
    )

    main.prompt("Use a subagent to check which Python files exist and how big they are.")
    (agent_id_tool,) = main.respond(
        [
            _tool(
                "Agent",
                description="Survey Python files",
                subagent_type="general-purpose",
                prompt="List the Python files in the repository with their sizes.",
            )
        ],
        usage=usage(4, cache_read=5500, cache_1h=900),
        stop_reason="tool_use",
    )
    agent_id = "a1b2c3d4e5f6a7b8"
    sub_path = folder / sid / "subagents" / f"agent-{agent_id}.jsonl"
    sub = SessionWriter(
        sub_path, session_id=sid, cwd=cwd, start=main.clock, agent_id=agent_id, seed=7
    )
    sub.prompt("List the Python files in the repository with their sizes.")
    (ls_id,) = sub.respond(
        [_tool("Bash", command="ls -l *.py", description="List Python files")],
        usage=usage(5, cache_5m=2100),
        stop_reason="tool_use",
        model="claude-haiku-4-5-20251001",
    )
    sub.tool_result(
        ls_id,
        "-rw-r--r-- 1 dev dev 52 hello.py",
        result={"stdout": "-rw-r--r-- 1 dev dev 52 hello.py", "stderr": "", "interrupted": False},
    )
    (wc_id,) = sub.respond(
        [_tool("Bash", command="wc -l hello.py", description="Count lines")],
        usage=usage(6, cache_read=2100),
        stop_reason="tool_use",
        model="claude-haiku-4-5-20251001",
    )
    sub.tool_result(wc_id, "2 hello.py")
    sub.respond(
        [_text("One Python file: hello.py, 52 bytes, 2 lines.")],
        usage=usage(7, cache_read=2200),
        stop_reason="end_turn",
        model="claude-haiku-4-5-20251001",
    )
    sub.save()
    (folder / sid / "subagents" / f"agent-{agent_id}.meta.json").write_text(
        json.dumps(
            {
                "agentType": "general-purpose",
                "description": "Survey Python files",
                "toolUseId": agent_id_tool,
                "spawnDepth": 1,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    main.clock = sub.clock
    main.tool_result(
        agent_id_tool,
        "One Python file: hello.py, 52 bytes, 2 lines.",
        result={
            "status": "completed",
            "agentId": agent_id,
            "prompt": "List the Python files in the repository with their sizes.",
            "totalDurationMs": 9100,
            "totalTokens": 2400,
        },
        took_ms=50,
    )
    main.respond(
        [_text("The repository has a single Python file, hello.py (2 lines).")],
        usage=usage(8, cache_read=6400),
        stop_reason="end_turn",
    )

    main.prompt("Run the tests.")
    (bash_id,) = main.respond(
        [
            {
                "type": "thinking",
                "thinking": "There is no test suite yet; running pytest will tell.",
                "signature": "sig",
            },
            _tool("Bash", command="python -m pytest -q", description="Run tests"),
        ],
        usage=usage(9, cache_read=6600),
        stop_reason="tool_use",
    )
    main.tool_result(
        bash_id,
        "Exit code 5\nno tests ran in 0.01s",
        is_error=True,
        result={"stdout": "no tests ran in 0.01s", "stderr": "", "interrupted": False},
    )
    main.respond(
        [_text("pytest found no tests (exit code 5). Shall I add a test for greet()?")],
        usage=usage(10, cache_read=6700),
        stop_reason="end_turn",
    )
    paths = [main.save()]

    sid2 = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
    second = SessionWriter(
        folder / f"{sid2}.jsonl",
        session_id=sid2,
        cwd=cwd,
        start=start + timedelta(minutes=30),
        seed=3,
    )
    second.prompt("What does greet return for 'ada'?")
    second.respond(
        [_text("It returns 'HI ADA!'.")], usage=usage(11, cache_5m=4800), stop_reason="end_turn"
    )
    paths.append(second.save())
    return paths


def write_synthetic_session(
    path: Path,
    *,
    turns: int,
    tools_per_turn: int = 3,
    output_chars: int = 2_000,
    subagent_every: int = 5,
    start: datetime | None = None,
) -> Path:
    """A long session for benchmarks: tool calls, large outputs, a subagent every few turns."""
    sid = path.stem
    cwd = "/work/repo"
    writer = SessionWriter(
        path, session_id=sid, cwd=cwd, start=start or datetime(2026, 11, 1, tzinfo=timezone.utc)
    )
    payload = ("x" * 79 + "\n") * max(1, output_chars // 80)
    for n in range(turns):
        writer.prompt(f"Step {n}: inspect and fix module_{n}.py")
        for t in range(tools_per_turn):
            if subagent_every and n % subagent_every == 0 and t == 0:
                (tool_id,) = writer.respond(
                    [
                        _tool(
                            "Agent",
                            description=f"Explore {n}",
                            subagent_type="Explore",
                            prompt=f"Explore module_{n}.py",
                        )
                    ],
                    usage=usage(n + t),
                    stop_reason="tool_use",
                )
                agent_id = f"b{n:015d}"
                sub = SessionWriter(
                    path.parent / sid / "subagents" / f"agent-{agent_id}.jsonl",
                    session_id=sid,
                    cwd=cwd,
                    start=writer.clock,
                    agent_id=agent_id,
                    seed=n + 1,
                )
                sub.prompt(f"Explore module_{n}.py")
                (sub_tool,) = sub.respond(
                    [_tool("Grep", pattern="def ", path=cwd)],
                    usage=usage(t),
                    stop_reason="tool_use",
                )
                sub.tool_result(sub_tool, payload)
                sub.respond([_text("Found it.")], usage=usage(t + 1), stop_reason="end_turn")
                sub.save()
                writer.clock = sub.clock
                writer.tool_result(
                    tool_id, "Found it.", result={"status": "completed", "agentId": agent_id}
                )
            else:
                (tool_id,) = writer.respond(
                    [_text("Looking."), _tool("Bash", command=f"cat module_{n}_{t}.py")],
                    usage=usage(n + t, cache_read=1000 + n),
                    stop_reason="tool_use",
                )
                writer.tool_result(tool_id, payload, is_error=(t == 2 and n % 7 == 0))
        writer.respond([_text(f"Fixed module_{n}.py.")], usage=usage(n), stop_reason="end_turn")
    return writer.save()
