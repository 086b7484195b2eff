"""The figures of a run as plain-text tables, one block per mode."""

from __future__ import annotations

import math

Figures = dict[str, float]


def number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def change(before: float | None, after: float | None) -> str:
    if before is None or after is None or not before or math.isnan(before + after):
        return ""
    return f"{(after - before) / before:+.0%}"


def print_block(title: str, columns: list[tuple[str, Figures]]) -> None:
    """One row per figure, one column per run; with two runs, the change from the first."""
    labels = list(dict.fromkeys(label for _, figures in columns for label in figures))
    heads = [name for name, _ in columns] + (["change"] if len(columns) == 2 else [])
    rows = []
    for label in labels:
        values = [figures.get(label) for _, figures in columns]
        cells = ["-" if value is None else number(value) for value in values]
        if len(columns) == 2:
            cells.append(change(values[0], values[1]))
        rows.append([label, *cells])
    width = max(len(label) for label in labels) if labels else 0
    widths = [max(len(head), *(len(row[n + 1]) for row in rows)) for n, head in enumerate(heads)]
    print(f"\n{title}")
    print(
        "  "
        + " " * width
        + "".join(f"  {head:>{w}}" for head, w in zip(heads, widths, strict=True))
    )
    for label, *cells in rows:
        line = "".join(f"  {cell:>{w}}" for cell, w in zip(cells, widths, strict=True))
        print(f"  {label:<{width}}{line}")
