"""MLflow's own UI in a real browser: a store written by `traces import` of real-shaped
transcripts, served by `traces ui`, opened in Debian's Chromium driven by Playwright (ADR 14).

Shared by tests/integration/test_mlflow_ui.py and scripts/screenshots, so the screenshots in
docs/ show exactly what the test checks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests import realshape
from tests.realshape import text, tool_use, usage
from tests.servers import free_port
from tests.tracing import TRACES, traces

ROOT = Path(__file__).resolve().parent.parent
INSTALL_BROWSER = ROOT / "scripts" / "install-browser"
# What works on this machine's closed network (see ADR 14): no sandbox as root, no GPU, and none
# of Chromium's own connections to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROMPT = "Why does test_parse fail? Fix it."
ANSWER = "test_parse expected a trailing newline; parse() now keeps it and the test passes."
FAILED_COMMAND = "pytest tests/test_parse.py"
FAILURE = "AssertionError: assert 'a,b' == 'a,b\\n'"
CACHE_READ = 32_772  # tokens the turn read from the prompt cache
EXPERIMENT = "claude-code/widgets"
# The Input cell's link in the Traces list. CSS, not roles: MLflow's first-visit popover hides
# the page from the accessibility tree until it is dismissed.
TRACE_LINK = 'a[aria-label^="Open trace tr-"][aria-label$="input"]'
# The four model calls' usage: every one reads the prompt cache, as real turns do.
USAGES = [
    usage(12, 80, read=CACHE_READ, write=1_200),
    usage(4, 40, read=CACHE_READ + 1_200, write=300),
    usage(4, 60, read=CACHE_READ + 1_500, write=200),
    usage(4, 30, read=CACHE_READ + 1_700),
]
# What the turn used, counted as MLflow's Anthropic autolog does: cache reads and writes are
# input tokens.
TOTAL_TOKENS = sum(
    u["input_tokens"]
    + u["output_tokens"]
    + u["cache_read_input_tokens"]
    + u["cache_creation_input_tokens"]
    for u in USAGES
)


@dataclass(frozen=True)
class Store:
    """A data folder whose local store holds the traces of `write_sessions`."""

    home: Path
    env: dict[str, str]


def write_sessions(folder: Path) -> Path:
    """One real-shaped turn that reads a file, runs a failing command, edits and answers, with
    the prompt cache read on every call (the Tokens column must count it)."""
    # Recent: MLflow's Traces list shows the last days only, unless told otherwise.
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    main = realshape.session(folder, clock=start)
    main.prompt(PROMPT)
    main.response(
        text("Let me look at the test first."),
        tool_use("toolu_01read", "Read", file_path="/home/dev/widgets/tests/test_parse.py"),
        use=USAGES[0],
    )
    main.tool_result("toolu_01read", "def test_parse():\n    assert parse('a,b') == 'a,b\\n'\n")
    main.response(
        tool_use("toolu_02bash", "Bash", command=FAILED_COMMAND, description="Run the test"),
        use=USAGES[1],
    )
    main.tool_result("toolu_02bash", f"Exit code 1\n{FAILURE}", is_error=True)
    main.response(
        tool_use(
            "toolu_03edit",
            "Edit",
            file_path="/home/dev/widgets/widgets/parse.py",
            old_string="return text.strip()",
            new_string="return text",
        ),
        use=USAGES[2],
    )
    main.tool_result("toolu_03edit", "The file widgets/parse.py has been updated.")
    main.response(text(ANSWER), use=USAGES[3])
    path = main.save()
    old = time.time() - 3600  # a session idle for an hour is over: import traces all its turns
    os.utime(path, (old, old))
    return path


def build_store(home: Path) -> Store:
    """A repository set up with `traces init --local`, and its sessions imported into the local
    store by `traces import`, all under `home`."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CLAUDETRACING_HOME": str(home / "ct"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Test Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }
    repo = home / "widgets"
    repo.mkdir(parents=True)
    for args in (
        ["init", "-q", "-b", "main"],
        ["commit", "-q", "--allow-empty", "-m", "initial"],
        ["remote", "add", "origin", "https://github.com/acme/widgets.git"],
    ):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    for args in (("init", "--local", "--yes", "--no-verify"), ("import", str(home / "sessions"))):
        if args[0] == "import":
            write_sessions(home / "sessions")
        done = traces(*args, cwd=repo, env=env, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"traces {' '.join(args)} failed: {done.stderr}")
    return Store(home, env)


@contextmanager
def serve(store: Store) -> Iterator[str]:
    """`traces ui` on a free port of loopback, as a user starts it; yields its address and stops
    it (and so every process of the MLflow server) with SIGTERM."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # No background job runner (it keeps both cores busy) and no price catalog download.
    env = {
        **store.env,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_MODEL_CATALOG_URI": "",
    }
    log = (store.home / "ui.log").open("wb")
    process = subprocess.Popen(
        [TRACES, "ui", "--port", str(port)],
        cwd=store.home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"`traces ui` did not serve {url}: {(store.home / 'ui.log').read_text()}"
                    ) from None
                time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def chromium() -> str:
    """The browser's path, installed by scripts/install-browser when it is missing."""
    done = subprocess.run(
        [str(INSTALL_BROWSER)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/install-browser failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def browser() -> Iterator[Any]:
    """Headless Chromium with a fresh profile, driven by Playwright; yields the Browser."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def experiment_id(url: str, name: str = EXPERIMENT) -> str:
    query = f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}"
    with urllib.request.urlopen(query, timeout=30) as answer:
        return str(json.load(answer)["experiment"]["experiment_id"])


def stored_spans(url: str, experiment: str) -> list[Any]:
    """The spans of the one stored trace, as MLflow's server returns them."""
    import mlflow

    (trace,) = mlflow.MlflowClient(url).search_traces(locations=[experiment], max_results=5)
    return list(trace.data.spans)


def open_traces(page: Any, url: str, experiment: str) -> None:
    """The experiment's Traces list, with its first-visit popups out of the way."""
    page.goto(f"{url}/#/experiments/{experiment}/traces")
    page.locator(TRACE_LINK).first.wait_for(timeout=60_000)
    got_it = page.locator("button", has_text="Got it")
    if got_it.count():
        got_it.first.click()
    assistant = page.locator('button[aria-label="Close"]')  # the MLflow Assistant's side panel
    if assistant.count():
        assistant.first.click()


def list_cells(page: Any, prompt_fragment: str) -> dict[str, str]:
    """The Traces list's row of the trace whose prompt holds `prompt_fragment`: column → text."""
    header = page.locator("[role=row]").first
    names = [cell.inner_text().strip() for cell in header.locator("[role=columnheader]").all()]
    row = page.locator("[role=row]").filter(has_text=prompt_fragment).first
    values = [cell.inner_text().strip() for cell in row.locator("[role=cell]").all()]
    return dict(zip(names, values, strict=True))


def open_trace(page: Any, prompt_fragment: str) -> None:
    """Open the trace whose prompt holds `prompt_fragment`, from the Traces list."""
    row = page.locator("[role=row]").filter(has_text=prompt_fragment).first
    row.locator(TRACE_LINK).first.click()
    page.get_by_text("Spans", exact=True).first.wait_for(timeout=60_000)


def select_span(page: Any, name: str) -> Any:
    """Click a span by its name in the trace's span tree; returns the name's element."""
    node = page.get_by_text(name, exact=True).first
    node.click()
    page.get_by_role("tab", name="Inputs / Outputs").wait_for(timeout=30_000)
    return node
