"""What both augmentation executors share: the per-image parameters, the stage plan and
the composed geometric maps.

- :class:`Params` holds a batch's per-image parameters: which operations each image runs,
  in what order, and each operation's numbers;
- :func:`sample_params` draws them, mirroring imgaug's ``SomeOf((1, None), ops,
  random_order=True)``: subset size uniform in 1..n, a random permutation, the first
  ``size`` operations of it applied in that order; :func:`fixed_params` chooses them by
  hand, :meth:`Params.index` (:func:`index_params`) takes a subset of images;
- :func:`plan_stages` turns them into the stages of a batch and each image's sequence
  of them (the photometric ops, then one fused geometric stage);
- :func:`geometric_maps_for` composes an image's geometric ops, in its own order, into
  the maps that one sampling pass needs.

The torch executor (:mod:`seqclr.augment.batched`) and the fused CPU kernel
(:mod:`seqclr.augment.fused`) both start from these; :func:`seqclr.augment.pipeline.apply`
picks one of them. Neither executor imports the other.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from seqclr.augment import ops as O
from seqclr.augment.spec import (
    GEOMETRIC_OPS,
    INTEGER_PARAMS,
    PHOTOMETRIC_OPS,
    AugmentSpec,
    get_spec,
)

GEO_STAGE = "geometric"  # the fused stage of every geometric op
_MAX_GRID = 4  # imgaug default nb_rows/nb_cols upper bound; grown if a spec asks more
# dimensions of ONE image's value where it is not a scalar (the batch adds a first one)
_VALUE_DIMS = {("perspective", "corners"): 2, ("piecewise_affine", "offsets"): 3}


@dataclass(frozen=True)
class Params:
    """The per-image augmentation parameters of a batch of N images.

    ``ops``: the enabled op names, in spec order (K of them); ``active`` (N, K) bool: the
    ops each image runs; ``order`` (N, K) long: each op's rank in the image's order;
    ``values``: op name -> parameter name -> tensor whose first dimension is the image,
    shape (N,) unless noted: ``perspective`` ``corners`` (N, 4, 2) quad [tl, tr, br, bl]
    as (x, y) fractions; ``piecewise_affine`` ``offsets`` (N, R, C, 2) control-point
    offsets (dy, dx) as fractions of (H, W), ``nb_rows`` / ``nb_cols`` long;
    ``random_resized_crop`` ``x0, y0, w, h`` fractions. Ops without parameters (flip)
    have no entry.
    """

    ops: tuple[str, ...]
    active: torch.Tensor
    order: torch.Tensor
    values: Mapping[str, Mapping[str, torch.Tensor]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, k = self.active.shape[0], len(self.ops)
        if tuple(self.active.shape) != (n, k) or tuple(self.order.shape) != (n, k):
            raise ValueError(
                f"Params: active {tuple(self.active.shape)} and order {tuple(self.order.shape)} "
                f"must both be (images, ops) = ({n}, {k})"
            )

    @property
    def n_images(self) -> int:
        return self.active.shape[0]

    def index(self, idx: torch.Tensor | slice | list[int]) -> Params:
        """The parameters of a subset of images (e.g. one image: ``p.index([i])``)."""
        values = {op: {key: v[idx] for key, v in vals.items()} for op, vals in self.values.items()}
        return Params(self.ops, self.active[idx], self.order[idx], values)

    def to(self, device: str | torch.device) -> Params:
        """Every tensor moved to ``device``."""
        values = {op: {key: v.to(device) for key, v in vals.items()} for op, vals in self.values.items()}
        return Params(self.ops, self.active.to(device), self.order.to(device), values)

    def replace(self, **changes: Any) -> Params:
        """A copy with some fields changed (e.g. ``p.replace(order=p.order.flip(1))``)."""
        return dataclasses.replace(self, **changes)


def _uniform(n: int, rng: tuple[float, float], g: torch.Generator | None) -> torch.Tensor:
    lo, hi = rng
    return lo + (hi - lo) * torch.rand(n, generator=g)


def sample_params(n: int, spec: AugmentSpec | str | dict, generator: torch.Generator | None = None) -> Params:
    """Draw per-image parameters for ``n`` images (CPU tensors; ``apply`` moves them):
    the enabled ops of ``spec``, which of them each image runs and in what order, and
    their numbers (see :class:`Params`)."""
    spec = get_spec(spec)
    g = generator
    ops = tuple(op.name for op in spec.enabled_ops)
    k = len(ops)
    if spec.composition == "some_of" and k > 0:
        size = torch.randint(1, k + 1, (n, 1), generator=g)
        rank = torch.rand(n, k, generator=g).argsort(dim=1).argsort(dim=1)
        active = rank < size
        order = rank if spec.random_order else torch.arange(k).expand(n, k).clone()
    else:
        active = torch.ones(n, k, dtype=torch.bool)
        order = torch.arange(k).expand(n, k).clone()
    probs = torch.tensor([op.p for op in spec.enabled_ops], dtype=torch.float32)
    if k and bool((probs < 1.0).any()):
        active &= torch.rand(n, k, generator=g) < probs
    values: dict[str, dict[str, torch.Tensor]] = {}

    for op in spec.enabled_ops:
        name = op.name
        out = values[name] = {}
        if name == "perspective":
            std = _uniform(n, op.params["scale"], g).view(n, 1, 1)
            j = (torch.randn(n, 4, 2, generator=g) * std).abs().remainder(1.0)
            corners = j.clone()
            corners[:, 1, 0] = 1.0 - j[:, 1, 0]
            corners[:, 2, :] = 1.0 - j[:, 2, :]
            corners[:, 3, 1] = 1.0 - j[:, 3, 1]
            out["corners"] = corners
        elif name == "piecewise_affine":
            rows = op.params["nb_rows"]
            cols = op.params["nb_cols"]
            out["nb_rows"] = torch.randint(int(rows[0]), int(rows[1]) + 1, (n,), generator=g)
            out["nb_cols"] = torch.randint(int(cols[0]), int(cols[1]) + 1, (n,), generator=g)
            std = _uniform(n, op.params["scale"], g).view(n, 1, 1, 1)
            r = max(_MAX_GRID, int(rows[1]))
            c = max(_MAX_GRID, int(cols[1]))
            out["offsets"] = torch.randn(n, r, c, 2, generator=g) * std
            out["scale"] = std.view(n)
        elif name == "random_resized_crop":
            area = _uniform(n, op.params["scale"], g)
            lo, hi = op.params["ratio"]
            ratio = torch.exp(_uniform(n, (math.log(lo), math.log(hi)), g))
            w = (area * ratio).sqrt().clamp(max=1.0)
            h = (area / ratio).sqrt().clamp(max=1.0)
            out["w"] = w
            out["h"] = h
            out["x0"] = (1.0 - w) * torch.rand(n, generator=g)
            out["y0"] = (1.0 - h) * torch.rand(n, generator=g)
        else:
            for key, rng in op.params.items():
                if (name, key) in INTEGER_PARAMS:
                    out[key] = torch.randint(int(rng[0]), int(rng[1]) + 1, (n,), generator=g)
                else:
                    out[key] = _uniform(n, rng, g)
        if not out:  # an op without parameters (flip)
            del values[name]
    return Params(ops, active, order, values)


def fixed_params(n: int, active: list[str] | tuple[str, ...], **values: Mapping[str, Any]) -> Params:
    """Parameters chosen by hand (tests, explorer): ``active`` lists the op names applied
    (in that order) to every image; each keyword is an op name and maps its parameter
    names to a scalar (one value for every image) or ``n`` of them (a sequence or tensor),
    e.g. ``fixed_params(2, ["blur", "crop_vertical"], blur={"sigma": 0.7},
    crop_vertical={"top": 0.1, "bottom": 0.0})``."""
    ops = tuple(active)
    k = len(ops)
    chosen: dict[str, dict[str, torch.Tensor]] = {}
    for op, params in values.items():
        chosen[op] = {}
        for key, v in params.items():
            t = torch.as_tensor(np.asarray(v) if not torch.is_tensor(v) else v)
            per_image_dims = _VALUE_DIMS.get((op, key), 0)
            if t.dim() == per_image_dims:  # one value for every image
                t = t.unsqueeze(0).expand(n, *t.shape).clone()
            elif t.dim() != per_image_dims + 1 or t.shape[0] != n:
                raise ValueError(
                    f"fixed_params: {op} {key} has shape {tuple(t.shape)}; expected one value or {n} of them"
                )
            chosen[op][key] = t.to(torch.long if (op, key) in INTEGER_PARAMS else torch.float32)
    active_t = torch.ones(n, k, dtype=torch.bool)
    return Params(ops, active_t, torch.arange(k).expand(n, k).clone(), chosen)


def index_params(params: Params, idx: torch.Tensor | slice | list[int]) -> Params:
    """The parameters of a subset of images (e.g. one image: ``index_params(p, [i])``);
    the same as ``params.index(idx)``."""
    return params.index(idx)


def _geo_matrix(name: str, p: Params, idx: np.ndarray, h: int, w: int) -> np.ndarray | None:
    """The output->source map of one geometric op (N_sub, 3, 3), or None (piecewise)."""

    def get(key: str) -> np.ndarray:
        return p.values[name][key].numpy()[idx].astype(np.float64)

    def px(frac: np.ndarray, size: int) -> np.ndarray:
        """imgaug crops whole pixels: round the fraction to them."""
        return np.round(frac * size) / size

    z = np.zeros(len(idx))
    if name == "crop_vertical":
        return O.crop_matrix(px(get("top"), h), px(get("bottom"), h), z, z, h, w)
    if name in ("crop_horizontal", "crop_aggressive"):
        return O.crop_matrix(z, z, px(get("left"), w), px(get("right"), w), h, w)
    if name == "random_resized_crop":
        return O.resized_crop_matrix(get("x0"), get("y0"), get("w"), get("h"), h, w)
    if name == "perspective":
        return O.perspective_matrix(get("corners"), h, w)
    if name == "flip":
        return O.flip_matrix(np.ones(len(idx)), w)
    if name == "piecewise_affine":
        return None
    raise ValueError(f"unknown geometric op {name!r}")


def geometric_maps_for(p: Params, idx, height: int, width: int) -> tuple:
    """The geometric ops of images ``idx`` as maps in pixel coordinates (numpy float64),
    composed in each image's own order: ``(before, after, piecewise)`` with ``before``
    the (n, 3, 3) product of the maps applied before the piecewise affine (all of them
    when there is none), ``after`` those applied after it, and ``piecewise`` None or
    ``(displacements (n, R, C, 2) as (dy, dx) pixels, nb_rows (n,), nb_cols (n,))``,
    zero where the image does not run it. See :func:`ops.geometric_grid`."""
    idx = idx.cpu().numpy() if torch.is_tensor(idx) else np.asarray(idx)
    ops = p.ops
    n, h, w = len(idx), height, width
    geo = [i for i, name in enumerate(ops) if name in GEOMETRIC_OPS]
    act = p.active.numpy()[idx][:, geo]  # (n, G)
    big = np.iinfo(np.int64).max
    rank = np.where(act, p.order.numpy()[idx][:, geo], big)  # inactive last (identity anyway)
    eye = O._eye(n)
    mats = np.empty((n, len(geo), 3, 3))
    pw_col = None
    for j, i in enumerate(geo):
        m = _geo_matrix(ops[i], p, idx, h, w)
        if m is None:
            pw_col = j
            mats[:, j] = eye
        else:
            mats[:, j] = np.where(act[:, j, None, None], m, eye)
    perm = np.argsort(rank, axis=1, kind="stable")
    sorted_m = np.take_along_axis(mats, perm[:, :, None, None], axis=1)
    sorted_rank = np.take_along_axis(rank, perm, axis=1)
    pw_rank = rank[:, pw_col] if pw_col is not None else np.full(n, big)
    before, after = eye, eye.copy()
    for j in range(len(geo)):
        is_before = (sorted_rank[:, j] < pw_rank)[:, None, None]
        before = np.where(is_before, before @ sorted_m[:, j], before)
        after = np.where(is_before, after, after @ sorted_m[:, j])
    piecewise = None
    if pw_col is not None:
        pw = p.values["piecewise_affine"]
        nb_r = pw["nb_rows"].numpy()[idx]
        nb_c = pw["nb_cols"].numpy()[idx]
        disp = O.piecewise_displacement(pw["offsets"].numpy()[idx], nb_r, nb_c, h, w)
        # zero where inactive (clipping into the image moves border points even at offset 0)
        piecewise = (disp * act[:, pw_col, None, None, None], nb_r, nb_c)
    return before, after, piecewise


def plan_stages(params: Params) -> tuple[list[str], np.ndarray]:
    """The stages of a batch and each image's sequence of them.

    Stages are the photometric ops, each alone, then one fused geometric stage (last)
    if any geometric op is enabled. Returns ``(stages, seq)`` where ``seq`` (N, S) int
    holds the stage index each image runs at each position, ``S`` once its subset has
    ended. The fused warp sits where the image's first active geometric op is.
    """
    ops = params.ops
    active = params.active.numpy()
    order = params.order.numpy()
    n = active.shape[0]
    for name in ops:
        if name not in PHOTOMETRIC_OPS and name not in GEOMETRIC_OPS:
            raise ValueError(f"augment.apply: unknown op {name!r}")
    photo = [i for i, name in enumerate(ops) if name in PHOTOMETRIC_OPS]
    geo = [i for i, name in enumerate(ops) if name in GEOMETRIC_OPS]
    stages = [ops[i] for i in photo] + ([GEO_STAGE] if geo else [])
    big = np.iinfo(np.int64).max
    rank = np.full((n, len(stages)), big, dtype=np.int64)
    for j, i in enumerate(photo):
        rank[:, j] = np.where(active[:, i], order[:, i], big)
    if geo:
        rank[:, -1] = np.where(active[:, geo], order[:, geo], big).min(axis=1)
    perm = np.argsort(rank, axis=1, kind="stable")
    seq = np.where(np.take_along_axis(rank, perm, axis=1) < big, perm, len(stages))
    return stages, seq
