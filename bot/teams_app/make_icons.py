"""Draw the Teams app's two icons: a shield with a tick, the bot's emblem (run: python make_icons.py).

`color.png` is 192×192: a white shield on the app's accent colour, inside the 120×120 middle that Teams keeps
when it crops the icon to a circle. `outline.png` is 32×32: the same shield drawn as a white line on a
transparent background, which is all Teams allows there. No imaging library is needed: the shapes are
sampled 4×4 times per pixel for smooth edges and written as PNG with zlib.
"""
from __future__ import annotations

import bisect
import math
import struct
import sys
import zlib
from pathlib import Path

ACCENT = (0x23, 0x5A, 0x9F)  # keep equal to accentColor in manifest.json
WHITE = (255, 255, 255)
SAMPLES = 4  # per pixel, each way

Point = tuple[float, float]


def _bezier(a: Point, control: Point, b: Point, steps: int = 24) -> list[Point]:
    return [((1 - t) ** 2 * a[0] + 2 * (1 - t) * t * control[0] + t * t * b[0],
             (1 - t) ** 2 * a[1] + 2 * (1 - t) * t * control[1] + t * t * b[1])
            for t in (i / steps for i in range(1, steps + 1))]


def shield() -> list[Point]:
    """The shield's outline in a unit box (x and y from 0 to 1, y downwards), clockwise from the top middle."""
    right = [*_bezier((0.5, 0.0), (0.72, 0.11), (0.96, 0.10)), (0.96, 0.48),
             *_bezier((0.96, 0.48), (0.96, 0.84), (0.5, 1.0))]
    left = [(1 - x, y) for x, y in reversed(right[:-1])]
    return [(0.5, 0.0), *right, *left]


TICK: list[Point] = [(0.28, 0.52), (0.44, 0.68), (0.73, 0.36)]


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def _line_distance(p: Point, points: list[Point], closed: bool = False) -> float:
    pairs = zip(points, points[1:] + points[:1] if closed else points[1:])
    return min(_segment_distance(p, a, b) for a, b in pairs)


def _crossings(polygon: list[Point], y: float) -> list[float]:
    """Where a horizontal line crosses the polygon, left to right (inside between pairs)."""
    xs = []
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1]):
        if (y0 <= y < y1) or (y1 <= y < y0):
            xs.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    return sorted(xs)


def render(size: int, box: tuple[float, float, float, float], paint) -> list[list[tuple[float, ...]]]:
    """Average `paint(inside_shield, unit_point)` over the samples of each pixel; `box` places the unit square
    (left, top, width, height) in pixels."""
    left, top, width, height = box
    polygon = shield()
    rows = []
    for py in range(size):
        row = []
        sample_rows = [(py + (j + 0.5) / SAMPLES - top) / height for j in range(SAMPLES)]
        crossings = [_crossings(polygon, uy) for uy in sample_rows]
        for px in range(size):
            total = None
            for uy, xs in zip(sample_rows, crossings):
                for i in range(SAMPLES):
                    ux = (px + (i + 0.5) / SAMPLES - left) / width
                    colour = paint(bisect.bisect(xs, ux) % 2 == 1, (ux, uy))
                    total = colour if total is None else tuple(a + b for a, b in zip(total, colour))
            row.append(tuple(c / SAMPLES ** 2 for c in total))
        rows.append(row)
    return rows


def color_icon() -> list[list[tuple[int, ...]]]:
    """192×192 RGB: a white shield with the tick cut out, on the accent colour."""
    def paint(inside: bool, p: Point) -> tuple[int, ...]:
        if inside and _line_distance(p, TICK) > 0.055:
            return WHITE
        return ACCENT
    return [[tuple(round(c) for c in px) for px in row] for row in render(192, (44, 36, 104, 120), paint)]


def outline_icon() -> list[list[tuple[int, ...]]]:
    """32×32 RGBA: the shield's edge and the tick in white; everything else transparent."""
    line = 2.0 / 28  # the shield's edge, in unit widths: two pixels
    polygon = shield()

    def paint(inside: bool, p: Point) -> tuple[int, ...]:
        drawn = (inside and _line_distance(p, polygon, closed=True) <= line) or _line_distance(p, TICK) <= 0.06
        return (255, 255, 255, 255) if drawn else (255, 255, 255, 0)
    return [[tuple(round(c) for c in px) for px in row] for row in render(32, (3.5, 1.5, 25, 29), paint)]


def png(rows: list[list[tuple[int, ...]]]) -> bytes:
    """Encode rows of RGB or RGBA pixels as a PNG (8 bits a channel, no filtering)."""
    height, width, channels = len(rows), len(rows[0]), len(rows[0][0])
    raw = b"".join(b"\0" + bytes(c for px in row for c in px) for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, {3: 2, 4: 6}[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def main(folder: Path) -> None:
    """Write color.png and outline.png into a folder."""
    (folder / "color.png").write_bytes(png(color_icon()))
    (folder / "outline.png").write_bytes(png(outline_icon()))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
