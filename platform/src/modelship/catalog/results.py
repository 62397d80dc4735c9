"""Batch answers -> a table, a chart of the outputs and CSV (what the results page shows).

The chart is a small SVG drawn by the template from the bars computed here: a histogram for
numeric outputs, a bar chart of counts for classes (text and booleans).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from typing import Any

BINS = 10


def flat(answer: Any) -> dict[str, Any]:
    """One answer as columns: a dict's keys (``prediction.<key>``), else ``prediction``."""
    if isinstance(answer, dict):
        return {f"prediction.{k}": v for k, v in answer.items()}
    if isinstance(answer, list) and len(answer) == 1:
        return flat(answer[0])
    return {"prediction": answer}


def table(records: list[dict], answers: list[Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: the input columns, then the output columns, one row per record."""
    outputs = [flat(a) for a in answers]
    header: list[str] = []
    for row in [*records, *outputs]:
        header += [k for k in row if k not in header]
    return header, [[{**r, **o}.get(col, "") for col in header] for r, o in zip(records, outputs)]


def to_csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@dataclass(frozen=True)
class Bar:
    label: str
    count: int


@dataclass(frozen=True)
class Chart:
    title: str
    kind: str  # histogram | classes
    bars: list[Bar]

    @property
    def top(self) -> int:
        return max((b.count for b in self.bars), default=0) or 1


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value: float) -> str:
    return f"{value:.3g}"


def chart(column: str, values: list[Any]) -> Chart | None:
    """The chart of one output column, or None when it has no values."""
    values = [v for v in values if v is not None and v != ""]
    if not values:
        return None
    if all(_number(v) for v in values):
        low, high = min(values), max(values)
        width = (high - low) / BINS or 1
        counts = Counter(min(int((v - low) / width), BINS - 1) for v in values)
        bins = BINS if high > low else 1
        bars = [
            Bar(f"{_short(low + i * width)}–{_short(low + (i + 1) * width)}", counts.get(i, 0))
            for i in range(bins)
        ]
        return Chart(column, "histogram", bars)
    counts = Counter(str(v) for v in values)
    return Chart(column, "classes", [Bar(k, n) for k, n in counts.most_common(20)])


def charts(header: list[str], rows: list[list[Any]]) -> list[Chart]:
    """A chart per output column."""
    found = []
    for i, col in enumerate(header):
        if col.startswith("prediction") and (made := chart(col, [r[i] for r in rows])):
            found.append(made)
    return found
