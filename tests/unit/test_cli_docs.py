"""docs/cli.md is generated from the CLI; it must match what `--help` says today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import generated_docs

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current() -> None:
    done = generated_docs.check("cli_docs.py")
    assert done.returncode == 0, "docs/cli.md is stale: run `python scripts/cli_docs.py`"


def test_help_lists_every_documented_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "claudetracing", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    documented = [
        line[len("## `traces ") : -1]
        for line in (ROOT / "docs" / "cli.md").read_text().splitlines()
        if line.startswith("## `")
    ]
    for name in documented:
        if " " not in name:
            assert name in done.stdout


def test_reference_shows_types_as_words_choices_defaults_and_exit_codes() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import cli_docs
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    text = cli_docs.render()
    assert "## Exit codes" in text and "| 2 | a usage error" in text
    for raw in ("<bool>", "<str>", "<int>", "<float>", "True", "False"):
        assert raw not in text
    assert "one of `day`, `model`, `user`, `repo`, `session`" in text
    by = next(line for line in text.splitlines() if line.startswith("| `--by`"))
    assert by.endswith("| `day` |")
    verify = next(line for line in text.splitlines() if line.startswith("| `--verify`"))
    assert "| flag |" in verify and verify.endswith("| `--verify` |")
    assert "| `--profile` / `-p` | TEXT |" in text
