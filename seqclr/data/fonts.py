"""Fonts of the embedded default data: discovery, writer-independent splits, glyph coverage.

The fonts come from the ``fontpkg-*`` PyPI packages (Google Fonts families). ``fontpkg`` registers
each installed family under the ``fontpkg.family`` entry-point group; ``fontpkg.families()`` maps a
family slug to its files (path, style, weight). A font family plays the role of a writer: the
families are split into disjoint train / val / test sets, like the writer-independent IAM split,
so a test family is never seen in training.

Glyph coverage is read from the font's cmap (fontTools) and checked by rendering: a character
counts as covered only if it is in the cmap, its glyph has ink (space excepted), and, for a
lowercase letter, its glyph is not the uppercase glyph (caps-only fonts such as Bebas Neue map
lowercase code points to the capitals; a label "a" drawn as "A" would be wrong).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import fontpkg
import numpy as np
from fontTools.ttLib import TTFont  # fonttools ships with matplotlib
from PIL import Image, ImageDraw, ImageFont

from seqclr.data.charset import get_charset

HANDWRITING_SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "caveat",
        "dancing-script",
        "indie-flower",
        "kalam",
        "shadows-into-light",
        "satisfy",
        "permanent-marker",
        "great-vibes",
        "delius",
        "pacifico",
    ),
    "val": ("yellowtail", "lobster-two"),
    "test": ("zeyada", "oleo-script"),
}

PRINT_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("roboto", "open-sans", "lato", "merriweather", "oswald", "source-code-pro"),
    "val": ("playfair-display", "bebas-neue"),
    "test": ("pt-serif", "anton"),
}

FONT_SPLITS: dict[str, dict[str, tuple[str, ...]]] = {
    "handwriting": HANDWRITING_SPLITS,
    "print": PRINT_SPLITS,
}
SPLITS: tuple[str, ...] = ("train", "val", "test")

# Families whose lowercase glyphs are distinct code points but drawn as capitals (a label "a"
# would show "A"): their lowercase letters count as not covered. Exact aliases (Bebas Neue) are
# found from the font tables; this list holds the look-alikes found by eye.
CAPS_ONLY_FAMILIES: frozenset[str] = frozenset({"permanent-marker"})
STYLES: tuple[str, ...] = tuple(FONT_SPLITS)

# Characters whose coverage is checked: everything a preset charset may ask for.
_CANDIDATES = get_charset("french").symbols
_PROBE_SIZE = 40


@dataclass(frozen=True)
class FontFace:
    """One font file of a family, with the characters it can draw."""

    family: str
    path: Path
    style: str  # "normal" or "italic"
    weight: int | None  # None for a variable font (drawn at its default instance)

    @property
    def coverage(self) -> frozenset[str]:
        """Characters this face draws (computed on first use, then cached per file)."""
        cov = glyph_coverage(self.path)
        if self.family in CAPS_ONLY_FAMILIES:
            cov = frozenset(c for c in cov if not c.islower())
        return cov

    def covers(self, text: str) -> bool:
        return all(c in self.coverage for c in text)

    @property
    def key(self) -> str:
        return f"{self.family}/{self.path.name}"


REGULAR_WEIGHT = 400
MIN_WEIGHT = 300  # thinner static weights (Lato Thin, ExtraLight) vanish at 32 px height: not used


@functools.lru_cache(maxsize=512)
def load_font(path: str | Path, size: int) -> ImageFont.FreeTypeFont:
    """A cached Pillow font (one object per file and pixel size). A variable font is set to its
    regular weight (its default instance may be light, e.g. Source Code Pro)."""
    font = ImageFont.truetype(str(path), size)
    try:
        axes = font.get_variation_axes()
    except (OSError, AttributeError):  # not a variable font (or FreeType without variations)
        return font
    values = []
    for axis in axes:
        name = axis["name"].decode("ascii", "replace") if isinstance(axis["name"], bytes) else str(axis["name"])
        if name.strip().lower() in ("weight", "wght"):
            values.append(float(min(max(REGULAR_WEIGHT, axis["minimum"]), axis["maximum"])))
        else:
            values.append(float(axis["default"]))
    font.set_variation_by_axes(values)
    return font


def _glyph_bitmap(font: ImageFont.FreeTypeFont, char: str) -> np.ndarray:
    bbox = font.getbbox(char)
    w, h = max(1, bbox[2] - bbox[0]), max(1, bbox[3] - bbox[1])
    im = Image.new("L", (w, h), 0)
    ImageDraw.Draw(im).text((-bbox[0], -bbox[1]), char, font=font, fill=255)
    return np.asarray(im)


def _is_alias(tt, glyf, lower: str, upper: str, path: str) -> bool:
    """True when the glyph of ``lower`` is the glyph of ``upper`` (same name, a bare reference, or
    identical outline); fonts without a glyf table are compared by rendering."""
    if lower == upper:
        return True
    if glyf is None:
        font = load_font(path, _PROBE_SIZE)
        a = _glyph_bitmap(font, _char_of(tt, lower))
        b = _glyph_bitmap(font, _char_of(tt, upper))
        return a.shape == b.shape and bool(np.array_equal(a, b))
    g = glyf[lower]
    if g.isComposite() and len(g.components) == 1:
        c = g.components[0]
        if c.glyphName == upper and c.x == 0 and c.y == 0 and not hasattr(c, "transform"):
            return True
    try:
        ca, _, _ = g.getCoordinates(glyf)
        cb, _, _ = glyf[upper].getCoordinates(glyf)
    except Exception:  # malformed glyph: not an alias we can prove
        return False
    return len(ca) > 0 and list(ca) == list(cb)


def _char_of(tt, glyph_name: str) -> str:
    for code, name in tt.getBestCmap().items():
        if name == glyph_name:
            return chr(code)
    raise KeyError(glyph_name)


@functools.lru_cache(maxsize=256)
def glyph_coverage(path: str | Path) -> frozenset[str]:
    """Characters of the preset charsets that the font at ``path`` really draws (see module doc).

    Read from the font tables (no rendering for TrueType outlines): in the cmap, with an outline
    (space excepted), and for a lowercase letter not an alias of its capital.
    """
    with TTFont(str(path), lazy=True) as tt:
        cmap = tt.getBestCmap() or {}
        glyf = tt["glyf"] if "glyf" in tt else None
        covered = set()
        for c in _CANDIDATES:
            name = cmap.get(ord(c))
            if name is None:
                continue
            if c != " " and glyf is not None and glyf[name].numberOfContours == 0:
                continue  # empty glyph: would draw nothing
            covered.add(c)
        for c in list(covered):
            up = c.upper()
            if c.islower() and len(up) == 1 and up in covered and _is_alias(
                tt, glyf, cmap[ord(c)], cmap[ord(up)], str(path)
            ):
                covered.discard(c)  # lowercase drawn as the capital (caps-only font)
    return frozenset(covered)


def split_families(style: str, split: str) -> tuple[str, ...]:
    """The family slugs of one (style, split) that are installed, in the fixed split order."""
    return tuple(dict.fromkeys(f.family for f in split_faces(style, split)))


def split_faces(style: str, split: str) -> tuple[FontFace, ...]:
    """The installed font faces of one (style, split) of the original (v1) font splits, in a
    fixed order (the versioned benchmarks of seqclr.data.benchmarks name their own families).

    Raises ValueError for an unknown style or split, and RuntimeError when none of the split's
    families is installed (the fontpkg-* packages are dependencies of seqclr).
    """
    if style not in FONT_SPLITS:
        raise ValueError(f"unknown style {style!r}; valid: {', '.join(STYLES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    return family_faces(FONT_SPLITS[style][split], f"{style}/{split}")


@functools.lru_cache(maxsize=64)
def family_faces(families: tuple[str, ...], what: str = "") -> tuple[FontFace, ...]:
    """The installed faces of ``families`` (static weights below MIN_WEIGHT left out), in a fixed
    order; RuntimeError naming the packages when none is installed (``what`` names the split)."""
    fams = fontpkg.families()
    faces = []
    for slug in families:
        if slug not in fams:
            continue
        for f in sorted(fams[slug].files, key=lambda f: (f.style, f.weight or 0, f.path.name)):
            if f.weight is not None and f.weight < MIN_WEIGHT:
                continue
            faces.append(FontFace(slug, Path(f.path), f.style, f.weight))
    if not faces:
        raise RuntimeError(
            f"no font of the {what or 'requested'} split is installed; install one of "
            + ", ".join(f"fontpkg-{s}" for s in families)
        )
    return tuple(faces)
