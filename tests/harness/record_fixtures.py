"""Record real Claude Code transcripts for every scenario into tests/fixtures/sessions/<case>/.

From the repo root: .venv/bin/python -m tests.harness.record_fixtures [OUTDIR] [--case NAME ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .claude_cli import ClaudeRun, claude_bin
from .gitrepo import make_git_repo
from .hooks import install_recording_hooks, read_hook_log
from .messages_api import MessagesAPI
from .scenarios import CASES, Case, run_case

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "sessions"
# A fixed work root keeps the absolute paths inside the transcripts stable between recordings.
DEFAULT_WORKDIR = Path("/tmp/claudetracing-fixtures")


def claude_version() -> str:
    out = subprocess.run([claude_bin(), "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def sent_summary(api: MessagesAPI) -> list[dict[str, Any]]:
    """What the server answered, one entry per API response (the token oracle)."""
    entries = []
    for r in api.message_requests():
        assert r.position is not None and r.response is not None
        entries.append(
            {
                "thread": r.position.thread,
                "turn": r.position.turn,
                "step": r.position.step,
                "model": r.response["model"],
                "message_id": r.response["id"],
                "stop_reason": r.response["stop_reason"],
                "content_types": [b["type"] for b in r.response["content"]],
                "usage": {k: v for k, v in r.response["usage"].items() if k != "service_tier"},
            }
        )
    return entries


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def record_case(case: Case, out_root: Path, work_root: Path, version: str) -> Path:
    """Run ``case`` in a fresh repo under ``work_root`` and copy its files to out_root/<case>."""
    work = work_root / case.name
    shutil.rmtree(work, ignore_errors=True)
    home = work / "home"
    home.mkdir(parents=True)
    repo = make_git_repo(work / "widgets", home / ".gitconfig")
    hook_log = work / "hooks" / "hooks.jsonl"
    install_recording_hooks(repo, hook_log)
    with MessagesAPI() as api:
        runs: list[ClaudeRun] = run_case(case, repo, home, api)
        sent = sent_summary(api)

    out = out_root / case.name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    first = runs[0]
    shutil.copy2(first.transcript_path, out / first.transcript_path.name)
    session_folder = first.project_dir / first.session_id
    if session_folder.is_dir():
        shutil.copytree(session_folder, out / first.session_id)
    if len(runs) == 1:
        _dump(out / "result.json", first.result)
    else:
        for i, run in enumerate(runs, start=1):
            _dump(out / f"result-{i}.json", run.result)
    _dump(out / "sent.json", sent)
    with (out / "hooks.jsonl").open("w", encoding="utf-8") as fh:
        for record in read_hook_log(hook_log):
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    _dump(
        out / "case.json",
        {
            "name": case.name,
            "description": case.description,
            "claude_code_version": version,
            "session_id": first.session_id,
            "cwd": str(first.cwd),
            "home": str(first.home),
            "transcript_path": str(first.transcript_path),
            "prompts": [run.args[2] for run in runs],
        },
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("outdir", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="default: all")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    version = claude_version()
    for name in args.case or list(CASES):
        out = record_case(CASES[name], args.outdir, args.workdir, version)
        print(f"recorded {name} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
