"""Install footprint: the README's first command on a fresh clone, with pip and with uv.

    .venv/bin/python -m bench.install                 # pip and uv, one cold install each
    .venv/bin/python -m bench.install --only pip      # one installer
    .venv/bin/python -m bench.install --out FILE      # also write the markdown section to FILE

Heavy (each install downloads some 300 MB and takes minutes): run it once, not in the suite.
Each installer gets a fresh `git clone` of the committed HEAD (so the committed lock), a scratch
HOME and cache folders (nothing cached from earlier installs: a new machine), and the rest of the
caller's environment (its package index settings are a user's too). Measured: wall time of each
step, the venv's size on disk and its number of distributions, its largest packages, and every
line of the installers' output that mentions a deprecation.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bench.machine import load_average

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "python3"
# The README's first command, without `traces demo`, split into its steps; uv is installed into
# the venv by pip first, as on a machine that has no uv.
LOCKED = ["-c", "constraints.txt", "-e", "."]
STEPS = {
    "pip": [
        ("venv", [PYTHON, "-m", "venv", ".venv"]),
        ("install", [".venv/bin/pip", "install", *LOCKED]),
    ],
    "uv": [
        ("venv", [PYTHON, "-m", "venv", ".venv"]),
        ("pip install uv", [".venv/bin/pip", "install", "uv"]),
        (
            "install",
            [".venv/bin/uv", "pip", "install", "--python", ".venv/bin/python", *LOCKED],
        ),
    ],
}
_DEPRECATION = re.compile(r"deprecat", re.IGNORECASE)


@dataclass
class Install:
    installer: str
    steps: list[tuple[str, float]] = field(default_factory=list)
    size_bytes: int = 0
    distributions: int = 0
    largest: list[tuple[str, int]] = field(default_factory=list)
    deprecations: list[str] = field(default_factory=list)
    works: bool = False
    error: str = ""

    @property
    def total_s(self) -> float:
        return sum(seconds for _, seconds in self.steps)


def _size(folder: Path) -> int:
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(parent) / name).lstat().st_size
            except OSError:
                continue
    return total


def _site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python3*/site-packages")
    return found


def _measure(installer: str, scratch: Path, log: Callable[[str], None]) -> Install:
    result = Install(installer)
    clone = scratch / f"clone-{installer}"
    home = scratch / f"home-{installer}"
    home.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PIP_CACHE_DIR": str(home / ".cache" / "pip"),
        "UV_CACHE_DIR": str(home / ".cache" / "uv"),
    }
    env.pop("VIRTUAL_ENV", None)
    for name, argv in STEPS[installer]:
        log(f"{installer}: {name} ...")
        started = time.monotonic()
        done = subprocess.run(argv, cwd=clone, env=env, capture_output=True, text=True)
        result.steps.append((name, time.monotonic() - started))
        output = done.stdout + done.stderr
        lines = output.splitlines()
        result.deprecations += [line.strip() for line in lines if _DEPRECATION.search(line)]
        if done.returncode != 0:
            result.error = f"{name} exited {done.returncode}: {output[-800:]}"
            return result
    venv = clone / ".venv"
    result.size_bytes = _size(venv)
    site = _site_packages(venv)
    result.distributions = len(list(site.glob("*.dist-info")))
    sizes = [(p.name, _size(p) if p.is_dir() else p.stat().st_size) for p in site.iterdir()]
    result.largest = sorted(sizes, key=lambda item: -item[1])[:8]
    works = subprocess.run(
        [str(venv / "bin" / "traces"), "--help"], cwd=clone, env=env, capture_output=True
    )
    result.works = works.returncode == 0
    return result


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def section(results: list[Install]) -> str:
    lines = [
        "| installer | steps (wall time) | total | venv on disk | distributions | "
        "`traces --help` | deprecation lines |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in r.steps)
        if r.error:
            lines.append(f"| {r.installer} | {steps} | failed: {r.error[:200]} | | | | |")
            continue
        lines.append(
            f"| {r.installer} | {steps} | **{r.total_s:.0f} s** | {_mb(r.size_bytes)} | "
            f"{r.distributions} | {'works' if r.works else 'FAILS'} | {len(r.deprecations)} |"
        )
    done = [r for r in results if not r.error]
    if done:
        largest = ", ".join(f"{name} {_mb(size)}" for name, size in done[0].largest)
        lines += ["", f"Largest in site-packages ({done[0].installer}): {largest}."]
    for r in results:
        for line in r.deprecations[:5]:
            lines.append(f"- {r.installer} said: `{line[:200]}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.install", description=__doc__)
    parser.add_argument("--only", choices=sorted(STEPS), action="append")
    parser.add_argument("--out", type=Path, help="also write the markdown section here")
    parser.add_argument("--scratch", type=Path, help="where the clones go (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the clones")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-install-", dir=args.scratch))

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    load_before = load_average()
    try:
        results = [_measure(name, scratch, log) for name in (args.only or ["pip", "uv"])]
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    python = subprocess.run([PYTHON, "--version"], capture_output=True, text=True).stdout
    head = ["git", "rev-parse", "--short", "HEAD"]  # what was cloned: uncommitted work is not
    commit = subprocess.run(head, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    text = (
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit} (cloned), "
        f"{python.strip()}, {os.cpu_count()} cores; load average (1/5/15 min) "
        f"{load_before} at start, {load_average()} at end.\n\n" + section(results)
    )
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0 if all(r.works and not r.error for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
