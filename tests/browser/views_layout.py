"""Measure the explorer's views in a picture of them (a browser screenshot or the PNG itself): how
wide each word view is drawn and how many sample rows there are, from the feature-map frame grid
drawn over every view (seqclr.explorer.views: 27 frame edges per view at 32x100, every fifth red,
the others orange; red edges are 5 frames = 5/26 of the view's width apart).

No browser needed: the unit tests check it on the PNG against matplotlib's own axes sizes."""

from __future__ import annotations

import numpy as np

RED_EDGE_SPACING = 5 / 26  # of a view's width, between consecutive red frame edges in one view


def red_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the red frame edges (tab:red at alpha 0.7, over paper or ink, also where the
    browser's scaling blends them with their neighbours); orange edges and gray words are not."""
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return (r - g > 30) & (np.abs(g - b) < 20) & (r > 120)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D bool array."""
    padded = np.concatenate([[False], flags, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2]))


def measure_views(rgb: np.ndarray) -> dict:
    """``view_width``: the drawn width of one word view, in the picture's pixels (median spacing
    of the red edges / (5/26)); ``rows``: sample rows (vertical runs of red, a row's edges spanning
    its views' height); ``red_columns``: red edges found across one row of views."""
    mask = red_mask(rgb)
    columns = [(a + b - 1) / 2 for a, b in _runs(mask.sum(axis=0) >= max(3, 0.3 * mask.sum(axis=0).max()))]
    rows = [(a, b) for a, b in _runs(mask.any(axis=1)) if b - a >= 5]
    if len(columns) < 2:
        return {"view_width": 0.0, "rows": len(rows), "red_columns": len(columns)}
    spacing = float(np.median(np.diff(columns)))
    return {"view_width": spacing / RED_EDGE_SPACING, "rows": len(rows), "red_columns": len(columns)}
