"""Draw the collector app's icons (service/collector_app/shell/static/icons/) with the standard
library only: a green disc with a white "K" (192 and 512 px), and a maskable 512 px one whose
"K" sits inside the safe circle on a full green square (a launcher crops it to its own shape).

    .venv/bin/python -m bench.app_icons

Shapes are signed distances, so each pixel's coverage (anti-aliasing) is one subtraction.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "service" / "collector_app" / "shell" / "static" / "icons"
GREEN = (10, 92, 50)  # the app's theme colour, #0a5c32
WHITE = (255, 255, 255)
STROKE = 0.062  # half the width of the K's strokes, as a fraction of the icon
# The K's strokes in a unit square (x right, y down): the stem and its two arms.
K_STROKES = (
    ((0.37, 0.28), (0.37, 0.72)),
    ((0.40, 0.55), (0.64, 0.28)),
    ((0.475, 0.47), (0.66, 0.72)),
)


def _segment(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from a point to the segment a-b."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def _k_distance(x: float, y: float, scale: float) -> float:
    """Signed distance to the K (negative inside), the K shrunk by ``scale`` about the centre."""
    ux, uy = 0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale
    return min(_segment(ux, uy, a, b) for a, b in K_STROKES) * scale - STROKE * scale


def _coverage(distance: float, size: int) -> float:
    """How much of a pixel a shape covers, from its signed distance in icon units."""
    return max(0.0, min(1.0, 0.5 - distance * size))


def draw(size: int, maskable: bool) -> bytes:
    """RGBA rows of the icon."""
    background: Callable[[float, float], float]
    if maskable:
        scale = 0.8  # the maskable safe zone is the middle circle of 80% of the width

        def background(x: float, y: float) -> float:
            return 1.0
    else:
        scale = 1.0

        def background(x: float, y: float) -> float:
            return _coverage(math.hypot(x - 0.5, y - 0.5) - 0.48, size)

    rows = bytearray()
    for row in range(size):
        rows.append(0)  # filter: none
        y = (row + 0.5) / size
        for column in range(size):
            x = (column + 0.5) / size
            alpha = background(x, y)
            ink = _coverage(_k_distance(x, y, scale), size) if alpha else 0.0
            colour = (round(g + (w - g) * ink) for g, w in zip(GREEN, WHITE, strict=True))
            rows.extend((*colour, round(alpha * 255)))
    return bytes(rows)


def png(size: int, rgba_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rgba_rows, 9))
        + chunk(b"IEND", b"")
    )


ICONS = {"icon-192.png": (192, False), "icon-512.png": (512, False), "icon-maskable-512.png": (512, True)}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (size, maskable) in ICONS.items():
        data = png(size, draw(size, maskable))
        (OUT / name).write_bytes(data)
        print(f"{OUT / name}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
