"""The one comparison table: rows of measurements, claudetracing beside MLflow."""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = ("id", "measurement", "input", "claudetracing", "MLflow", "notes")


@dataclass
class Row:
    id: str
    measurement: str
    input: str
    ours: str
    mlflow: str
    notes: str = ""

    def cells(self) -> tuple[str, ...]:
        return (self.id, self.measurement, self.input, self.ours, self.mlflow, self.notes)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: list[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_escape(c) for c in row.cells()) + " |")
    return "\n".join(lines) + "\n"
