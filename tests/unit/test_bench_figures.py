"""The benchmark's SVG charts: valid XML, one marked point per measurement, gaps left out."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from bench.figures import Chart, Series, svg_chart, write_figures
from bench.growth import GrowthPoint
from bench.report import Row

SVG = "{http://www.w3.org/2000/svg}"


def _row(backend: str, scenario: str, workers: int, clients: int, rps: float, p99: float) -> Row:
    return Row(backend, workers, scenario, clients, 1000, 0, rps, p99 / 3, p99, 1.0)


OURS = [
    _row("postgres", "status", 1, 1, 652, 3.9),
    _row("postgres", "status", 1, 16, 913, 45.7),
    _row("postgres", "status", 1, 64, 858, 376.9),
    _row("sqlite", "status", 1, 16, 1200, 30.0),
    _row("postgres", "create", 1, 16, 158, 178.2),  # not drawn: not booking-status
]
BASELINE = [
    _row("postgres", "baseline", 1, 1, 1503, 1.0),
    _row("postgres", "baseline", 1, 16, 4040, 7.7),
    _row("postgres", "baseline", 1, 64, 3782, 41.2),
]
GROWTH = [
    GrowthPoint(1_000, "status", 3000, 0, 1.5, 4.0, 900, 0.1),
    GrowthPoint(100_000, "status", 3000, 0, 1.6, 4.4, 880, 2.0),
    GrowthPoint(1_000_000, "status", 3000, 0, 1.7, 5.1, 860, 20.0),
]


def _parse(text: str) -> ElementTree.Element:
    """The SVG as XML; raises on a document that is not well-formed."""
    return ElementTree.fromstring(text)  # noqa: S314 (our own output, not untrusted input)


def _points(path: Path) -> dict[str, list[str]]:
    """Each series' point tooltips, by series name; parsing fails on invalid XML."""
    root = _parse(path.read_text(encoding="utf-8"))
    assert root.tag == f"{SVG}svg"
    found: dict[str, list[str]] = {}
    for group in root.iter(f"{SVG}g"):
        circles = group.findall(f"{SVG}circle")
        found[group.attrib["data-name"]] = [
            "".join(circle.find(f"{SVG}title").itertext())  # type: ignore[union-attr]
            for circle in circles
        ]
    return found


def test_figures_have_one_point_per_measurement(tmp_path: Path) -> None:
    written = write_figures(OURS, BASELINE, GROWTH, tmp_path / "figures")

    assert [path.name for path in written] == ["throughput.svg", "p99.svg", "growth.svg"]
    throughput = _points(tmp_path / "figures" / "throughput.svg")
    p99 = _points(tmp_path / "figures" / "p99.svg")
    growth = _points(tmp_path / "figures" / "growth.svg")
    assert throughput == {
        "ours, postgres x1": [
            "ours, postgres x1: 1 -> 652",
            "ours, postgres x1: 16 -> 913",
            "ours, postgres x1: 64 -> 858",
        ],
        "ours, sqlite x1": ["ours, sqlite x1: 16 -> 1,200"],
        "baseline x1": [
            "baseline x1: 1 -> 1,503",
            "baseline x1: 16 -> 4,040",
            "baseline x1: 64 -> 3,782",
        ],
    }
    assert p99["ours, postgres x1"][2] == "ours, postgres x1: 64 -> 377"
    assert p99["baseline x1"][0] == "baseline x1: 1 -> 1"
    assert sorted(growth) == ["status p50", "status p99"]
    assert growth["status p99"] == [
        "status p99: 1,000 -> 4",
        "status p99: 100,000 -> 4.4",
        "status p99: 1,000,000 -> 5.1",
    ]


def test_points_sit_higher_for_higher_values_and_unmeasured_cells_are_left_out() -> None:
    chart = Chart(
        "t", "x", "y", [Series("a", [(1, 10.0), (4, 40.0), (16, math.nan)]), Series("none", [])]
    )
    root = _parse(svg_chart(chart))
    circles = list(root.iter(f"{SVG}circle"))

    assert len(circles) == 2
    low, high = (float(circle.attrib["cy"]) for circle in circles)
    assert high < low  # SVG's y grows downwards
    assert [g.attrib["data-name"] for g in root.iter(f"{SVG}g")] == ["a"]


def test_a_chart_with_nothing_measured_says_so() -> None:
    text = svg_chart(Chart("empty", "x", "y", [Series("a", [(1, math.nan)])]))

    root = _parse(text)
    assert list(root.iter(f"{SVG}circle")) == []
    assert "not measured" in text
