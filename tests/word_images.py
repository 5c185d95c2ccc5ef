"""Real word images for the augmentation parity tests: four words drawn with Kalam (a fontpkg
font), cropped to their ink and resized to 32x100, as uint8 (ink dark on white paper)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

H, W = 32, 100
WORDS = ["Hello", "quick", "Brown42", "jumps"]


def kalam_words(font_root) -> np.ndarray:
    """(4, H, W) uint8; ``font_root``: fontpkg_kalam.ROOT."""
    font = ImageFont.truetype(str(font_root / "files" / "Kalam-Regular.ttf"), 40)
    out = []
    for word in WORDS:
        im = Image.new("L", (400, 64), 255)
        ImageDraw.Draw(im).text((6, 4), word, font=font, fill=0)
        x0, y0, x1, y1 = Image.eval(im, lambda v: 255 - v).getbbox()
        im = im.crop((max(0, x0 - 4), max(0, y0 - 3), x1 + 4, y1 + 3)).resize((W, H), Image.BILINEAR)
        out.append(np.asarray(im))
    return np.stack(out)
