"""What a reviewer sees of our traces in MLflow's own UI, in a real browser (issue 17).

One store per module, written by `traces import` of a real-shaped turn (tests/browser.py: read a
file, a failing `pytest`, an edit, an answer, the prompt cache read on every call), served by
`traces ui`, opened in Debian's Chromium driven by Playwright (ADR 14). Every wait is for a
selector, never a sleep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests import browser as ui

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(address of `traces ui`, experiment id), one server for the module."""
    store = ui.build_store(tmp_path_factory.mktemp("ui-store"))
    with ui.serve(store) as url:
        yield url, ui.experiment_id(url)


@pytest.fixture(scope="module")
def chromium(served: tuple[str, str]) -> Iterator[Any]:
    with ui.browser() as context:
        yield context


@pytest.fixture
def page(chromium: Any, served: tuple[str, str]) -> Iterator[Any]:
    url, experiment = served
    page = chromium.new_page()
    page.set_default_timeout(30_000)
    try:
        ui.open_traces(page, url, experiment)
        yield page
    finally:
        page.close()


def _number(cell: str) -> int:
    match = re.search(r"[\d,]+", cell)
    assert match, f"no number in {cell!r}"
    return int(match.group().replace(",", ""))


def test_the_traces_list_shows_our_turn(page: Any) -> None:
    cells = ui.list_cells(page, "test_parse")
    assert cells["State"] == "OK", cells
    assert ui.PROMPT in cells["Input"], cells
    assert "test_parse expected a trailing newline" in cells["Output"], cells


def test_opening_the_turn_shows_its_span_tree(page: Any) -> None:
    ui.open_trace(page, "test_parse")
    for tool in ("Read", "Bash", "Edit"):
        page.get_by_text(tool, exact=True).first.wait_for()
    ui.select_span(page, "Read")
    page.get_by_text("/home/dev/widgets/tests/test_parse.py").first.wait_for()


def test_the_list_previews_are_plain_text(page: Any) -> None:
    cells = ui.list_cells(page, "test_parse")
    assert cells["Input"] == ui.PROMPT, "the Input column shows JSON, not the prompt as typed"
    assert cells["Output"] == ui.ANSWER, "the Output column shows JSON, not the answer's text"


def test_the_tokens_column_counts_the_prompt_cache(page: Any) -> None:
    cells = ui.list_cells(page, "test_parse")
    assert _number(cells["Tokens"]) == ui.TOTAL_TOKENS, (
        f"Tokens shows {cells['Tokens']}: MLflow counts cache reads and writes as input "
        f"tokens (autolog convention), so the turn used {ui.TOTAL_TOKENS}"
    )


def test_a_model_call_reads_as_a_conversation(page: Any, served: tuple[str, str]) -> None:
    url, experiment = served
    calls = [span for span in ui.stored_spans(url, experiment) if span.span_type == "LLM"]
    first = min(calls, key=lambda span: span.start_time_ns)
    ui.open_trace(page, "test_parse")
    ui.select_span(page, first.name)
    details = page.get_by_role("tabpanel").first
    # MLflow draws chat bubbles only for a span whose mlflow.message.format it knows.
    details.get_by_text("User", exact=True).first.wait_for()
    details.get_by_text(ui.PROMPT, exact=True).first.wait_for()
    details.get_by_text("Assistant", exact=True).first.wait_for()
    details.get_by_text("Tool calls").first.wait_for()
    details.get_by_text("Let me look at the test first.").first.wait_for()


def test_a_failed_tool_is_red_and_carries_its_exception(page: Any) -> None:
    ui.open_trace(page, "test_parse")
    failed = ui.select_span(page, "Bash")
    normal = page.get_by_text("Read", exact=True).first
    red, green, blue = _rgb(failed.evaluate("e => getComputedStyle(e).color"))
    assert red > 150 and red > 2 * green and red > 2 * blue, "the failed Bash span is not red"
    assert _rgb(normal.evaluate("e => getComputedStyle(e).color")) != (red, green, blue)
    page.get_by_role("tab", name=re.compile("^Events")).click()
    events = page.get_by_role("tabpanel").first
    events.get_by_text("exception", exact=False).first.wait_for()
    events.get_by_text("AssertionError", exact=False).first.wait_for()


def _rgb(css: str) -> tuple[int, int, int]:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css)[:3])
    return red, green, blue
