"""Render one word image with Pillow, recording each character's column extent.

The word is drawn character by character so that each character's ink can be tracked: the pen
advances by ``getlength(a)`` plus the pair kerning ``getlength(a + b) - getlength(a) - getlength(b)``
(measured once per pair at a reference size, then scaled) plus extra letter spacing; each glyph gets its own baseline jitter and a
slight size change (handwriting), then the glyph patch is sheared (slant) about the baseline and
composited. A glyph's box is the column range of its own sheared ink, so the boxes hold in the
final image (after the shear and the crop). Ink and paper tones, blur and noise are applied last.

Three styles: "handwriting" (slant, jitter, dark ink on paper; the hw-v1 benchmark),
"handwriting-v2" (hw-v2: each word is its own writer, with a stroke width from thin to bold, a
slant, letter spacing, a word width, a smoothly drifting baseline and an elastic distortion of the
ink) and "print" (a scene-text stand-in: upright or mildly slanted, varied contrast, sometimes
light text on a dark background). The v2 shape changes (thinning, width, elastic field) act on the
word's ink mask before blur and tones; the character boxes follow them (exactly for the width,
through the row-mean horizontal displacement for the elastic field).
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
    # hw-v2 writer variation (the defaults leave an hw-v1 / print rendering unchanged)
    thin: int = 0  # erosions of the ink mask (3x3 min filter; skipped where half the ink would go)
    x_scale: float = 1.0  # horizontal stretch of the whole word (narrow or wide writing)
    elastic: float = 0.0  # amplitude (pixels) of the smooth random displacement of the ink
    elastic_cell: float = 12.0  # spacing (pixels) of the displacement field's control points


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
    if style == "handwriting-v2":
        return _sample_handwriting_v2(rng, n_chars, margin, noise_seed)
    raise ValueError(f"unknown render style {style!r}; valid: {', '.join(RENDER_STYLES)}")


RENDER_STYLES = ("handwriting", "handwriting-v2", "print")


def _sample_handwriting_v2(rng: np.random.Generator, n_chars: int, margin: tuple, noise_seed: int) -> RenderStyle:
    """hw-v2: one word = one writer (see the module docstring). The baseline drifts along a slow
    sine (amplitude up to 8% of the size) plus per-character jitter."""
    size = int(rng.choice(_HANDWRITING_SIZES))
    pen = int(rng.choice([-1, 0, 0, 0, 1]))  # -1: thinned, 0: the font's, 1: bolder
    amp, freq, phase = rng.uniform(0.0, 0.08) * size, rng.uniform(0.15, 0.6), rng.uniform(0, 2 * math.pi)
    i = np.arange(n_chars)
    drift = amp * np.sin(phase + freq * i) + rng.normal(0.0, rng.uniform(0.0, 0.04) * size, n_chars)
    return RenderStyle(
        size=size,
        shear=float(rng.uniform(-0.25, 0.5)),
        spacing=float(rng.uniform(-0.06, 0.18) * size),
        stroke=max(pen, 0),
        jitter=tuple(float(v) for v in drift),
        scale=tuple(float(v) for v in np.clip(rng.normal(1.0, rng.uniform(0.0, 0.08), n_chars), 0.8, 1.2)),
        ink=int(rng.integers(0, 90)),
        paper=int(rng.integers(200, 256)),
        gradient=float(rng.uniform(-30, 30)),
        blur=float(rng.uniform(0.0, 0.8)),
        noise=float(rng.uniform(0.0, 8.0)),
        margin=margin,
        noise_seed=noise_seed,
        thin=1 if pen < 0 else 0,
        x_scale=float(np.exp(rng.uniform(np.log(0.75), np.log(1.3)))),
        elastic=float(rng.uniform(0.0, 0.06) * size),
        elastic_cell=float(rng.uniform(0.25, 0.5) * size),
    )


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) linear interpolation from n_in control points spread over n_out samples."""
    pos = np.linspace(0.0, n_in - 1.0, n_out)
    lo = np.clip(np.floor(pos).astype(int), 0, max(n_in - 2, 0))
    m = np.zeros((n_out, n_in), dtype=np.float32)
    if n_in == 1:
        m[:, 0] = 1.0
        return m
    f = (pos - lo).astype(np.float32)
    m[np.arange(n_out), lo] = 1.0 - f
    m[np.arange(n_out), lo + 1] = f
    return m


def elastic_warp(alpha: np.ndarray, amplitude: float, cell: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Warp a uint8 ink mask by a smooth random field (control points every ``cell`` pixels,
    normal displacements of std ``amplitude``, bilinear in between and in the sampling). Returns
    (warped mask, source column of each output column along the row mean), the latter for the boxes."""
    h, w = alpha.shape
    rng = np.random.default_rng(seed)
    gh, gw = max(2, int(round(h / cell)) + 1), max(2, int(round(w / cell)) + 1)
    ry, rx = _interp_matrix(h, gh), _interp_matrix(w, gw).T
    dx = ry @ rng.normal(0.0, amplitude, (gh, gw)).astype(np.float32) @ rx
    dy = ry @ rng.normal(0.0, amplitude, (gh, gw)).astype(np.float32) @ rx
    sx = np.clip(np.arange(w, dtype=np.float32)[None, :] + dx, 0, w - 1)
    sy = np.clip(np.arange(h, dtype=np.float32)[:, None] + dy, 0, h - 1)
    x0, y0 = np.minimum(sx.astype(int), w - 2 if w > 1 else 0), np.minimum(sy.astype(int), h - 2 if h > 1 else 0)
    fx, fy = sx - x0, sy - y0
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    a = alpha.astype(np.float32)
    top = a[y0, x0] * (1 - fx) + a[y0, x1] * fx
    bottom = a[y1, x0] * (1 - fx) + a[y1, x1] * fx
    out = np.clip(np.rint(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)
    return out, np.arange(w, dtype=np.float32) + dx.mean(axis=0)


def _map_boxes(boxes: np.ndarray, source_col: np.ndarray) -> np.ndarray:
    """Boxes [x0, x1) in source columns -> output columns, given each output column's source
    column (made monotone first, so a box never inverts)."""
    src = np.maximum.accumulate(source_col)
    return np.stack([np.searchsorted(src, boxes[:, 0]), np.searchsorted(src, boxes[:, 1])], axis=1).astype(np.float32)


def _reshape_ink(crop: np.ndarray, boxes: np.ndarray, params: RenderStyle) -> tuple[np.ndarray, np.ndarray]:
    """hw-v2's shape changes of the cropped ink mask (thinning, width, elastic) and the boxes."""
    for _ in range(params.thin):
        thinner = np.asarray(Image.fromarray(crop).filter(ImageFilter.MinFilter(3)))
        if (thinner >= INK_THRESHOLD).sum() < 0.5 * (crop >= INK_THRESHOLD).sum():
            break  # a thin font would lose its strokes: keep its own pen
        crop = thinner
    if params.x_scale != 1.0:
        h, w = crop.shape
        new_w = max(1, int(round(w * params.x_scale)))
        crop = np.asarray(Image.fromarray(crop).resize((new_w, h), Image.Resampling.BILINEAR))
        boxes = boxes * (new_w / w)
    if params.elastic > 0:
        crop, source_col = elastic_warp(crop, params.elastic, params.elastic_cell, params.noise_seed + 1)
        boxes = _map_boxes(boxes, source_col)
    return crop, np.clip(boxes, 0, crop.shape[1])


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
    offset = xs0 + left  # canvas-x of the crop's column 0
    boxes = np.array([(x0 - offset, x1 - offset) for x0, x1 in spans], dtype=np.float32)
    crop, boxes = _reshape_ink(crop, boxes, params)
    if params.blur > 0:
        crop = np.asarray(Image.fromarray(crop).filter(ImageFilter.GaussianBlur(params.blur)))

    h, w = crop.shape
    a = crop.astype(np.float32) / 255.0
    paper = params.paper + params.gradient * (np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :])
    img = paper + (params.ink - paper) * a
    if params.noise > 0:
        img = img + np.random.default_rng(params.noise_seed).normal(0.0, params.noise, (h, w)).astype(np.float32)
    image = np.clip(np.rint(img), 0, 255).astype(np.uint8)

    meta = {"font": face.key, "family": face.family, "render": asdict(params)}
    return WordSample(image=image, label=text, char_boxes=boxes, meta=meta)
