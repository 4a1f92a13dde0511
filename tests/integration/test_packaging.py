"""The package builds without a deprecation warning, with the build backend the lock pins."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v"]


def _pinned(name: str) -> tuple[int, ...]:
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    found = re.search(rf"^{name}==([0-9.]+)", text, re.MULTILINE)
    assert found, f"{name} is not pinned in constraints.txt"
    return tuple(int(part) for part in found.group(1).split("."))


def test_the_pinned_build_backend_supports_the_license_metadata() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # no tomllib on 3.10
    requires = re.search(r'^requires = \["setuptools>=([0-9.]+)"\]', text, re.MULTILINE)
    assert requires, "build-system.requires is not one setuptools>=X"
    minimum = tuple(int(p) for p in requires.group(1).split("."))
    assert minimum >= (77,), "a SPDX `license` string needs setuptools 77 or later"
    assert _pinned("setuptools") >= minimum
    assert re.search(r'^license = "Apache-2.0"$', text, re.MULTILINE)
    files = re.search(r"^license-files = \[(.+)\]$", text, re.MULTILINE)
    assert files, "no license-files"
    for pattern in re.findall(r'"([^"]+)"', files.group(1)):
        assert list(ROOT.glob(pattern)), f"license-files: {pattern} matches no file"


def test_building_the_wheel_emits_no_deprecation_warning(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    done = subprocess.run(
        # The venv's setuptools is the one constraints.txt pins; no index needed.
        [*PIP_WHEEL, "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "SetuptoolsDeprecationWarning" not in output, output
    assert not re.search(r"deprecat", output, re.IGNORECASE), output
    (wheel,) = (tmp_path / "dist").glob("claudetracing-*.whl")
    assert wheel.stat().st_size > 0
