"""The batched torch augmentation pipeline (our backend; no imgaug needed).

``SeqCLRAugment(spec)`` augments a float batch (N, C, H, W) in [0, 1] on any device.
It works in two steps that the explorer and the tests can call separately:

- :func:`sample_params` draws per-image parameters (a dict of tensors) and which
  operations are active and in what order, mirroring imgaug's ``SomeOf((1, None),
  ops, random_order=True)``: subset size uniform in 1..n, a random permutation,
  the first ``size`` operations of it applied in that order;
- :func:`apply` applies them: photometric ops batched, and ALL geometric ops fused
  into one ``grid_sample``. The fused warp sits where the first active geometric op
  of the image's random order would be (the geometric maps themselves are composed
  in the image's own order); photometric ops keep their exact random order.

Deliberate differences from imgaug (measured in tests/test_augment_parity.py):

- one bilinear resampling for all geometric ops; imgaug resamples once per op and
  resizes crops / perspective results back with cv2 INTER_AREA, which for upscaling
  is a box overlap (nearly nearest neighbour);
- piecewise affine: control displacements interpolated bilinearly (smooth) instead of
  on qhull's Delaunay triangles (whose diagonals it picks arbitrarily); the field is
  evaluated at the axis-aligned part of the maps applied after it;
- float images: clamped to [0, 1] after every op, no uint8 rounding in between;
- blur: one kernel size per batch from the largest sigma (imgaug's rule; 5 taps for
  every sigma <= 1.5, so identical for the SeqCLR range).
"""

from __future__ import annotations

import math
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

Params = dict[str, Any]
_GEO = "geometric"  # the fused stage
_MAX_GRID = 4  # imgaug default nb_rows/nb_cols upper bound; grown if a spec asks more


def _uniform(n: int, rng: tuple[float, float], g: torch.Generator | None) -> torch.Tensor:
    lo, hi = rng
    return lo + (hi - lo) * torch.rand(n, generator=g)


def sample_params(n: int, spec: AugmentSpec | str | dict, generator: torch.Generator | None = None) -> Params:
    """Draw per-image parameters for ``n`` images (CPU tensors; ``apply`` moves them).

    Returns a dict with ``ops`` (tuple of the enabled op names, in spec order),
    ``active`` (N, K) bool, ``order`` (N, K) long application rank of each op, and one
    tensor per parameter named ``"<op>.<param>"`` (shape (N,) unless noted):
    ``perspective.corners`` (N, 4, 2) quad [tl, tr, br, bl] as (x, y) fractions,
    ``piecewise_affine.offsets`` (N, R, C, 2) control-point offsets (dy, dx) as
    fractions of (H, W), ``piecewise_affine.nb_rows/nb_cols`` (N,) long,
    ``random_resized_crop.{x0,y0,w,h}`` fractions.
    """
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
    out: Params = {"ops": ops, "active": active, "order": order}

    for op in spec.enabled_ops:
        name = op.name
        if name == "perspective":
            std = _uniform(n, op.params["scale"], g).view(n, 1, 1)
            j = (torch.randn(n, 4, 2, generator=g) * std).abs().remainder(1.0)
            corners = j.clone()
            corners[:, 1, 0] = 1.0 - j[:, 1, 0]
            corners[:, 2, :] = 1.0 - j[:, 2, :]
            corners[:, 3, 1] = 1.0 - j[:, 3, 1]
            out["perspective.corners"] = corners
        elif name == "piecewise_affine":
            rows = op.params["nb_rows"]
            cols = op.params["nb_cols"]
            out["piecewise_affine.nb_rows"] = torch.randint(int(rows[0]), int(rows[1]) + 1, (n,), generator=g)
            out["piecewise_affine.nb_cols"] = torch.randint(int(cols[0]), int(cols[1]) + 1, (n,), generator=g)
            std = _uniform(n, op.params["scale"], g).view(n, 1, 1, 1)
            r = max(_MAX_GRID, int(rows[1]))
            c = max(_MAX_GRID, int(cols[1]))
            out["piecewise_affine.offsets"] = torch.randn(n, r, c, 2, generator=g) * std
            out["piecewise_affine.scale"] = std.view(n)
        elif name == "random_resized_crop":
            area = _uniform(n, op.params["scale"], g)
            lo, hi = op.params["ratio"]
            ratio = torch.exp(_uniform(n, (math.log(lo), math.log(hi)), g))
            w = (area * ratio).sqrt().clamp(max=1.0)
            h = (area / ratio).sqrt().clamp(max=1.0)
            out["random_resized_crop.w"] = w
            out["random_resized_crop.h"] = h
            out["random_resized_crop.x0"] = (1.0 - w) * torch.rand(n, generator=g)
            out["random_resized_crop.y0"] = (1.0 - h) * torch.rand(n, generator=g)
        else:
            for key, rng in op.params.items():
                if (name, key) in INTEGER_PARAMS:
                    out[f"{name}.{key}"] = torch.randint(int(rng[0]), int(rng[1]) + 1, (n,), generator=g)
                else:
                    out[f"{name}.{key}"] = _uniform(n, rng, g)
    return out


def fixed_params(n: int, active: list[str] | tuple[str, ...], **values: Any) -> Params:
    """Parameters chosen by hand (tests, explorer): ``active`` lists the op names applied
    (in that order) to every image, ``values`` maps ``"op.param"`` keys (use ``op__param``
    as keyword) to scalars or per-image sequences/tensors."""
    ops = tuple(active)
    k = len(ops)
    params: Params = {
        "ops": ops,
        "active": torch.ones(n, k, dtype=torch.bool),
        "order": torch.arange(k).expand(n, k).clone(),
    }
    for key, v in values.items():
        key = key.replace("__", ".")
        t = torch.as_tensor(np.asarray(v) if not torch.is_tensor(v) else v)
        per_image_dims = 2 if key.endswith("corners") else 3 if key.endswith("offsets") else 0
        if t.dim() == per_image_dims:  # one value for every image
            t = t.unsqueeze(0).expand(n, *t.shape).clone()
        elif t.dim() != per_image_dims + 1 or t.shape[0] != n:
            raise ValueError(f"fixed_params: {key} has shape {tuple(t.shape)}; expected one value or {n} of them")
        params[key] = t.to(torch.long if key.endswith(("nb_rows", "nb_cols")) else torch.float32)
    return params


def index_params(params: Params, idx: torch.Tensor | slice | list[int]) -> Params:
    """The parameters of a subset of images (e.g. one image: ``index_params(p, [i])``)."""
    out: Params = {"ops": params["ops"]}
    for key, value in params.items():
        if key != "ops":
            out[key] = value[idx]
    return out


def _geo_matrix(name: str, p: Params, idx: torch.Tensor, h: int, w: int) -> torch.Tensor | None:
    """The output->source map of one geometric op (N_sub, 3, 3), or None (piecewise)."""
    def get(key: str) -> torch.Tensor:
        return p[f"{name}.{key}"][idx]

    def px(frac: torch.Tensor, size: int) -> torch.Tensor:
        """imgaug crops whole pixels: round the fraction to them."""
        return torch.round(frac * size) / size

    if name in ("crop_vertical",):
        z = torch.zeros(len(idx), device=idx.device)
        return O.crop_matrix(px(get("top"), h), px(get("bottom"), h), z, z, h, w)
    if name in ("crop_horizontal", "crop_aggressive"):
        z = torch.zeros(len(idx), device=idx.device)
        return O.crop_matrix(z, z, px(get("left"), w), px(get("right"), w), h, w)
    if name == "random_resized_crop":
        return O.resized_crop_matrix(get("x0"), get("y0"), get("w"), get("h"), h, w)
    if name == "perspective":
        return O.perspective_matrix(get("corners"), h, w)
    if name == "flip":
        return O.flip_matrix(torch.ones(len(idx), dtype=torch.bool, device=idx.device), w)
    if name == "piecewise_affine":
        return None
    raise ValueError(f"unknown geometric op {name!r}")


def geometric_grid_for(p: Params, idx: torch.Tensor, height: int, width: int, device) -> torch.Tensor:
    """The fused sampling grid (len(idx), H, W, 2) of every active geometric op of
    images ``idx`` (it depends on the parameters only, not on the pixels)."""
    ops = p["ops"]
    n, h, w = len(idx), height, width
    geo = [i for i, name in enumerate(ops) if name in GEOMETRIC_OPS]
    act = p["active"][idx][:, geo]  # (n, G)
    rank = p["order"][idx][:, geo].clone()
    rank[~act] = 10_000  # inactive last (and they are identity anyway)
    eye = torch.eye(3).expand(n, 3, 3)
    mats = []
    pw_col = None
    for j, i in enumerate(geo):
        m = _geo_matrix(ops[i], p, idx, h, w)
        if m is None:
            pw_col = j
            mats.append(eye)
        else:
            mats.append(torch.where(act[:, j].view(n, 1, 1), m, eye))
    mats_t = torch.stack(mats, dim=1)  # (n, G, 3, 3)
    perm = rank.argsort(dim=1)
    sorted_m = mats_t.gather(1, perm.view(n, -1, 1, 1).expand(-1, -1, 3, 3))
    sorted_rank = rank.gather(1, perm)
    pw_rank = None
    if pw_col is not None:
        pw_rank = torch.where(act[:, pw_col], rank[:, pw_col], torch.full_like(rank[:, pw_col], 10_000))
    before = eye.clone()
    after = eye.clone()
    for j in range(len(geo)):
        m = sorted_m[:, j]
        if pw_rank is None:
            before = before @ m
        else:
            is_before = (sorted_rank[:, j] < pw_rank).view(n, 1, 1)
            before = torch.where(is_before, before @ m, before)
            after = torch.where(is_before, after, after @ m)
    piecewise = None
    if pw_col is not None:
        pw_on = act[:, pw_col]
        nb_r = p["piecewise_affine.nb_rows"][idx]
        nb_c = p["piecewise_affine.nb_cols"][idx]
        disp = O.piecewise_displacement(p["piecewise_affine.offsets"][idx], nb_r, nb_c, h, w)
        # zero where inactive (clipping into the image moves border points even at offset 0)
        piecewise = (disp * pw_on.view(n, 1, 1, 1), nb_r, nb_c)
    dev = device
    return O.geometric_grid(
        h,
        w,
        before.to(dev),
        after.to(dev) if piecewise else None,
        tuple(t.to(dev) for t in piecewise) if piecewise else None,
    )


def _photometric(name: str, x: torch.Tensor, p: Params, idx: torch.Tensor) -> torch.Tensor:
    dev = x.device
    xs = x[idx.to(dev)]

    def get(key: str) -> torch.Tensor:
        return p[f"{name}.{key}"][idx].to(dev)

    if name == "linear_contrast":
        return O.linear_contrast(xs, get("alpha"))
    if name == "blur":
        s = get("sigma")
        return O.gaussian_blur(xs, s, O.gaussian_kernel_size(float(p["blur.sigma"].max())))
    if name == "sharpen":
        return O.sharpen(xs, get("alpha"), get("lightness"))
    if name == "color_jitter":
        return O.color_jitter(xs, get("brightness"), get("contrast"))
    raise ValueError(f"unknown photometric op {name!r}")


def apply(x: torch.Tensor, params: Params) -> torch.Tensor:
    """Apply sampled (or fixed) parameters to x (N, C, H, W) float in [0, 1].

    Each image gets its active ops in its own order; the work is grouped per
    (position, stage) so the Python loop runs over at most stages^2 groups, never
    over images.
    """
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"augment.apply: expected float (N, C, H, W), got {tuple(x.shape)} {x.dtype}")
    # parameters are small: index and build matrices on the CPU, move only the grid
    params = {k: (v.cpu() if torch.is_tensor(v) else v) for k, v in params.items()}
    ops = params["ops"]
    active = params["active"]
    order = params["order"]
    n = x.shape[0]
    if active.shape[0] != n:
        raise ValueError(f"augment.apply: params for {active.shape[0]} images, batch has {n}")
    if len(ops) == 0 or n == 0:
        return x.clone()
    # stages: each photometric op alone, all geometric ops fused into one
    stages: list[str] = []
    stage_rank = []
    stage_active = []
    big = 10_000
    geo_cols = [i for i, name in enumerate(ops) if name in GEOMETRIC_OPS]
    for i, name in enumerate(ops):
        if name in PHOTOMETRIC_OPS:
            stages.append(name)
            stage_active.append(active[:, i])
            stage_rank.append(torch.where(active[:, i], order[:, i], torch.full_like(order[:, i], big)))
        elif name not in GEOMETRIC_OPS:
            raise ValueError(f"augment.apply: unknown op {name!r}")
    if geo_cols:
        ga = active[:, geo_cols]
        gr = torch.where(ga, order[:, geo_cols], torch.full_like(order[:, geo_cols], big))
        stages.append(_GEO)
        stage_active.append(ga.any(dim=1))
        stage_rank.append(gr.min(dim=1).values)
    rank = torch.stack(stage_rank, dim=1)  # (N, S)
    act = torch.stack(stage_active, dim=1)
    perm = rank.argsort(dim=1)  # stage index at each position
    perm_act = act.gather(1, perm)
    grid = row_of = None
    if geo_cols:
        # one grid for all images with a geometric op, whatever their position
        geo_idx = torch.nonzero(stage_active[-1]).flatten()
        if geo_idx.numel():
            grid = geometric_grid_for(params, geo_idx, x.shape[-2], x.shape[-1], x.device)
            row_of = torch.full((n,), -1, dtype=torch.long)
            row_of[geo_idx] = torch.arange(geo_idx.numel())
    out = x.clone()
    for pos in range(len(stages)):
        col_act = perm_act[:, pos]
        if not bool(col_act.any()):
            break
        col = perm[:, pos]
        for s, stage in enumerate(stages):
            idx = torch.nonzero(col_act & (col == s)).flatten()
            if idx.numel() == 0:
                continue
            if stage == _GEO:
                res = O.warp(out[idx.to(out.device)], grid[row_of[idx].to(out.device)])
            else:
                res = _photometric(stage, out, params, idx)
            out[idx.to(out.device)] = res
    return out


class SeqCLRAugment(torch.nn.Module):
    """Batched augmentation from an :class:`AugmentSpec` (default: the SeqCLR pipeline).

    ``aug(x)`` augments each image once; ``aug.two_views(x)`` returns two independently
    augmented views. Runs on x's device; pass a ``torch.Generator`` (CPU) for
    reproducible draws.
    """

    def __init__(self, spec: AugmentSpec | str | dict = "seqclr") -> None:
        super().__init__()
        self.spec = get_spec(spec)

    def sample_params(self, n: int, generator: torch.Generator | None = None) -> Params:
        return sample_params(n, self.spec, generator)

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return apply(x, params)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return apply(x, sample_params(x.shape[0], self.spec, generator))

    def two_views(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self(x, generator), self(x, generator)

    def extra_repr(self) -> str:
        return f"ops={[op.name for op in self.spec.enabled_ops]}, composition={self.spec.composition!r}"


def light_augment() -> SeqCLRAugment:
    """Decoder-training augmentation (light crop, linear contrast, blur)."""
    return SeqCLRAugment("light")


def simclr_augment() -> SeqCLRAugment:
    """SimCLR's sequence-breaking augmentation, grayscale."""
    return SeqCLRAugment("simclr")


def from_uint8(images: np.ndarray | torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
    """uint8 (N, H, W) (0 = ink, 255 = paper) -> float32 (N, 1, H, W) in [0, 1]."""
    t = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if t.dtype != torch.uint8 or t.dim() != 3:
        raise ValueError(f"from_uint8: expected uint8 (N, H, W), got {t.dtype} {tuple(t.shape)}")
    return t.to(device).unsqueeze(1).to(torch.float32) / 255.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (N, 1, H, W) in [0, 1] -> uint8 (N, H, W) numpy, rounded."""
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"to_uint8: expected (N, 1, H, W), got {tuple(x.shape)}")
    return (x[:, 0].detach().float().cpu() * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
