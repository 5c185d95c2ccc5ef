"""Static figures of the explorer: an original word image beside two augmented views (a positive
pair) for each backend, with the feature-map frame grid drawn over them, and figure 2's
counter-examples (flip, aggressive horizontal crop)."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from seqclr.augment.pipeline import apply, from_uint8, to_uint8
from seqclr.augment.plan import index_params, sample_params
from seqclr.augment.reference import apply_params_numpy
from seqclr.augment.spec import AugmentSpec, OpSpec

COLUMN_TITLES = {"torch": "ours (torch)", "imgaug": "imgaug reference"}
# Figure size per image column and per sample row (inches, drawn at 100 dpi): a 32x100 word is
# drawn 300 px wide, so the views stay large where the notebook scales the figure to its width.
COLUMN_INCHES = 3.0
ROW_INCHES = 1.05
DRAWS = 32  # draws per view are made for this many images (or n if more), the first n used
FONT_SIZE = 10  # titles and word labels


def frame_edges(width: int, frames: int) -> np.ndarray:
    """Column boundaries of the ``frames`` feature-map frames over an image ``width`` wide: each
    frame (an instance under frame-to-instance) covers an equal slice of the input."""
    return np.linspace(0.0, float(width), frames + 1)


def augment_views(images: np.ndarray, spec: AugmentSpec, seed: int, backend: str) -> tuple[np.ndarray, np.ndarray]:
    """Two independently augmented views (uint8 (N, H, W) each) of ``images`` with ``backend``.

    Both backends get the SAME draws for a given seed (sampled once by our pipeline, then applied
    by our ops or, op by op in each image's order, by imgaug), so the columns of the two backends
    are directly comparable. Image i's draws do not depend on how many images there are, so
    adding samples leaves the rows already shown as they were."""
    g = torch.Generator().manual_seed(seed)
    n = len(images)
    draws = [index_params(sample_params(max(n, DRAWS), spec, g), slice(0, n)) for _ in range(2)]
    if backend == "torch":
        x = from_uint8(images)
        return to_uint8(apply(x, draws[0])), to_uint8(apply(x, draws[1]))
    if backend == "imgaug":
        return apply_params_numpy(images, draws[0]), apply_params_numpy(images, draws[1])
    raise ValueError(f"unknown backend {backend!r}; known: torch, imgaug")


def only(op: str, **params) -> AugmentSpec:
    """A spec that applies exactly one operation (for the counter-example figure)."""
    return AugmentSpec((OpSpec(op, params=params),), composition="sequential", random_order=False)


def _draw(ax, image: np.ndarray, edges: np.ndarray | None, title: str | None) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    if edges is not None:
        for i, x in enumerate(edges):
            ax.axvline(x - 0.5, color="tab:orange" if i % 5 else "tab:red", lw=0.6, alpha=0.7)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=FONT_SIZE)


def views_figure(
    images: np.ndarray,
    labels: list[str],
    columns: dict[str, tuple[np.ndarray, np.ndarray]],
    frames: int,
    notes: dict[str, str] | None = None,
):
    """Rows: samples. Columns: the original, then views a and b of each backend in ``columns``."""
    matplotlib.use("Agg", force=False)

    n, h, w = images.shape
    ncols = 1 + 2 * len(columns)
    fig = Figure(figsize=(COLUMN_INCHES * ncols + 0.6, ROW_INCHES * n + 0.5), layout="constrained")
    axes = fig.subplots(n, ncols, squeeze=False)
    edges = frame_edges(w, frames)
    for i in range(n):
        _draw(axes[i, 0], images[i], edges, "original" if i == 0 else None)
        axes[i, 0].set_ylabel(labels[i], rotation=0, ha="right", va="center", fontsize=FONT_SIZE)
        for j, (backend, (va, vb)) in enumerate(columns.items()):
            name = COLUMN_TITLES.get(backend, backend)
            _draw(axes[i, 1 + 2 * j], va[i], edges, f"{name}: view a" if i == 0 else None)
            _draw(axes[i, 2 + 2 * j], vb[i], edges, f"{name}: view b" if i == 0 else None)
    if notes:
        fig.suptitle("; ".join(f"{k}: {v}" for k, v in notes.items()), fontsize=FONT_SIZE)
    return fig


def counter_examples_figure(images: np.ndarray, labels: list[str], frames: int, seed: int = 0):
    """Figure 2 of the paper: flip and aggressive horizontal crop misalign the sequence (the
    frame under a character moves or the character disappears), unlike vertical crop."""
    g = torch.Generator().manual_seed(seed)
    x = from_uint8(images)
    cols = {
        "vertical crop (kept)": only("crop_vertical", top=(0.2, 0.2), bottom=(0.2, 0.2)),
        "flip (breaks order)": only("flip"),
        "30% h-crop (cuts chars)": only("crop_aggressive", left=(0.15, 0.15), right=(0.15, 0.15)),
    }
    out = {k: to_uint8(apply(x, sample_params(len(images), s, g))) for k, s in cols.items()}
    matplotlib.use("Agg", force=False)

    n, _, w = images.shape
    fig = Figure(figsize=(COLUMN_INCHES * (1 + len(out)) + 0.6, ROW_INCHES * n + 0.5), layout="constrained")
    axes = fig.subplots(n, 1 + len(out), squeeze=False)
    edges = frame_edges(w, frames)
    for i in range(n):
        _draw(axes[i, 0], images[i], edges, "original" if i == 0 else None)
        axes[i, 0].set_ylabel(labels[i], rotation=0, ha="right", va="center", fontsize=FONT_SIZE)
        for j, (title, imgs) in enumerate(out.items()):
            _draw(axes[i, 1 + j], imgs[i], edges, title if i == 0 else None)
    return fig


