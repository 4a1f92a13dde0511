"""Run the real Claude Code CLI (`claude -p`) offline against a local Messages API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .versions import DEFAULT, ClaudeCode, current

DEFAULT_CLAUDE_BIN = DEFAULT.path
CLAUDE_VERSION = DEFAULT.version
INSTALL_HINT = f"{DEFAULT.install_hint} (or point CLAUDE_BIN at a claude executable)"
DEFAULT_TOOLS = ("Bash", "Agent", "Write", "Edit", "Read")
# Claude Code truncates long project folder names (the constant is 200 in 2.1.197's source)
_MAX_DIR_NAME = 200


def claude_bin() -> str:
    """The claude executable of a test that is not parametrized by version: $CLAUDE_BIN, else
    the oldest pinned version's install (see versions.py)."""
    return current().path


def _java_hash(text: str) -> int:
    """Claude Code's 32-bit string hash (over UTF-16 code units, like JS charCodeAt)."""
    h = 0
    data = text.encode("utf-16-le")
    for i in range(0, len(data), 2):
        h = (h * 31 + int.from_bytes(data[i : i + 2], "little")) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def project_dir_name(cwd: str | os.PathLike[str]) -> str:
    """Folder name under projects/: every non-[a-zA-Z0-9] char becomes '-' (long names hashed)."""
    raw = str(cwd)
    # JS replaces per UTF-16 code unit: a character beyond the BMP becomes two dashes
    name = "".join(
        c if c.isascii() and c.isalnum() else "--" if ord(c) > 0xFFFF else "-" for c in raw
    )
    if len(name) <= _MAX_DIR_NAME:
        return name
    return f"{name[:_MAX_DIR_NAME]}-{_base36(abs(_java_hash(raw)))}"


def config_dir(home: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Path:
    """Claude Code's config folder: $CLAUDE_CONFIG_DIR if set, else HOME/.claude."""
    override = (env or {}).get("CLAUDE_CONFIG_DIR")
    return Path(override) if override else Path(home) / ".claude"


def claude_env(
    home: str | os.PathLike[str],
    base_url: str,
    extra_env: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """A minimal, hermetic environment for claude: nothing leaks in from the caller's session."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "test-key",
        # no telemetry, error reports, update checks, title generation or other side requests
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
        # keep git (used by Claude Code for gitBranch and by tools) away from the real ~/.gitconfig
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(Path(home) / ".gitconfig"),
    }
    for key, value in (extra_env or {}).items():
        if value is None:
            env.pop(key, None)  # None unsets, e.g. to let non-essential traffic through
        else:
            env[key] = value
    return env


@dataclass
class ClaudeRun:
    """One `claude -p` invocation: its inputs, exit status, output and where its files are."""

    args: list[str]
    cwd: Path
    home: Path
    env: dict[str, str]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    result: dict[str, Any] | None  # the --output-format json object, None if unparsable
    claude: ClaudeCode  # the Claude Code that ran
    # the session id from elsewhere (hook payloads) when an interrupted run printed no result
    known_session_id: str | None = None

    @property
    def version(self) -> str:
        return self.claude.version

    @property
    def session_id(self) -> str:
        if self.result is None and self.known_session_id:
            return self.known_session_id
        assert self.result is not None, f"no result JSON: {self.stdout!r} {self.stderr!r}"
        return str(self.result["session_id"])

    @property
    def project_dir(self) -> Path:
        return config_dir(self.home, self.env) / "projects" / project_dir_name(self.cwd)

    @property
    def transcript_path(self) -> Path:
        return self.project_dir / f"{self.session_id}.jsonl"

    @property
    def subagents_dir(self) -> Path:
        return self.project_dir / self.session_id / "subagents"

    def transcript(self) -> list[dict[str, Any]]:
        return read_jsonl(self.transcript_path)

    def subagent_transcripts(self) -> dict[str, list[dict[str, Any]]]:
        """agentId -> lines of `agent-<agentId>.jsonl`."""
        if not self.subagents_dir.is_dir():
            return {}
        return {
            p.stem.removeprefix("agent-"): read_jsonl(p)
            for p in sorted(self.subagents_dir.glob("agent-*.jsonl"))
        }

    def subagent_metas(self) -> dict[str, dict[str, Any]]:
        """agentId -> `agent-<agentId>.meta.json`."""
        if not self.subagents_dir.is_dir():
            return {}
        return {
            p.name.removeprefix("agent-").removesuffix(".meta.json"): json.loads(p.read_text())
            for p in sorted(self.subagents_dir.glob("agent-*.meta.json"))
        }

    def check(self) -> ClaudeRun:
        """Raise with everything useful when claude failed or printed no result."""
        if self.returncode != 0 or self.result is None or self.result.get("is_error"):
            raise AssertionError(
                f"claude failed (rc={self.returncode}) args={self.args}\n"
                f"stdout: {self.stdout[-4000:]}\nstderr: {self.stderr[-4000:]}"
            )
        return self


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Parse a JSON-lines file, skipping blank lines."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run_claude(
    prompt: str,
    cwd: str | os.PathLike[str],
    home: str | os.PathLike[str],
    base_url: str,
    *,
    resume: str | None = None,
    allowed_tools: Iterable[str] = DEFAULT_TOOLS,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str | None] | None = None,
    timeout: float = 120,
    claude: ClaudeCode | None = None,
    interrupt_when: Callable[[], bool] | None = None,
    interrupt_signal: int = signal.SIGINT,
) -> ClaudeRun:
    """Run one turn with `claude -p PROMPT --output-format json` and collect the outcome.

    ``claude``: the version to run (the ``claude_version`` fixture's); default versions.current().
    ``interrupt_when``: polled while claude runs; once true, claude gets ``interrupt_signal``
    (a session that ends while background work still runs).
    """
    claude = claude or current()
    # Claude Code names the project folder after the physical cwd (process.cwd() is resolved)
    cwd_path = Path(os.path.realpath(cwd))
    home_path = Path(home)
    args = [claude.path, "-p", prompt, "--output-format", "json"]
    tools = list(allowed_tools)
    if tools:
        args += ["--allowedTools", *tools]
    if resume:
        args += ["--resume", resume]
    args += list(extra_args)
    env = claude_env(home_path, base_url, extra_env)
    started = time.monotonic()
    proc = subprocess.Popen(
        args,
        cwd=cwd_path,
        env=env,
        stdin=subprocess.DEVNULL,  # -p must never wait for input
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if interrupt_when is not None:
            while proc.poll() is None and not interrupt_when():
                if time.monotonic() - started > timeout:
                    raise subprocess.TimeoutExpired(args, timeout)
                time.sleep(0.05)
            if proc.poll() is None:
                proc.send_signal(interrupt_signal)
        stdout, stderr = proc.communicate(timeout=max(1.0, timeout - (time.monotonic() - started)))
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    try:
        result = json.loads(stdout)
    except ValueError:
        result = None
    return ClaudeRun(
        args=args,
        cwd=cwd_path,
        home=home_path,
        env=env,
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        duration_s=time.monotonic() - started,
        result=result if isinstance(result, dict) else None,
        claude=claude,
    )
