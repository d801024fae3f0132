"""Draw the app icons (PNG) without any imaging library: a gate on a teal tile.

Run: uv run python scripts/make_icons.py  (writes pwa/static/icons/*.png)
"""

import struct
import zlib
from pathlib import Path

TEAL = (15, 118, 110)
WHITE = (255, 255, 255)
MINT = (94, 234, 212)


def png(width: int, pixels: list[list[tuple[int, int, int]]]) -> bytes:
    raw = b"".join(b"\0" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = struct.pack(">IIBBBBB", width, width, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def draw(size: int, inset: float) -> bytes:
    """inset: share of the side kept free around the mark (maskable icons need ~20 %)."""
    s = size
    lo, hi = s * inset, s * (1 - inset)
    span = hi - lo

    def inside(x: float, y: float) -> tuple[int, int, int] | None:
        u, v = (x - lo) / span, (y - lo) / span
        if not (0 <= u <= 1 and 0 <= v <= 1):
            return None
        posts = (0.12 <= u <= 0.26 or 0.74 <= u <= 0.88) and 0.12 <= v <= 0.9
        bar = 0.26 < u < 0.74 and (0.3 <= v <= 0.4 or 0.58 <= v <= 0.68)
        caps = (0.08 <= u <= 0.30 or 0.70 <= u <= 0.92) and 0.08 <= v <= 0.16
        if posts or caps:
            return WHITE
        if bar:
            return MINT
        return None

    rows = []
    for y in range(s):
        row = []
        for x in range(s):
            row.append(inside(x + 0.5, y + 0.5) or TEAL)
        rows.append(row)
    return png(s, rows)


def main() -> None:
    out = Path(__file__).resolve().parent.parent / "pwa" / "static" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (out / f"icon-{size}.png").write_bytes(draw(size, 0.16))
        (out / f"maskable-{size}.png").write_bytes(draw(size, 0.26))


if __name__ == "__main__":
    main()
