"""Scripted Claude Code sessions, how to run them, and checks that their tools really ran."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .claude_cli import ClaudeRun, run_claude
from .messages_api import MessagesAPI, Scenario, Step, Subagent, Text, Thinking, ToolUse, Turn


@dataclass(frozen=True)
class Case:
    """A scenario factory (tool inputs need the repo's absolute path) plus its after-run check."""

    name: str
    description: str
    build: Callable[[Path], Scenario]
    verify: Callable[[Path, list[ClaudeRun]], None]


def _bash(command: str, description: str) -> ToolUse:
    return ToolUse("Bash", {"command": command, "description": description})


def _agent(description: str, prompt: str, **extra: Any) -> ToolUse:
    return ToolUse(
        "Agent",
        {"description": description, "prompt": prompt, "subagent_type": "general-purpose", **extra},
    )


def _tool_results(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All tool_result blocks of a transcript, in order."""
    out: list[dict[str, Any]] = []
    for line in lines:
        content = (line.get("message") or {}).get("content")
        if line.get("type") == "user" and isinstance(content, list):
            out += [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
    return out


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content)


# -- tool_call -----------------------------------------------------------------------------------
TOOL_CALL_PROMPT = "Run `echo hello` in the shell and tell me what it printed."


def build_tool_call(cwd: Path) -> Scenario:
    return Scenario(
        "tool_call",
        turns=(
            Turn(
                TOOL_CALL_PROMPT,
                (
                    Step((Text("I'll run that command."), _bash("echo hello", "Print hello"))),
                    Step((Text("The command printed: hello"),)),
                ),
            ),
        ),
    )


def verify_tool_call(cwd: Path, runs: list[ClaudeRun]) -> None:
    results = _tool_results(runs[0].transcript())
    assert [_result_text(r) for r in results] == ["hello"], results
    assert not results[0].get("is_error")


# -- subagent ------------------------------------------------------------------------------------
SUBAGENT_PROMPT = "Use a subagent to list the files in this repository."
SUBAGENT_MARKER = "SUBAGENT-LS"


def build_subagent(cwd: Path) -> Scenario:
    return Scenario(
        "subagent",
        turns=(
            Turn(
                SUBAGENT_PROMPT,
                (
                    Step(
                        (
                            Text("I'll delegate this to a subagent."),
                            _agent(
                                "List repository files", f"{SUBAGENT_MARKER}: run ls and report."
                            ),
                        )
                    ),
                    Step((Text("The subagent found README.md."),)),
                ),
            ),
        ),
        subagents=(
            Subagent(
                SUBAGENT_MARKER,
                (
                    Step((_bash("ls", "List files"),)),
                    Step((Text("The repository contains README.md."),)),
                ),
            ),
        ),
    )


def verify_subagent(cwd: Path, runs: list[ClaudeRun]) -> None:
    (lines,) = runs[0].subagent_transcripts().values()
    assert "README.md" in _result_text(_tool_results(lines)[0])
    (meta,) = runs[0].subagent_metas().values()
    assert meta["agentType"] == "general-purpose", meta


# -- parallel_subagents --------------------------------------------------------------------------
PARALLEL_PROMPT = "Use two subagents in parallel: one writes alpha.txt, one reads README.md."
ALPHA_MARKER = "SUBAGENT-ALPHA"
BETA_MARKER = "SUBAGENT-BETA"


def build_parallel_subagents(cwd: Path) -> Scenario:
    return Scenario(
        "parallel_subagents",
        turns=(
            Turn(
                PARALLEL_PROMPT,
                (
                    Step(
                        (
                            Thinking("Two independent tasks: run them as parallel subagents."),
                            Text("Starting two subagents."),
                            _agent("Write alpha file", f"{ALPHA_MARKER}: write alpha.txt."),
                            # a model override gives this subagent a second model in modelUsage
                            _agent(
                                "Read the readme", f"{BETA_MARKER}: read README.md.", model="haiku"
                            ),
                        )
                    ),
                    Step((Text("Both subagents finished."),)),
                ),
            ),
        ),
        subagents=(
            Subagent(
                ALPHA_MARKER,
                (
                    Step((_bash("echo alpha > alpha.txt", "Write alpha.txt"),)),
                    Step((Text("Wrote alpha.txt."),)),
                ),
            ),
            Subagent(
                BETA_MARKER,
                (
                    Step((ToolUse("Read", {"file_path": str(cwd / "README.md")}),)),
                    Step((Text("README.md describes widgets."),)),
                ),
            ),
        ),
    )


def verify_parallel_subagents(cwd: Path, runs: list[ClaudeRun]) -> None:
    assert (cwd / "alpha.txt").read_text() == "alpha\n"
    assert len(runs[0].subagent_transcripts()) == 2
    descriptions = sorted(m["description"] for m in runs[0].subagent_metas().values())
    assert descriptions == ["Read the readme", "Write alpha file"], descriptions


# -- write_edit ----------------------------------------------------------------------------------
WRITE_EDIT_PROMPT = "Create notes.txt with a first line, then add a second line to it."


def build_write_edit(cwd: Path) -> Scenario:
    notes = str(cwd / "notes.txt")
    return Scenario(
        "write_edit",
        turns=(
            Turn(
                WRITE_EDIT_PROMPT,
                (
                    Step((ToolUse("Write", {"file_path": notes, "content": "first line\n"}),)),
                    Step(
                        (
                            Text("Now adding the second line."),
                            ToolUse(
                                "Edit",
                                {
                                    "file_path": notes,
                                    "old_string": "first line\n",
                                    "new_string": "first line\nsecond line\n",
                                },
                            ),
                        )
                    ),
                    Step((Text("notes.txt now has two lines."),)),
                ),
            ),
        ),
    )


def verify_write_edit(cwd: Path, runs: list[ClaudeRun]) -> None:
    assert (cwd / "notes.txt").read_text() == "first line\nsecond line\n"
    results = _tool_results(runs[0].transcript())
    assert len(results) == 2 and not any(r.get("is_error") for r in results), results


# -- failing_bash --------------------------------------------------------------------------------
FAILING_PROMPT = "Run a command that fails with exit code 3."


def build_failing_bash(cwd: Path) -> Scenario:
    return Scenario(
        "failing_bash",
        turns=(
            Turn(
                FAILING_PROMPT,
                (
                    Step((_bash("echo oops >&2; exit 3", "Fail on purpose"),)),
                    Step((Text("The command failed with exit code 3."),)),
                ),
            ),
        ),
    )


def verify_failing_bash(cwd: Path, runs: list[ClaudeRun]) -> None:
    (result,) = _tool_results(runs[0].transcript())
    assert result.get("is_error") is True, result
    assert "3" in _result_text(result), result


# -- resume --------------------------------------------------------------------------------------
RESUME_PROMPT_1 = "Turn one: create the file turn1.txt."
RESUME_PROMPT_2 = "Turn two: create the file turn2.txt."


def build_resume(cwd: Path) -> Scenario:
    return Scenario(
        "resume",
        turns=(
            Turn(
                RESUME_PROMPT_1,
                (
                    Step((_bash("touch turn1.txt", "Create turn1.txt"),)),
                    Step((Text("Created turn1.txt."),)),
                ),
            ),
            Turn(
                RESUME_PROMPT_2,
                (
                    Step(
                        (
                            Text("Creating the second file."),
                            _bash("touch turn2.txt", "Create turn2.txt"),
                        )
                    ),
                    Step((Text("Created turn2.txt."),)),
                ),
            ),
        ),
    )


def verify_resume(cwd: Path, runs: list[ClaudeRun]) -> None:
    assert (cwd / "turn1.txt").exists() and (cwd / "turn2.txt").exists()
    assert len(runs) == 2 and runs[0].session_id == runs[1].session_id
    prompts = [
        line["message"]["content"]
        for line in runs[1].transcript()
        if line.get("type") == "user"
        and isinstance((line.get("message") or {}).get("content"), str)
    ]
    assert prompts == [RESUME_PROMPT_1, RESUME_PROMPT_2], prompts


CASES: dict[str, Case] = {
    c.name: c
    for c in (
        Case(
            "tool_call", "Bash `echo hello`, then a text answer.", build_tool_call, verify_tool_call
        ),
        Case(
            "subagent",
            "Agent tool (general-purpose) whose subagent runs Bash `ls`; main agent answers.",
            build_subagent,
            verify_subagent,
        ),
        Case(
            "parallel_subagents",
            "Thinking + two Agent calls in one response (one with model=haiku); Bash and Read.",
            build_parallel_subagents,
            verify_parallel_subagents,
        ),
        Case(
            "write_edit",
            "Write notes.txt, Edit it, then answer.",
            build_write_edit,
            verify_write_edit,
        ),
        Case(
            "failing_bash",
            "Bash exits 3: the tool_result has is_error true; then the model answers.",
            build_failing_bash,
            verify_failing_bash,
        ),
        Case(
            "resume",
            "Two turns in one session: `claude -p`, then `--resume SESSION_ID`; a Bash call each.",
            build_resume,
            verify_resume,
        ),
    )
}


def run_case(
    case: Case,
    cwd: Path,
    home: Path,
    api: MessagesAPI,
    *,
    extra_env: Mapping[str, str | None] | None = None,
    timeout: float = 120,
) -> list[ClaudeRun]:
    """Run every turn of a case (later turns with --resume), check each run, then verify."""
    cwd = Path(os.path.realpath(cwd))
    scenario = case.build(cwd)
    api.set_scenario(scenario)
    runs: list[ClaudeRun] = []
    for turn in scenario.turns:
        resume = runs[0].session_id if runs else None
        run = run_claude(
            turn.prompt,
            cwd,
            home,
            api.base_url,
            resume=resume,
            extra_env=extra_env,
            timeout=timeout,
        )
        runs.append(run.check())
    case.verify(cwd, runs)
    return runs
