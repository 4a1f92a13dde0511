"""Samples of repeated measurements and how one table cell shows them."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

# Every figure is "median (min-max, n=N)": with 3-5 repeats a percentile would just be the
# extreme anyway, so min-max is the honest spread for every row alike. Rows with at least
# P95_MIN_RUNS runs (the hook's) also show their 95th percentile.
P95_MIN_RUNS = 20
CELL_RE = re.compile(
    r"^\+?(?P<median>\d+(?:\.\d+)?) (?P<unit>µs|ms|s|MB)"
    r"(?: \((?P<lo>\d+(?:\.\d+)?)-(?P<hi>\d+(?:\.\d+)?)"
    r"(?:, p95 (?P<p95>\d+(?:\.\d+)?))?, n=(?P<n>\d+)\))?"
)


@dataclass
class Sample:
    """Repeated measurements of one quantity, in seconds or in megabytes."""

    values: list[float] = field(default_factory=list)
    unit: str = "s"

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def scaled(self, factor: float) -> Sample:
        return Sample([v * factor for v in self.values], self.unit)

    def cell(self) -> str:
        if not self.values:
            return "n/a (no runs)"
        lo, hi = min(self.values), max(self.values)
        if self.unit == "MB":
            return f"{self.median:.0f} MB ({lo:.0f}-{hi:.0f}, n={self.n})"
        scale, unit, digits = _time_scale(self.median)
        p95 = ""
        if self.n >= P95_MIN_RUNS:
            value = statistics.quantiles(self.values, n=20, method="inclusive")[-1]
            p95 = f", p95 {value * scale:.{digits}f}"
        return (
            f"{self.median * scale:.{digits}f} {unit} "
            f"({lo * scale:.{digits}f}-{hi * scale:.{digits}f}{p95}, n={self.n})"
        )


def _time_scale(seconds: float) -> tuple[float, str, int]:
    if seconds >= 10:
        return 1.0, "s", 1
    if seconds >= 1:
        return 1.0, "s", 2
    if seconds >= 0.001:
        return 1000.0, "ms", 1
    return 1_000_000.0, "µs", 0


def seconds(value: float) -> str:
    """One derived duration (no spread), in the same units as the sample cells."""
    scale, unit, digits = _time_scale(abs(value))
    return f"{value * scale:.{digits}f} {unit}"


def ratio(sample: Sample, divisor: float) -> Sample:
    return Sample([v / divisor for v in sample.values], sample.unit) if divisor else Sample()
