"""Tables that fit the terminal: columns that matter least give way first; an id, a name to
paste or a number is never cut (free text is, with an ellipsis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

FLEX_MIN = 12  # the narrowest a cut column (a prompt preview) is worth showing
_MEASURE = Console(width=100_000)


@dataclass(frozen=True)
class Column:
    header: str
    cells: list[str]
    drop: int = 0  # 0: always shown; else the highest number is left out first
    cut: bool = False  # free text: shortened with … to the room left
    justify: Literal["left", "right"] = "left"

    @property
    def natural(self) -> int:
        return max([cell_len(self.header), *(cell_len(c) for c in self.cells)])


@dataclass(frozen=True)
class Fitted:
    renderable: RenderableType
    left_out: list[str]  # headers of the columns left out to fit


def _table(columns: list[Column], widths: dict[str, int]) -> Table:
    # A rule under the header, two spaces between columns, nothing around: the most room for
    # the cells, and an id selects without a border character.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for column in columns:
        table.add_column(
            column.header,
            justify=column.justify,
            no_wrap=True,
            overflow="ellipsis" if column.cut else "fold",
            max_width=widths.get(column.header),
        )
    for index in range(len(columns[0].cells) if columns else 0):
        table.add_row(*(c.cells[index] for c in columns))
    return table


def _width(table: Table) -> int:
    return _MEASURE.measure(table).maximum


def _records(columns: list[Column]) -> Text:
    """Narrower than the columns that must stay: one `header: value` line per cell, so that
    nothing is cut (the terminal wraps a long value, it does not lose it)."""
    pad = max(cell_len(c.header) for c in columns)
    blocks = []
    for index in range(len(columns[0].cells)):
        blocks.append(
            "\n".join(f"{c.header.ljust(pad)}  {c.cells[index]}" for c in columns if not c.cut)
        )
    return Text("\n\n".join(blocks))


def fit(columns: list[Column], width: int) -> Fitted:
    """The columns as a table no wider than `width`: leave out the columns with the highest
    `drop` until it fits, with each cut column at its narrowest; then give the room left to the
    cut columns, up to their natural width."""
    shown = list(columns)
    left_out: list[str] = []
    narrow = {c.header: min(c.natural, FLEX_MIN) for c in columns if c.cut}
    while _width(_table(shown, narrow)) > width:
        droppable = [c for c in shown if c.drop]
        if not droppable:
            kept = [c for c in columns if not c.cut]
            return Fitted(_records(kept), [c.header for c in columns if c.cut])
        worst = max(droppable, key=lambda c: c.drop)
        shown.remove(worst)
        left_out.append(worst.header)
    room = width - _width(_table(shown, narrow))
    widths = dict(narrow)
    for column in shown:
        if column.cut:
            grow = min(room, column.natural - widths[column.header])
            widths[column.header] += grow
            room -= grow
    return Fitted(_table(shown, widths), left_out)
