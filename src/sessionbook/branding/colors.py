"""WCAG 2.x contrast: relative luminance of an sRGB colour and the ratio of two of them."""

from __future__ import annotations

import math
import re

HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
WHITE = "#ffffff"
# WCAG 2.x level AA for normal-size text (success criterion 1.4.3).
AA_TEXT_CONTRAST = 4.5


def _channel(value: int) -> float:
    """One sRGB channel (0-255) linearised as WCAG 2.x defines it."""
    scaled = value / 255
    return scaled / 12.92 if scaled <= 0.04045 else ((scaled + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """0 for black to 1 for white; `color` is `#rrggbb`."""
    if not HEX_COLOR.fullmatch(color):
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    red, green, blue = (int(color[index : index + 2], 16) for index in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """From 1 (the same) to 21 (black on white), whichever of the two is lighter."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def shown_ratio(ratio: float) -> str:
    """`4.49:1`: cut, not rounded, so a ratio just under the bar never reads as reaching it."""
    return f"{math.floor(ratio * 100) / 100:.2f}:1"
