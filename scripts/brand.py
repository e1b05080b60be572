"""Draw the integration's brand images: a sun over a solar panel (icon) and the icon with its name (logo).

``.venv/bin/python scripts/brand.py`` writes them to ``custom_components/sems/brand/`` in the layout Home
Assistant 2026.3+ reads for custom integrations (``icon.png``, ``logo.png``, ``@2x`` and ``dark_``
variants). The drawing is plain geometry, so the images come out the same on every machine with the
pinned Pillow; ``tests/test_repo.py`` redraws them and compares.
"""

from __future__ import annotations

import sys
from math import cos, radians, sin
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND_DIR = Path(__file__).resolve().parent.parent / "custom_components" / "sems" / "brand"
SUPERSAMPLE = 4  # drawn this much larger, then scaled down: smooth edges without antialiasing support
NAME = "SEMS Local Solar"

SUN = (249, 168, 37, 255)  # amber
SUN_CORE = (255, 202, 40, 255)
PANEL = (21, 101, 192, 255)  # blue
FRAME = (13, 71, 161, 255)
CELL_LINE = (144, 202, 249, 255)
TEXT = {False: (33, 33, 33, 255), True: (240, 240, 240, 255)}  # light theme, dark theme


def _icon(size: int) -> Image.Image:
    """The icon, ``size`` pixels square, transparent around the drawing (which touches every edge)."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def px(fraction: float) -> float:
        return fraction * big

    # The sun, upper right: eight rays around a disc.
    cx, cy, radius = px(0.70), px(0.27), px(0.17)
    ray_inner, ray_outer, ray_width = radius * 1.25, px(0.27), px(0.05)
    for step in range(8):
        angle = step * 45
        dx, dy = cos(radians(angle)), sin(radians(angle))
        start = (cx + dx * ray_inner, cy + dy * ray_inner)
        end = (min(cx + dx * ray_outer, big - 1), max(cy + dy * ray_outer, 0))
        draw.line([start, end], fill=SUN, width=round(ray_width))
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=SUN)
    core = radius * 0.72
    draw.ellipse([cx - core, cy - core, cx + core, cy + core], fill=SUN_CORE)

    # The panel, lower left: a tilted 4 x 3 grid of cells in a frame.
    top_left, top_right = (px(0.16), px(0.47)), (px(0.80), px(0.47))
    bottom_left, bottom_right = (px(0.0), px(1.0) - 1), (px(0.96), px(1.0) - 1)
    draw.polygon([top_left, top_right, bottom_right, bottom_left], fill=FRAME)
    inset = px(0.03)
    inner = [
        (top_left[0] + inset, top_left[1] + inset),
        (top_right[0] - inset, top_right[1] + inset),
        (bottom_right[0] - inset * 1.3, bottom_right[1] - inset),
        (bottom_left[0] + inset * 1.3, bottom_left[1] - inset),
    ]
    draw.polygon(inner, fill=PANEL)

    def along(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
        return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)

    line = round(px(0.018))
    for column in (1, 2, 3):
        t = column / 4
        draw.line([along(inner[0], inner[1], t), along(inner[3], inner[2], t)], fill=CELL_LINE, width=line)
    for row in (1, 2):
        t = row / 3
        draw.line([along(inner[0], inner[3], t), along(inner[1], inner[2], t)], fill=CELL_LINE, width=line)
    # Trimmed: the drawing fills the square edge to edge in its longer direction, centred in the other.
    box = image.getbbox()
    if box is not None:
        drawing = image.crop(box)
        side = max(drawing.size)
        image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        image.alpha_composite(drawing, ((side - drawing.width) // 2, (side - drawing.height) // 2))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _logo(height: int, *, dark: bool) -> Image.Image:
    """The icon with the integration's name beside it, ``height`` pixels high, trimmed."""
    icon = _icon(height)
    font = ImageFont.load_default(size=round(height * 0.42))
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), NAME, font=font, stroke_width=round(height * 0.012))
    gap = round(height * 0.16)
    width = height + gap + (right - left)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.alpha_composite(icon, (0, 0))
    draw = ImageDraw.Draw(image)
    text_y = (height - (bottom - top)) / 2 - top
    draw.text(
        (height + gap - left, text_y),
        NAME,
        font=font,
        fill=TEXT[dark],
        stroke_width=round(height * 0.012),
        stroke_fill=TEXT[dark],
    )
    box = image.getbbox()
    return image.crop(box) if box else image


def images() -> dict[str, Image.Image]:
    """Every brand image by file name. One icon serves both themes; the logo's name changes colour."""
    return {
        "icon.png": _icon(256),
        "icon@2x.png": _icon(512),
        "logo.png": _logo(128, dark=False),
        "logo@2x.png": _logo(256, dark=False),
        "dark_logo.png": _logo(128, dark=True),
        "dark_logo@2x.png": _logo(256, dark=True),
    }


def main() -> int:
    """Write every image (optimized PNG) to the brand folder."""
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    for name, image in images().items():
        image.save(BRAND_DIR / name, optimize=True)
        print(f"{BRAND_DIR / name}: {image.width}x{image.height}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
