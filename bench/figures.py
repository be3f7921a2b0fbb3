"""The benchmark as pictures: small hand-written SVG line charts, no script, no library.

`write_figures` draws throughput and p99 against concurrent clients (our booking-status
beside the bare baseline, per worker count; SQLite's status too) and the growth curve (p50
and p99 against the number of bookings). Every measurement is one marked point with its
value in a tooltip; a cell that was not measured (NaN) is left out rather than drawn as 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from bench.growth import GrowthPoint
from bench.report import Row

WIDTH = 640
HEIGHT = 380
MARGIN_LEFT = 72
MARGIN_RIGHT = 180  # the legend sits right of the plot
MARGIN_TOP = 40
MARGIN_BOTTOM = 56
# Colour-blind-safe (Okabe-Ito), in the order series are added.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")


@dataclass
class Series:
    """One line: a name for the legend and its (x, y) measurements."""

    name: str
    points: list[tuple[float, float]] = field(default_factory=list)
    dashed: bool = False

    def finite(self) -> list[tuple[float, float]]:
        return sorted((x, y) for x, y in self.points if math.isfinite(x) and math.isfinite(y))


@dataclass(frozen=True)
class Chart:
    title: str
    x_label: str
    y_label: str
    series: list[Series]


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at least `value` (the y axis top)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def svg_chart(chart: Chart) -> str:
    """The chart as a standalone SVG document; x on a log scale (clients, rows grow by factors)."""
    drawn = [series for series in chart.series if series.finite()]
    xs = sorted({x for series in drawn for x, _ in series.finite() if x > 0})
    ys = [y for series in drawn for _, y in series.finite()]
    top = _nice_ceiling(max(ys) * 1.05) if ys else 1.0
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    low, high = (math.log(xs[0]), math.log(xs[-1])) if xs else (0.0, 0.0)

    def x_at(x: float) -> float:
        if high == low:
            return MARGIN_LEFT + plot_width / 2
        return MARGIN_LEFT + (math.log(x) - low) / (high - low) * plot_width

    def y_at(y: float) -> float:
        return MARGIN_TOP + plot_height - y / top * plot_height

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(chart.title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2:.1f}" y="22" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{escape(chart.title)}</text>',
    ]
    parts += _axes(chart, top, xs, x_at, y_at)
    for index, series in enumerate(drawn):
        parts += _series(series, COLOURS[index % len(COLOURS)], index, x_at, y_at)
    if not drawn:
        parts.append(
            f'<text x="{MARGIN_LEFT + plot_width / 2:.1f}" y="{MARGIN_TOP + plot_height / 2:.1f}" '
            'text-anchor="middle" fill="#666666">not measured</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _axes(
    chart: Chart,
    top: float,
    xs: Sequence[float],
    x_at: Callable[[float], float],
    y_at: Callable[[float], float],
) -> list[str]:
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    bottom = HEIGHT - MARGIN_BOTTOM
    parts = [
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333333"/>',
        f'<line x1="{left}" y1="{MARGIN_TOP}" x2="{left}" y2="{bottom}" stroke="#333333"/>',
    ]
    for step in range(5):
        value = top * step / 4
        y = y_at(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>'
        )
    for x in xs:
        position = x_at(x)
        parts.append(
            f'<text x="{position:.1f}" y="{bottom + 18}" text-anchor="middle">{_number(x)}</text>'
        )
    parts.append(
        f'<text x="{(left + right) / 2:.1f}" y="{HEIGHT - 14}" text-anchor="middle">'
        f"{escape(chart.x_label)}</text>"
    )
    middle = (MARGIN_TOP + bottom) / 2
    parts.append(
        f'<text x="16" y="{middle:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 16 {middle:.1f})">{escape(chart.y_label)}</text>'
    )
    return parts


def _series(
    series: Series,
    colour: str,
    index: int,
    x_at: Callable[[float], float],
    y_at: Callable[[float], float],
) -> list[str]:
    points = series.finite()
    coordinates = " ".join(f"{x_at(x):.1f},{y_at(y):.1f}" for x, y in points)
    dash = ' stroke-dasharray="6 4"' if series.dashed else ""
    parts = [f'<g class="series" data-name="{escape(series.name)}">']
    if len(points) > 1:
        parts.append(
            f'<polyline points="{coordinates}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dash}/>'
        )
    for x, y in points:
        parts.append(
            f'<circle class="point" cx="{x_at(x):.1f}" cy="{y_at(y):.1f}" r="4" fill="{colour}">'
            f"<title>{escape(series.name)}: {_number(x)} -&gt; {_number(y)}</title></circle>"
        )
    legend_x = WIDTH - MARGIN_RIGHT + 16
    legend_y = MARGIN_TOP + 8 + index * 20
    parts.append(
        f'<line x1="{legend_x}" y1="{legend_y}" x2="{legend_x + 22}" y2="{legend_y}" '
        f'stroke="{colour}" stroke-width="2"{dash}/>'
    )
    parts.append(f'<text x="{legend_x + 28}" y="{legend_y + 4}">{escape(series.name)}</text></g>')
    return parts


def client_charts(rows: Sequence[Row], baseline: Sequence[Row]) -> tuple[Chart, Chart]:
    """Throughput and p99 of booking-status against clients: ours per database, the baseline."""
    throughput: dict[str, Series] = {}
    p99: dict[str, Series] = {}
    for row in [*rows, *baseline]:
        if row.scenario not in ("status", "baseline"):
            continue
        who = "baseline" if row.scenario == "baseline" else f"ours, {row.backend}"
        name = f"{who} x{row.workers}"
        dashed = row.scenario == "baseline"
        throughput.setdefault(name, Series(name, dashed=dashed)).points.append(
            (row.clients, row.throughput)
        )
        p99.setdefault(name, Series(name, dashed=dashed)).points.append((row.clients, row.p99_ms))
    return (
        Chart(
            "booking-status throughput",
            "concurrent clients",
            "requests/s",
            list(throughput.values()),
        ),
        Chart("booking-status p99 latency", "concurrent clients", "p99 ms", list(p99.values())),
    )


def growth_chart(points: Sequence[GrowthPoint]) -> Chart:
    """p50 and p99 of each growth scenario against the number of bookings in the table."""
    lines: dict[str, Series] = {}
    for point in points:
        for measure, value in (("p50", point.p50_ms), ("p99", point.p99_ms)):
            name = f"{point.scenario} {measure}"
            line = lines.setdefault(name, Series(name, dashed=measure == "p50"))
            line.points.append((point.rows, value))
    return Chart("Latency as the data grows (PostgreSQL)", "bookings", "ms", list(lines.values()))


def write_figures(
    rows: Sequence[Row],
    baseline: Sequence[Row],
    points: Sequence[GrowthPoint],
    directory: Path,
) -> list[Path]:
    """throughput.svg, p99.svg and growth.svg in `directory`; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    throughput, p99 = client_charts(rows, baseline)
    written = []
    for name, chart in (
        ("throughput.svg", throughput),
        ("p99.svg", p99),
        ("growth.svg", growth_chart(points)),
    ):
        path = directory / name
        path.write_text(svg_chart(chart), encoding="utf-8")
        written.append(path)
    return written
