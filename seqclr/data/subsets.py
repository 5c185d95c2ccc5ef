"""Labeled subsets for the semi-supervised protocol (fine-tuning on 5%, 10%, 100% of the labels).

The paper uses "the same randomly selected data for all the experiments": the subset depends only
on (n, fraction, seed), never on the method. A subset is a prefix of one seeded permutation, so
for one seed the 5% subset is contained in the 10% subset.
"""

from __future__ import annotations

import numbers

import numpy as np


def labeled_subset(n: int, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of round(fraction * n) items (at least 1) out of range(n).

    n: dataset size (>= 1); fraction: in (0, 1]; seed: non-negative integer.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    k = max(1, int(round(float(fraction) * int(n))))
    order = np.random.default_rng(int(seed)).permutation(int(n))
    return np.sort(order[:k]).astype(np.int64)
