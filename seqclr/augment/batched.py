"""The torch executor of the batched pipeline: per-image ops applied on any device,
the Python loop over positions of the images' random orders, never over images.

:func:`seqclr.augment.pipeline.apply` calls :func:`apply_torch` with the stage plan of
:mod:`seqclr.augment.plan`; the fused CPU kernel (:mod:`seqclr.augment.fused`) computes
the same images from the same plan.
"""

from __future__ import annotations

import numpy as np
import torch

from seqclr.augment import ops as O
from seqclr.augment.plan import GEO_STAGE, Params, geometric_maps_for

_CONV_OPS = ("linear_contrast", "blur", "sharpen")  # photometric ops that are a kernel + bias


def geometric_grid_for(p: Params, idx, height: int, width: int, device) -> torch.Tensor:
    """The fused sampling grid (len(idx), H, W, 2) of every active geometric op of
    images ``idx`` (it depends on the parameters only, not on the pixels): the maps of
    :func:`geometric_maps_for`, composed on the CPU, then one grid built on ``device``."""
    before, after, piecewise = geometric_maps_for(p, idx, height, width)
    return O.geometric_grid(height, width, before, after if piecewise else None, piecewise, device=device)


def conv_params(params: Params, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image's kernel and bias (CPU) for each photometric op in ``names`` that is
    a linear filter: (N, len(names), K, K) kernels, (N, len(names)) biases, K the largest
    kernel size (blur's, by imgaug's rule for the batch's largest sigma)."""
    ksize = 3
    if "blur" in names:
        ksize = max(ksize, O.gaussian_kernel_size(float(params.values["blur"]["sigma"].max())))
    kernels, biases = [], []
    for name in names:
        if name == "linear_contrast":
            k, b = O.contrast_as_conv(params.values["linear_contrast"]["alpha"], ksize)
        elif name == "blur":
            k = O.blur_kernels(params.values["blur"]["sigma"], ksize)
            b = torch.zeros(k.shape[0])
        elif name == "sharpen":
            sharpen = params.values["sharpen"]
            k = O.centered(O.sharpen_kernels(sharpen["alpha"], sharpen["lightness"]), ksize)
            b = torch.zeros(k.shape[0])
        else:
            raise ValueError(f"{name!r} is not a linear filter")
        kernels.append(k)
        biases.append(b)
    return torch.stack(kernels, dim=1), torch.stack(biases, dim=1)


def apply_torch(x: torch.Tensor, params: Params, stages: list[str], seq: np.ndarray) -> torch.Tensor:
    """The torch path of :func:`seqclr.augment.pipeline.apply`: x (N, C, H, W) float in
    [0, 1], CPU ``params``, and ``(stages, seq)`` from :func:`seqclr.augment.plan.plan_stages`
    (at least one stage, at least one image).

    Each image gets its active ops in its own order. The Python loop runs over the
    positions of that order, never over images: at each position the images whose op
    there is a linear filter (contrast, blur, sharpen) go through ONE depthwise conv, the
    geometric ones through one warp (and color jitter, SimCLR's, through its own call);
    each group is gathered, processed at once and scattered back (a group that is the
    whole batch, in order, skips both). Per-image kernels and the one fused sampling
    grid are built once per call.
    """
    n = x.shape[0]
    n_stages = len(stages)
    dev = x.device
    # linear filters (contrast, blur, sharpen) of one position run as ONE depthwise conv
    conv_names = [s for s in stages if s in _CONV_OPS]
    slot = np.full(n_stages + 1, -1)
    for j, name in enumerate(conv_names):
        slot[stages.index(name)] = j
    if conv_names:
        kernels, biases = conv_params(params, conv_names)
    geo_idx = grid = None
    geo_start = [0] * (n_stages + 1)
    if stages[-1] == GEO_STAGE:
        # one grid for every image with a geometric op, its rows ordered by the position
        # of that op, so each position's warp reads a contiguous slice of it
        is_geo = seq == n_stages - 1
        geo_pos = np.where(is_geo.any(axis=1), is_geo.argmax(axis=1), n_stages)
        geo_order = np.argsort(geo_pos, kind="stable")
        counts = np.bincount(geo_pos, minlength=n_stages + 1)[:n_stages]
        geo_start = [0] + np.cumsum(counts).tolist()
        if geo_start[-1]:
            geo_idx = torch.from_numpy(geo_order[: geo_start[-1]].copy())
            grid = geometric_grid_for(params, geo_idx, x.shape[-2], x.shape[-1], dev)
            geo_idx = geo_idx.to(dev)
    # every image with an op is written at position 0, so out starts empty (no copy of x)
    out = torch.empty_like(x)
    idle = np.flatnonzero(seq[:, 0] == n_stages)  # no active op at all (sequential specs)
    if idle.size:
        i = torch.from_numpy(idle).to(dev)
        out.index_copy_(0, i, x.index_select(0, i))
    src = x

    def run(rows: torch.Tensor, fn) -> None:
        """out[rows] = fn(src[rows]); rows: CPU or device indices, or None = all, in order."""
        nonlocal out
        if rows is None:
            out = fn(src)
        else:
            idx = rows.to(dev)
            out.index_copy_(0, idx, fn(src.index_select(0, idx)))

    for pos in range(n_stages):
        col = seq[:, pos]
        if conv_names:
            rows = np.flatnonzero(slot[col] >= 0)
            if rows.size:
                r = torch.from_numpy(rows)
                s = torch.from_numpy(slot[col[rows]])
                kern, bias = kernels[r, s].to(dev), biases[r, s].to(dev)
                run(None if rows.size == n else r, lambda t: O.depthwise_conv(t, kern, bias).clamp_(0.0, 1.0))
        if "color_jitter" in stages:
            rows = np.flatnonzero(col == stages.index("color_jitter"))
            if rows.size:
                r = torch.from_numpy(rows)
                jitter = params.values["color_jitter"]
                bright, contrast = (jitter[key][r].to(dev) for key in ("brightness", "contrast"))
                run(r, lambda t: O.color_jitter(t, bright, contrast))
        g0, g1 = geo_start[pos], geo_start[pos + 1]
        if g0 < g1:
            run(geo_idx[g0:g1], lambda t: O.warp(t, grid[g0:g1]))
        src = out
    return out
