"""The screenshots in docs/images/, taken by scripts/screenshots: the Traces list, a model call
drawn as a conversation, and a failed tool with its exception (what tests/integration/
test_mlflow_ui.py asserts, shown)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from tests import browser as ui

SIZE = {"width": 1400, "height": 760}
LIST_SIZE = {"width": 1800, "height": 420}  # wide enough for the Tokens and Tags columns


def take(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="traces-screenshots-") as scratch:
        store = ui.build_store(Path(scratch) / "home")
        with ui.serve(store) as url, ui.browser() as context:
            experiment = ui.experiment_id(url)
            page: Any = context.new_page()
            page.set_viewport_size(LIST_SIZE)
            page.set_default_timeout(60_000)
            ui.open_traces(page, url, experiment)
            written.append(_shot(page, folder / "traces-list.png"))
            page.set_viewport_size(SIZE)
            calls = [s for s in ui.stored_spans(url, experiment) if s.span_type == "LLM"]
            first = min(calls, key=lambda span: span.start_time_ns)
            ui.open_trace(page, "test_parse")
            ui.select_span(page, first.name)
            page.get_by_text(ui.PROMPT, exact=True).first.wait_for()
            written.append(_shot(page, folder / "trace-conversation.png"))
            ui.select_span(page, "Bash")
            page.get_by_role("tab", name="Events").click()
            page.get_by_text("AssertionError", exact=False).first.wait_for()
            written.append(_shot(page, folder / "trace-failed-tool.png"))
    return written


def _shot(page: Any, path: Path) -> Path:
    page.mouse.move(0, 0)  # no tooltip in the picture
    page.screenshot(path=str(path))
    return path


if __name__ == "__main__":
    for path in take(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(path)
