"""Render one word image with Pillow, recording each character's column extent.

The word is drawn character by character so that each character's ink can be tracked: the pen
advances by ``getlength(a)`` plus the pair kerning ``getlength(a + b) - getlength(a) - getlength(b)``
(measured once per pair at a reference size, then scaled) plus extra letter spacing; each glyph gets its own baseline jitter and a
slight size change (handwriting), then the glyph patch is sheared (slant) about the baseline and
composited. A glyph's box is the column range of its own sheared ink, so the boxes hold in the
final image (after the shear and the crop). Ink and paper tones, blur and noise are applied last.

Two styles: "handwriting" (slant, jitter, dark ink on paper) and "print" (a scene-text stand-in:
upright or mildly slanted, varied contrast, sometimes light text on a dark background).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from seqclr.data.fonts import FontFace, load_font
from seqclr.data.sample import WordSample

# Font sizes come from small sets (images are resized to 32x100 later anyway) so the glyph cache
# stays small and warm.
_HANDWRITING_SIZES = (30, 34, 38, 42, 46)
_PRINT_SIZES = (28, 32, 36, 40, 44)
INK_THRESHOLD = 64  # alpha (0..255) above which a pixel of a glyph patch counts as that glyph's ink


@dataclass(frozen=True)
class RenderStyle:
    """Every random choice of one rendering (drawn by ``sample_render_style``)."""

    size: int  # font size in pixels
    shear: float  # horizontal shear (slant): x' = x - shear * y, y measured up from the baseline
    spacing: float  # extra letter spacing, in pixels (may be negative: tighter)
    stroke: int  # Pillow stroke width (thicker pen)
    jitter: tuple[float, ...]  # per-character baseline offset in pixels (+ = down)
    scale: tuple[float, ...]  # per-character size factor
    ink: int  # ink gray level 0..255
    paper: int  # paper gray level 0..255 (ink > paper: light text on a dark background)
    gradient: float  # paper brightness change across the width (gray levels, signed)
    blur: float  # Gaussian blur radius
    noise: float  # std of additive Gaussian noise (gray levels)
    margin: tuple[int, int, int, int]  # crop margin left, top, right, bottom (pixels)
    noise_seed: int = 0  # seed of the noise field


def sample_render_style(rng: np.random.Generator, n_chars: int, style: str = "handwriting") -> RenderStyle:
    """Draw the rendering parameters of one word of ``n_chars`` characters."""
    margin = tuple(int(v) for v in rng.integers(1, 5, size=4))
    noise_seed = int(rng.integers(0, 2**31))
    if style == "handwriting":
        size = int(rng.choice(_HANDWRITING_SIZES))
        paper = int(rng.integers(205, 256))
        ink = int(rng.integers(0, 90))
        return RenderStyle(
            size=size,
            shear=float(rng.uniform(-0.15, 0.45)),
            spacing=float(rng.uniform(-0.04, 0.12) * size),
            stroke=int(rng.choice([0, 0, 0, 1])),
            jitter=tuple(float(v) for v in rng.normal(0.0, rng.uniform(0.0, 0.05) * size, n_chars)),
            scale=tuple(float(v) for v in np.clip(rng.normal(1.0, rng.uniform(0.0, 0.06), n_chars), 0.85, 1.15)),
            ink=ink,
            paper=paper,
            gradient=float(rng.uniform(-25, 25)),
            blur=float(rng.uniform(0.0, 0.8)),
            noise=float(rng.uniform(0.0, 8.0)),
            margin=margin,
            noise_seed=noise_seed,
        )
    if style == "print":
        size = int(rng.choice(_PRINT_SIZES))
        contrast = int(rng.integers(70, 230))
        if rng.random() < 0.25:  # light text on a dark background
            paper = int(rng.integers(0, 256 - contrast))
            ink = paper + contrast
        else:
            paper = int(rng.integers(contrast, 256))
            ink = paper - contrast
        return RenderStyle(
            size=size,
            shear=float(rng.uniform(-0.15, 0.2)) if rng.random() < 0.3 else 0.0,
            spacing=float(rng.uniform(-0.02, 0.15) * size),
            stroke=int(rng.choice([0, 0, 0, 1])),
            jitter=tuple(float(v) for v in rng.normal(0.0, rng.uniform(0.0, 0.015) * size, n_chars)),
            scale=(1.0,) * n_chars,
            ink=ink,
            paper=paper,
            gradient=float(rng.uniform(-40, 40)),
            blur=float(rng.uniform(0.0, 0.8)),
            noise=float(rng.uniform(0.0, 10.0)),
            margin=margin,
            noise_seed=noise_seed,
        )
    raise ValueError(f"unknown render style {style!r}; valid: handwriting, print")


@functools.lru_cache(maxsize=32768)
def _glyph(path: str, size: int, char: str, stroke: int) -> tuple[np.ndarray, int, int]:
    """Alpha mask of one glyph and its offset (left, top) from the pen at the baseline."""
    font = load_font(path, size)
    left, top, right, bottom = font.getbbox(char, anchor="ls", stroke_width=stroke)
    w, h = max(1, right - left), max(1, bottom - top)
    im = Image.new("L", (w, h), 0)
    ImageDraw.Draw(im).text((-left, -top), char, font=font, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
    mask = np.asarray(im)
    mask.setflags(write=False)
    return mask, left, top


@functools.lru_cache(maxsize=65536)
def _length(path: str, size: int, text: str) -> float:
    return float(load_font(path, size).getlength(text))


_KERN_SIZE = 40


@functools.lru_cache(maxsize=131072)
def _kern(path: str, pair: str) -> float:
    """Kerning of a character pair at the reference size (pair length minus the two lengths)."""
    return _length(path, _KERN_SIZE, pair) - _length(path, _KERN_SIZE, pair[0]) - _length(path, _KERN_SIZE, pair[1])


def _advance(path: str, size: int, prev: str, char: str) -> float:
    """Pen advance from ``prev`` to ``char``: prev's advance plus the pair kerning, the kerning
    measured once per pair at a reference size and scaled (pair lengths are slow to lay out)."""
    return _length(path, size, prev) + _kern(path, prev + char) * size / _KERN_SIZE


def _shear_patch(mask: np.ndarray, gx: int, gy: int, k: float) -> tuple[np.ndarray, int]:
    """Shear a glyph patch whose top-left is at global (gx, gy); returns (patch, new left x)."""
    h, w = mask.shape
    if k == 0.0:
        return mask, gx
    x_top, x_bottom = gx - k * gy, gx - k * (gy + h)
    x0 = math.floor(min(x_top, x_bottom))
    out_w = w + int(math.ceil(abs(k) * h)) + 2
    im = Image.fromarray(mask).transform(
        (out_w, h), Image.Transform.AFFINE, (1.0, k, x0 - gx + k * gy, 0.0, 1.0, 0.0), resample=Image.Resampling.BILINEAR
    )
    return np.asarray(im), x0


def render_text(text: str, face: FontFace, params: RenderStyle) -> WordSample:
    """Render ``text`` with ``face`` and explicit ``params``; see the module docstring."""
    if not text:
        raise ValueError("cannot render an empty label")
    if len(params.jitter) != len(text) or len(params.scale) != len(text):
        raise ValueError(f"label {text!r}: params are for {len(params.jitter)} characters, not {len(text)}")
    missing = [c for c in text if c not in face.coverage]
    if missing:
        raise ValueError(f"label {text!r}: font {face.key} has no glyph for {missing!r}")
    path = str(face.path)
    patches: list[tuple[np.ndarray, int, int]] = []  # (sheared mask, x, y)
    spans: list[tuple[float, float] | None] = []  # sheared column extent of each glyph's ink
    pen = 0.0
    for i, ch in enumerate(text):
        size = max(8, 2 * int(round(params.size * params.scale[i] / 2)))  # even sizes only: cache
        if i > 0:
            prev = text[i - 1]
            pen += _advance(path, size, prev, ch) + params.spacing
        if ch == " ":
            adv = _length(path, size, " ")
            spans.append((pen, pen + adv))  # the space's own cell, at the baseline (unsheared there)
            continue
        mask, left, top = _glyph(path, size, ch, params.stroke)
        gx, gy = int(round(pen)) + left, int(round(params.jitter[i])) + top
        sheared, x0 = _shear_patch(mask, gx, gy, params.shear)
        cols = np.flatnonzero(sheared.max(axis=0) >= INK_THRESHOLD)
        if cols.size == 0:  # a hairline glyph at a small size: fall back to any ink
            cols = np.flatnonzero(sheared.max(axis=0) > 0)
        spans.append((x0 + cols[0], x0 + cols[-1] + 1) if cols.size else (x0, x0 + sheared.shape[1]))
        patches.append((sheared, x0, gy))
    if not patches:
        raise ValueError(f"label {text!r} has no visible character")

    xs0 = min(x for _, x, _ in patches)
    ys0 = min(y for _, _, y in patches)
    xs1 = max(x + p.shape[1] for p, x, _ in patches)
    ys1 = max(y + p.shape[0] for p, _, y in patches)
    alpha = np.zeros((ys1 - ys0, xs1 - xs0), dtype=np.uint8)
    for p, x, y in patches:
        region = alpha[y - ys0 : y - ys0 + p.shape[0], x - xs0 : x - xs0 + p.shape[1]]
        np.maximum(region, p, out=region)

    # Tight crop around the ink, plus the margin (outside the canvas counts as blank paper).
    rows = np.flatnonzero(alpha.max(axis=1) > 0)
    cols = np.flatnonzero(alpha.max(axis=0) > 0)
    ml, mt, mr, mb = params.margin
    top, bottom = rows[0] - mt, rows[-1] + 1 + mb
    left, right = cols[0] - ml, cols[-1] + 1 + mr
    crop = np.zeros((bottom - top, right - left), dtype=np.uint8)
    sy0, sy1 = max(top, 0), min(bottom, alpha.shape[0])
    sx0, sx1 = max(left, 0), min(right, alpha.shape[1])
    crop[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = alpha[sy0:sy1, sx0:sx1]
    if params.blur > 0:
        crop = np.asarray(Image.fromarray(crop).filter(ImageFilter.GaussianBlur(params.blur)))

    h, w = crop.shape
    a = crop.astype(np.float32) / 255.0
    paper = params.paper + params.gradient * (np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :])
    img = paper + (params.ink - paper) * a
    if params.noise > 0:
        img = img + np.random.default_rng(params.noise_seed).normal(0.0, params.noise, (h, w)).astype(np.float32)
    image = np.clip(np.rint(img), 0, 255).astype(np.uint8)

    offset = xs0 + left  # canvas-x of the crop's column 0
    boxes = np.array([(x0 - offset, x1 - offset) for x0, x1 in spans], dtype=np.float32)
    boxes = np.clip(boxes, 0, w)
    meta = {"font": face.key, "family": face.family, "render": asdict(params)}
    return WordSample(image=image, label=text, char_boxes=boxes, meta=meta)
