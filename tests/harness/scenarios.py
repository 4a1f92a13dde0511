"""Scripted Claude Code sessions, how to run them, and checks that their tools really ran."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .claude_cli import ClaudeRun, run_claude
from .hooks import RECORDED_EVENTS, install_recording_hooks, read_hook_log
from .messages_api import MessagesAPI, Scenario, Step, Subagent, Text, Thinking, ToolUse, Turn
from .versions import ClaudeCode, current


@dataclass(frozen=True)
class Case:
    """A scenario factory (tool inputs need the repo's absolute path) plus its after-run check.

    ``record_hooks``: run_case adds hooks (in ``.claude/settings.local.json``, beside any the
    project has) that log every payload to :func:`hook_log_path`, for verify to read.
    ``interrupt``: for the last turn, when to end the session with SIGINT (given the hook log's
    records and the version); claude exits 0 and prints its result.
    """

    name: str
    description: str
    build: Callable[[Path], Scenario]
    verify: Callable[[Path, list[ClaudeRun]], None]
    record_hooks: bool = False
    interrupt: Callable[[list[dict[str, Any]], ClaudeCode], bool] | None = None


CASE_HOOK_EVENTS = (*RECORDED_EVENTS, "SubagentStart")


def _interrupt_due(
    when: Callable[[list[dict[str, Any]], ClaudeCode], bool], log: Path, claude: ClaudeCode
) -> bool:
    return when(read_hook_log(log), claude)


def hook_log_path(cwd: Path) -> Path:
    """Where a case with ``record_hooks`` logs hook payloads (outside the repository)."""
    return cwd.parent / f"{cwd.name}-hooks" / "hooks.jsonl"


def evidence_dir(cwd: Path) -> Path:
    """Where a case's tools leave evidence for verify (outside the repository)."""
    return cwd.parent / f"{cwd.name}-evidence"


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


# -- background subagents (2.1.3xx runs them in the background; 2.1.197 inside the turn) ---------
def _agent_results(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``toolUseResult`` of every Agent tool result in a main transcript, in order."""
    return [
        line["toolUseResult"]
        for line in lines
        if line.get("type") == "user"
        and isinstance(line.get("toolUseResult"), dict)
        and "agentId" in line["toolUseResult"]
    ]


def _task_notifications(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User records that report a background task's end (2.1.3xx)."""
    return [
        line
        for line in lines
        if line.get("type") == "user"
        and (line.get("origin") or {}).get("kind") == "task-notification"
    ]


def _hooks(cwd: Path, event: str) -> list[dict[str, Any]]:
    """(time, payload) records of one hook event, in the order they ran."""
    return [r for r in read_hook_log(hook_log_path(cwd)) if r["event"] == event]


def _check_launches(run: ClaudeRun, count: int) -> list[dict[str, Any]]:
    """The Agent results say how each version ran its subagents; returns them."""
    results = _agent_results(run.transcript())
    assert len(results) == count, results
    notified = _task_notifications(run.transcript())
    if run.claude.background_agents:
        assert all(r["isAsync"] is True and r["status"] == "async_launched" for r in results)
        # each subagent's end is reported by a <task-notification> record naming it
        ids = {r["agentId"] for r in results}
        assert {_tag(n, "task-id") for n in notified} == ids, notified
    else:
        assert all(r["status"] == "completed" and "isAsync" not in r for r in results), results
        assert notified == []
    return results


def _tag(line: dict[str, Any], tag: str) -> str:
    content = (line.get("message") or {}).get("content")
    text = content if isinstance(content, str) else _result_text({"content": content})
    start = text.index(f"<{tag}>") + len(tag) + 2
    return text[start : text.index(f"</{tag}>", start)]


def _bash_time(cwd: Path, name: str) -> float:
    return float((evidence_dir(cwd) / f"{name}.time").read_text())


def _timed_bash(cwd: Path, name: str) -> ToolUse:
    """Bash that copies the running subagents' meta.json files and notes when it ran."""
    out = evidence_dir(cwd)
    metas = '"$HOME"/.claude/projects/*/*/subagents/agent-*.meta.json'
    command = (
        f"mkdir -p {out}/{name}-meta && cp {metas} {out}/{name}-meta/ && "
        f"date +%s.%N > {out}/{name}.time && echo {name} done"
    )
    return _bash(command, f"Work for {name}")


def _meta_while_running(cwd: Path, name: str, agent_id: str) -> dict[str, Any]:
    path = evidence_dir(cwd) / f"{name}-meta" / f"agent-{agent_id}.meta.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


SLOW_PROMPT = "Use a subagent to survey the repository; it takes a while."
SLOW_MARKER = "SUBAGENT-SLOW"
SLOW_DELAY = 6.0  # the subagent's first response: the parent's turn ends long before it
SLOW_MARGIN = 3.0  # how long after the launching turn's Stop the subagent must still work


def build_background_slow(cwd: Path) -> Scenario:
    return Scenario(
        "background_slow",
        turns=(
            Turn(
                SLOW_PROMPT,
                (
                    Step(
                        (
                            Text("Delegating the survey."),
                            _agent("Survey the repository", f"{SLOW_MARKER}: survey the files."),
                        )
                    ),
                    Step((Text("The survey is under way."),)),
                ),
            ),
        ),
        subagents=(
            Subagent(
                SLOW_MARKER,
                (Step((_timed_bash(cwd, "slow"),)), Step((Text("Survey done: README.md."),))),
                delay=SLOW_DELAY,
            ),
        ),
    )


def verify_background_slow(cwd: Path, runs: list[ClaudeRun]) -> None:
    run = runs[0]
    (launch,) = _check_launches(run, 1)
    agent_id = launch["agentId"]
    (stop, *later_stops) = _hooks(cwd, "Stop")
    (subagent_stop,) = _hooks(cwd, "SubagentStop")
    ran_at = _bash_time(cwd, "slow")
    meta_running = _meta_while_running(cwd, "slow", agent_id)
    meta_after = run.subagent_metas()[agent_id]
    if run.claude.background_agents:
        # the launching turn's Stop fires first and lists the subagent as still running
        assert stop["time"] + SLOW_MARGIN < ran_at < subagent_stop["time"]
        assert stop["payload"]["background_tasks"] == [
            {
                "id": agent_id,
                "type": "subagent",
                "status": "running",
                "description": "Survey the repository",
                "agent_type": "general-purpose",
            }
        ]
        # the task-notification turn has a Stop of its own, with nothing left running
        assert [s["payload"]["background_tasks"] for s in later_stops] == [[]]
        # meta.json gains "finished": true only when the subagent ends
        assert "finished" not in meta_running and meta_after["finished"] is True
        assert meta_after["requestShape"] == "background"
    else:
        # the subagent runs inside the turn: its work and SubagentStop come before Stop
        assert ran_at < subagent_stop["time"] < stop["time"] and later_stops == []
        assert stop["payload"]["background_tasks"] == []
        assert meta_running == meta_after and "finished" not in meta_after


PARALLEL_BG_PROMPT = "Use two subagents at once: a quick check and a slow survey."
QUICK_MARKER = "SUBAGENT-QUICK"
SLOWER_MARKER = "SUBAGENT-SLOWER"


def build_background_parallel(cwd: Path) -> Scenario:
    return Scenario(
        "background_parallel",
        turns=(
            Turn(
                PARALLEL_BG_PROMPT,
                (
                    Step(
                        (
                            Text("Starting both."),
                            _agent("Quick check", f"{QUICK_MARKER}: check quickly."),
                            _agent("Slow survey", f"{SLOWER_MARKER}: survey slowly."),
                        )
                    ),
                    Step((Text("Both are running."),)),
                ),
            ),
        ),
        subagents=(
            Subagent(
                QUICK_MARKER, (Step((_timed_bash(cwd, "quick"),)), Step((Text("Quick: ok."),)))
            ),
            Subagent(
                SLOWER_MARKER,
                (Step((_timed_bash(cwd, "slower"),)), Step((Text("Slow: ok."),))),
                delay=SLOW_DELAY,
            ),
        ),
    )


def verify_background_parallel(cwd: Path, runs: list[ClaudeRun]) -> None:
    run = runs[0]
    _check_launches(run, 2)
    ids = {m["description"]: agent_id for agent_id, m in run.subagent_metas().items()}
    stops = _hooks(cwd, "Stop")
    ended = [s["payload"]["agent_id"] for s in _hooks(cwd, "SubagentStop")]
    # the quicker subagent ends first in both versions
    assert ended == [ids["Quick check"], ids["Slow survey"]], ended
    assert _bash_time(cwd, "quick") + SLOW_MARGIN < _bash_time(cwd, "slower")
    assert all(m.get("finished", True) for m in run.subagent_metas().values())
    if run.claude.background_agents:
        first = stops[0]
        running = {t["id"]: t["status"] for t in first["payload"]["background_tasks"]}
        # the slow one is surely still running at the first Stop (the quick one may be too)
        assert running.get(ids["Slow survey"]) == "running", first["payload"]
        assert first["time"] + SLOW_MARGIN < _bash_time(cwd, "slower")
        # one notification turn per subagent (or one for both, if they ended together)
        assert 2 <= len(stops) <= 3 and stops[-1]["payload"]["background_tasks"] == []
        assert all(m["finished"] is True for m in run.subagent_metas().values())
    else:
        (stop,) = stops
        assert _bash_time(cwd, "slower") < stop["time"]
        assert stop["payload"]["background_tasks"] == []


FORK_PROMPT = "Fork yourself to count the files in this repository."
FORK_MARKER = "FORK-COUNT"


def build_fork(cwd: Path) -> Scenario:
    return Scenario(
        "fork",
        turns=(
            Turn(
                FORK_PROMPT,
                (
                    Step(
                        (
                            Text("Forking to count."),
                            ToolUse(
                                "Agent",
                                {
                                    "description": "Count files",
                                    "prompt": f"{FORK_MARKER}: count the files.",
                                    "subagent_type": "fork",
                                },
                            ),
                        )
                    ),
                    Step((Text("The fork is counting."),)),
                ),
            ),
        ),
        subagents=(
            Subagent(
                FORK_MARKER,
                (
                    Step((_bash("ls README.md > fork-count.txt", "Count files"),)),
                    Step((Text("Counted: 1 file."),)),
                ),
            ),
        ),
    )


def verify_fork(cwd: Path, runs: list[ClaudeRun]) -> None:
    run = runs[0]
    if run.claude.fork_subagents:
        (launch,) = _check_launches(run, 1)
        assert (cwd / "fork-count.txt").read_text() == "README.md\n"
        lines = run.subagent_transcripts()[launch["agentId"]]
        # the fork's file points at the parent's history instead of copying it, then repeats
        # the Agent call, the "Fork started" result with the directive, and the fork's own work
        ref = lines[0]
        assert ref["type"] == "fork-context-ref", ref
        assert ref["agentId"] == launch["agentId"] and ref["parentSessionId"] == run.session_id
        assert isinstance(ref["contextLength"], int) and ref["parentLastUuid"]
        started, counted = _tool_results(lines)
        assert _result_text(started).startswith("Fork started") and not counted.get("is_error")
        meta = run.subagent_metas()[launch["agentId"]]
        assert meta["agentType"] == "fork" and meta["isFork"] is True, meta
        assert meta["finished"] is True, meta
    else:
        # 2.1.197 has no fork agent type: the Agent call fails and no subagent runs
        (result,) = _tool_results(run.transcript())
        assert result.get("is_error") is True and "fork" in _result_text(result), result
        assert run.subagent_transcripts() == {} and not (cwd / "fork-count.txt").exists()


ENDED_PROMPT = "Start a long survey in a subagent."
ENDED_MARKER = "SUBAGENT-ENDLESS"
ENDED_DELAY = 60.0  # far longer than the session lasts


def build_session_ended_while_running(cwd: Path) -> Scenario:
    return Scenario(
        "session_ended_while_running",
        turns=(
            Turn(
                ENDED_PROMPT,
                (
                    Step(
                        (
                            Text("Starting the long survey."),
                            _agent("Long survey", f"{ENDED_MARKER}: survey everything."),
                        )
                    ),
                    Step((Text("The survey runs in the background."),)),
                ),
            ),
        ),
        subagents=(
            Subagent(
                ENDED_MARKER,
                (Step((_timed_bash(cwd, "endless"),)), Step((Text("Never said."),))),
                delay=ENDED_DELAY,
            ),
        ),
    )


def end_while_running(hooks: list[dict[str, Any]], claude: ClaudeCode) -> bool:
    """SIGINT once the subagent is under way: after the launching turn's Stop where subagents
    run in the background, else once the subagent has started."""
    event = "Stop" if claude.background_agents else "SubagentStart"
    return any(r["event"] == event and time.time() > r["time"] + 1.0 for r in hooks)


def verify_session_ended_while_running(cwd: Path, runs: list[ClaudeRun]) -> None:
    run = runs[0]
    assert run.returncode == 0, run.stderr
    if run.claude.background_agents:
        # the turn had ended: claude exits 0 with its normal result (when it prints one)
        assert run.result is None or (
            run.result["is_error"] is False and run.result["subtype"] == "success"
        ), run.result
    else:
        assert run.result is not None, run.stderr
        # the subagent ran inside the turn: SIGINT aborts the turn itself
        assert run.result["is_error"] is True, run.result
        assert run.result["subtype"] == "error_during_execution"
        assert run.result["terminal_reason"] == "aborted_tools"
    (launch,) = _check_launches_ended(run)
    agent_id = launch["agentId"]
    (end,) = _hooks(cwd, "SessionEnd")
    assert end["payload"]["reason"] == "other", end
    # the subagent never got its first answer: no SubagentStop, no work, no "finished"
    assert _hooks(cwd, "SubagentStop") == []
    assert not (evidence_dir(cwd) / "endless.time").exists()
    lines = run.subagent_transcripts()[agent_id]
    assert [line for line in lines if line.get("type") == "assistant"] == []
    meta = run.subagent_metas()[agent_id]
    assert "finished" not in meta, meta
    if run.claude.background_agents:
        (stop,) = _hooks(cwd, "Stop")
        assert [t["status"] for t in stop["payload"]["background_tasks"]] == ["running"]
        assert _task_notifications(run.transcript()) == []
        assert launch["status"] == "async_launched"


def _check_launches_ended(run: ClaudeRun) -> list[dict[str, Any]]:
    """Agent results of a session ended while its subagent ran (2.1.197: none was written)."""
    results = _agent_results(run.transcript())
    if run.claude.background_agents:
        assert len(results) == 1, results
        return results
    # the aborted Agent call got no result naming its agent: find it by its meta.json
    assert results == [], results
    (agent_id,) = run.subagent_metas()
    return [{"agentId": agent_id, "status": None}]


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
        Case(
            "background_slow",
            "A subagent that runs Bash still working seconds after its launching turn's Stop.",
            build_background_slow,
            verify_background_slow,
            record_hooks=True,
        ),
        Case(
            "background_parallel",
            "Two subagents in one response, one quick and one slow.",
            build_background_parallel,
            verify_background_parallel,
            record_hooks=True,
        ),
        Case(
            "fork",
            "A fork subagent (subagent_type fork) that runs Bash.",
            build_fork,
            verify_fork,
        ),
        Case(
            "session_ended_while_running",
            "SIGINT ends the session while a background subagent still waits for its model.",
            build_session_ended_while_running,
            verify_session_ended_while_running,
            record_hooks=True,
            interrupt=end_while_running,
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
    claude: ClaudeCode | None = None,
) -> list[ClaudeRun]:
    """Run every turn of a case (later turns with --resume), check each run, then verify.

    ``claude``: the Claude Code version to run (default: versions.current())."""
    cwd = Path(os.path.realpath(cwd))
    evidence_dir(cwd).mkdir(parents=True, exist_ok=True)
    log = hook_log_path(cwd)
    if case.record_hooks:
        install_recording_hooks(
            cwd, log, events=CASE_HOOK_EVENTS, settings_file="settings.local.json"
        )
    scenario = case.build(cwd)
    api.set_scenario(scenario)
    runs: list[ClaudeRun] = []
    version = claude or current()
    for i, turn in enumerate(scenario.turns):
        resume = runs[0].session_id if runs else None
        interrupt = None
        if case.interrupt is not None and i == len(scenario.turns) - 1:
            interrupt = partial(_interrupt_due, case.interrupt, log, version)
        run = run_claude(
            turn.prompt,
            cwd,
            home,
            api.base_url,
            resume=resume,
            extra_env=extra_env,
            timeout=timeout,
            claude=version,
            interrupt_when=interrupt,
        )
        if interrupt is not None and run.result is None:
            # Interrupted while it waits for background work, `claude -p` sometimes exits 0
            # without printing its result (2.1.328, about one run in three): the session is
            # still named by every hook payload.
            ids = {r["payload"].get("session_id") for r in read_hook_log(log)}
            (run.known_session_id,) = ids - {None}
        runs.append(run if interrupt is not None else run.check())
    case.verify(cwd, runs)
    return runs
