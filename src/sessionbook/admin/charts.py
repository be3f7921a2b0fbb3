"""Geometry of the insights charts (bars, heat map), drawn as SVG by the admin templates.

Coordinates are in the SVG's own units (its viewBox); the page scales the picture to its
width. Colours come from the Okabe-Ito palette, told apart with every common colour blindness.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
CHART_WIDTH = 640
CHART_HEIGHT = 240
LEFT_MARGIN = 96
BOTTOM_MARGIN = 28
TOP_MARGIN = 12
TICKS = 4


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str  # what a pointer hovering the bar is told


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    baseline: float
    plot_left: float
    bars: list[Bar]
    value_ticks: list[Tick]
    category_ticks: list[Tick]
    legend: list[tuple[str, str]]  # (name, colour)


@dataclass(frozen=True, slots=True)
class HeatCell:
    x: float
    y: float
    size: float
    opacity: float
    title: str


@dataclass(frozen=True, slots=True)
class HeatMap:
    width: int
    height: int
    cells: list[HeatCell]
    row_labels: list[Tick]
    column_labels: list[Tick]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    value_label: Callable[[float], str] = lambda value: f"{value:,.0f}",
    tick_label: Callable[[float], str] | None = None,
) -> BarChart:
    """Vertical bars, one group per category and one bar per series; negatives go below zero."""
    values = [0, *(value for _name, numbers in series for value in numbers)]
    step = max(1.0, nice_ceiling((max(values) - min(values)) / TICKS))
    top = step * max(1, math.ceil(max(values) / step))
    bottom = step * math.floor(min(values) / step)
    plot_height = CHART_HEIGHT - TOP_MARGIN - BOTTOM_MARGIN
    scale = plot_height / (top - bottom)
    baseline = TOP_MARGIN + top * scale
    group_width = (CHART_WIDTH - LEFT_MARGIN) / max(1, len(categories))
    bar_width = group_width * 0.8 / max(1, len(series))
    bars = []
    for series_index, (name, numbers) in enumerate(series):
        colour = PALETTE[series_index % len(PALETTE)]
        for index, value in enumerate(numbers):
            x = LEFT_MARGIN + index * group_width + group_width * 0.1 + series_index * bar_width
            height = abs(value) * scale
            y = baseline - height if value >= 0 else baseline
            title = f"{categories[index]}, {name}: {value_label(value)}"
            bars.append(
                Bar(round(x, 1), round(y, 1), round(bar_width, 1), round(height, 1), colour, title)
            )
    count = round((top - bottom) / step)
    value_ticks = [
        Tick(round(baseline - value * scale, 1), (tick_label or value_label)(value))
        for value in (bottom + step * index for index in range(count + 1))
    ]
    every = max(1, math.ceil(len(categories) / 8))
    category_ticks = [
        Tick(round(LEFT_MARGIN + (index + 0.5) * group_width, 1), label)
        for index, label in enumerate(categories)
        if index % every == 0
    ]
    legend = [(name, PALETTE[index % len(PALETTE)]) for index, (name, _) in enumerate(series)]
    return BarChart(
        CHART_WIDTH,
        CHART_HEIGHT,
        round(baseline, 1),
        LEFT_MARGIN,
        bars,
        value_ticks,
        category_ticks,
        legend,
    )


def heat_map_chart(
    grid: Sequence[Sequence[int]], row_names: Sequence[str], *, cell: int = 24
) -> HeatMap:
    """A weekday x hour grid; the darker the cell, the more sessions start in that hour."""
    left, top = 40, 18
    busiest = max([0, *(count for row in grid for count in row)])
    cells = []
    for row_index, row in enumerate(grid):
        for hour, count in enumerate(row):
            opacity = 0.0 if busiest == 0 else 0.12 + 0.88 * count / busiest
            title = f"{row_names[row_index]} {hour:02d}:00: {count}"
            cells.append(
                HeatCell(
                    left + hour * cell,
                    top + row_index * cell,
                    cell - 2,
                    round(opacity if count else 0.0, 3),
                    title,
                )
            )
    row_labels = [Tick(top + index * cell + cell / 2, name) for index, name in enumerate(row_names)]
    column_labels = [Tick(left + hour * cell + cell / 2, f"{hour:02d}") for hour in range(0, 24, 3)]
    return HeatMap(left + 24 * cell, top + len(grid) * cell, cells, row_labels, column_labels)
