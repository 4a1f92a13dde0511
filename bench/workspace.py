"""The scratch world of one benchmark run: scales, a tmp repo, a scratch HOME, stores, inputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from claudetracing.setup.sample_sessions import write_synthetic_session

CHILDREN = Path(__file__).resolve().parent / "children"
# Only these survive from the caller's environment: a benchmark must not read the real
# MLflow, Databricks or claudetracing settings of whoever runs it. PYTHONPATH says which code
# is measured (a worktree's src folder instead of the installed checkout).
_KEPT = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "PYTHONPATH")


@dataclass(frozen=True)
class ExportSize:
    """One synthetic session of the throughput benchmark."""

    label: str
    turns: int
    tools_per_turn: int = 10
    output_chars: int = 2_000
    subagent_every: int = 5


@dataclass(frozen=True)
class Scale:
    """How big and how often: the full run, or `--quick` for the test."""

    quick: bool
    hook_runs: int
    hook_mlflow_runs: int
    hook_e2e_runs: int
    export_sizes: tuple[ExportSize, ...]
    export_repeats: int
    big: bool
    big_label: str | None  # our store-all run is skipped for this size unless `big`
    growth_turns: tuple[int, ...]
    growth_repeats: int
    startup_runs: int
    query_traces: int
    query_template_turns: int
    query_repeats: int
    query_cold_runs: int
    warmup: bool  # an untimed first run where one matters (skipped by --quick to save time)

    @staticmethod
    def make(*, quick: bool, big: bool) -> Scale:
        if quick:
            return Scale(
                quick=True,
                hook_runs=5,
                hook_mlflow_runs=1,
                hook_e2e_runs=1,
                export_sizes=(ExportSize("~100 lines", 3),),
                export_repeats=1,
                big=big,
                big_label=None,
                growth_turns=(1, 10),
                growth_repeats=2,
                startup_runs=3,
                query_traces=300,
                query_template_turns=5,
                query_repeats=2,
                query_cold_runs=1,
                warmup=False,
            )
        return Scale(
            quick=False,
            hook_runs=30,
            hook_mlflow_runs=30,
            hook_e2e_runs=5,
            # 10 tool calls a turn, 2 kB outputs, a subagent every 5 turns: ~32 lines a turn.
            export_sizes=(
                ExportSize("~1k lines", 30),
                ExportSize("~10k lines", 300),
                ExportSize("~100k lines", 3000),
            ),
            export_repeats=3,
            big=big,
            big_label="~100k lines",
            growth_turns=(1, 10, 100, 1000),
            growth_repeats=7,
            startup_runs=10,
            query_traces=10_000,
            query_template_turns=20,
            query_repeats=5,
            query_cold_runs=5,
            warmup=True,
        )


@dataclass
class Workspace:
    """Everything a run creates lives under `root` and is deleted afterwards."""

    root: Path
    python: Path = field(default_factory=lambda: Path(sys.executable))
    # `--before-src`: another checkout's src folder; rows that compare run their child on it too
    before_src: Path | None = None

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.repo = self.root / "repo"
        self.inputs = self.root / "inputs"
        self.template_db = self.root / "template" / "mlflow.db"
        for folder in (self.home, self.repo, self.inputs, self.template_db.parent):
            folder.mkdir(parents=True, exist_ok=True)
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = Bench Dev\n\temail = bench@example.com\n"
            "[init]\n\tdefaultBranch = main\n",
            encoding="utf-8",
        )

    @property
    def traces(self) -> Path:
        return self.python.parent / "traces"

    @property
    def mlflow_cli(self) -> Path:
        return self.python.parent / "mlflow"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: os.environ[k] for k in _KEPT if k in os.environ}
        env.update(
            HOME=str(self.home),
            GIT_CONFIG_GLOBAL=str(self.home / ".gitconfig"),
            GIT_CONFIG_NOSYSTEM="1",
        )
        env.update(extra)
        return env

    def before_env(self, **extra: str) -> dict[str, str]:
        """`env` for a child that runs the code at `before_src` instead of this checkout's."""
        assert self.before_src is not None
        return self.env(PYTHONPATH=str(self.before_src), **extra)

    def mlflow_env(self, db: Path, experiment: str = "claude-code-bench") -> dict[str, str]:
        """MLflow's Claude Code tracing as `mlflow autolog claude` configured it, on sqlite.

        Telemetry and the remote price catalog are off so neither side depends on the network;
        our exporter turns the catalog off too. Async trace logging stays at MLflow's default.
        """
        return self.env(
            MLFLOW_CLAUDE_TRACING_ENABLED="true",
            MLFLOW_TRACKING_URI=f"sqlite:///{db}",
            MLFLOW_EXPERIMENT_NAME=experiment,
            MLFLOW_DISABLE_TELEMETRY="true",
            MLFLOW_MODEL_CATALOG_URI="",
        )

    def child(self, name: str) -> list[str]:
        return [str(self.python), str(CHILDREN / f"{name}.py")]

    def prepare(self) -> None:
        """A git repository to run in, and one migrated empty MLflow store to copy from."""
        subprocess.run(
            ["git", "init", "-q", str(self.repo)], check=True, env=self.env(), cwd=self.root
        )
        code = "import mlflow, sys; mlflow.MlflowClient(sys.argv[1]).search_experiments()"
        # Creating the schema takes seconds: done once here, never inside a timed section.
        subprocess.run(
            [str(self.python), "-c", code, f"sqlite:///{self.template_db}"],
            check=True,
            capture_output=True,
            env=self.env(MLFLOW_DISABLE_TELEMETRY="true"),
            cwd=self.template_db.parent,
        )

    def fresh_store(self, data_home: Path) -> Path:
        """claudetracing's embedded store under `data_home`, already migrated."""
        target = data_home / "mlflow" / "mlflow.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.template_db, target)
        return target

    def fresh_db(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "mlflow.db"
        shutil.copyfile(self.template_db, target)
        return target

    def session(
        self,
        name: str,
        *,
        turns: int,
        tools_per_turn: int = 10,
        output_chars: int = 2_000,
        subagent_every: int = 5,
        folder: Path | None = None,
    ) -> Path:
        """A synthetic transcript; its file name (the session id) must be unique per store."""
        path = (folder or self.inputs / name) / f"{name}.jsonl"
        return write_synthetic_session(
            path,
            turns=turns,
            tools_per_turn=tools_per_turn,
            output_chars=output_chars,
            subagent_every=subagent_every,
        )


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def subagent_lines(transcript: Path) -> int:
    folder = transcript.parent / transcript.stem / "subagents"
    return sum(count_lines(p) for p in folder.glob("*.jsonl")) if folder.is_dir() else 0


def describe(transcript: Path, turns: int) -> str:
    lines = count_lines(transcript)
    sub = subagent_lines(transcript)
    size = transcript.stat().st_size / 1e6
    extra = f" + {sub:,} subagent lines" if sub else ""
    return f"{lines:,} lines{extra}, {turns:,} turn{'' if turns == 1 else 's'}, {size:.1f} MB"
