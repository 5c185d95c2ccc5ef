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

Two backends compute the same thing (tests/test_augment_fused.py holds them to 1e-4):
``"torch"``, batched torch ops on any device, and ``"fused"``, a compiled kernel that
takes one CPU image at a time through all its ops while it sits in cache
(:mod:`seqclr.augment.fused`, numba). ``backend="auto"`` (the default) picks the fused
kernel for CPU float32 batches that need no gradient, the torch ops elsewhere (GPUs).

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


def _geo_matrix(name: str, p: Params, idx: np.ndarray, h: int, w: int) -> np.ndarray | None:
    """The output->source map of one geometric op (N_sub, 3, 3), or None (piecewise)."""

    def get(key: str) -> np.ndarray:
        return p[f"{name}.{key}"].numpy()[idx].astype(np.float64)

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
    ops = p["ops"]
    n, h, w = len(idx), height, width
    geo = [i for i, name in enumerate(ops) if name in GEOMETRIC_OPS]
    act = p["active"].numpy()[idx][:, geo]  # (n, G)
    big = np.iinfo(np.int64).max
    rank = np.where(act, p["order"].numpy()[idx][:, geo], big)  # inactive last (identity anyway)
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
        nb_r = p["piecewise_affine.nb_rows"].numpy()[idx]
        nb_c = p["piecewise_affine.nb_cols"].numpy()[idx]
        disp = O.piecewise_displacement(p["piecewise_affine.offsets"].numpy()[idx], nb_r, nb_c, h, w)
        # zero where inactive (clipping into the image moves border points even at offset 0)
        piecewise = (disp * act[:, pw_col, None, None, None], nb_r, nb_c)
    return before, after, piecewise


def geometric_grid_for(p: Params, idx, height: int, width: int, device) -> torch.Tensor:
    """The fused sampling grid (len(idx), H, W, 2) of every active geometric op of
    images ``idx`` (it depends on the parameters only, not on the pixels): the maps of
    :func:`geometric_maps_for`, composed on the CPU, then one grid built on ``device``."""
    before, after, piecewise = geometric_maps_for(p, idx, height, width)
    return O.geometric_grid(height, width, before, after if piecewise else None, piecewise, device=device)


_CONV_OPS = ("linear_contrast", "blur", "sharpen")  # photometric ops that are a kernel + bias


def conv_params(params: Params, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image's kernel and bias (CPU) for each photometric op in ``names`` that is
    a linear filter: (N, len(names), K, K) kernels, (N, len(names)) biases, K the largest
    kernel size (blur's, by imgaug's rule for the batch's largest sigma)."""
    ksize = 3
    if "blur" in names:
        ksize = max(ksize, O.gaussian_kernel_size(float(params["blur.sigma"].max())))
    kernels, biases = [], []
    for name in names:
        if name == "linear_contrast":
            k, b = O.contrast_as_conv(params["linear_contrast.alpha"], ksize)
        elif name == "blur":
            k = O.blur_kernels(params["blur.sigma"], ksize)
            b = torch.zeros(k.shape[0])
        elif name == "sharpen":
            k = O.centered(O.sharpen_kernels(params["sharpen.alpha"], params["sharpen.lightness"]), ksize)
            b = torch.zeros(k.shape[0])
        else:
            raise ValueError(f"{name!r} is not a linear filter")
        kernels.append(k)
        biases.append(b)
    return torch.stack(kernels, dim=1), torch.stack(biases, dim=1)


def plan_stages(params: Params) -> tuple[list[str], np.ndarray]:
    """The stages of a batch and each image's sequence of them.

    Stages are the photometric ops, each alone, then one fused geometric stage (last)
    if any geometric op is enabled. Returns ``(stages, seq)`` where ``seq`` (N, S) int
    holds the stage index each image runs at each position, ``S`` once its subset has
    ended. The fused warp sits where the image's first active geometric op is.
    """
    ops = params["ops"]
    active = params["active"].numpy()
    order = params["order"].numpy()
    n = active.shape[0]
    for name in ops:
        if name not in PHOTOMETRIC_OPS and name not in GEOMETRIC_OPS:
            raise ValueError(f"augment.apply: unknown op {name!r}")
    photo = [i for i, name in enumerate(ops) if name in PHOTOMETRIC_OPS]
    geo = [i for i, name in enumerate(ops) if name in GEOMETRIC_OPS]
    stages = [ops[i] for i in photo] + ([_GEO] if geo else [])
    big = np.iinfo(np.int64).max
    rank = np.full((n, len(stages)), big, dtype=np.int64)
    for j, i in enumerate(photo):
        rank[:, j] = np.where(active[:, i], order[:, i], big)
    if geo:
        rank[:, -1] = np.where(active[:, geo], order[:, geo], big).min(axis=1)
    perm = np.argsort(rank, axis=1, kind="stable")
    seq = np.where(np.take_along_axis(rank, perm, axis=1) < big, perm, len(stages))
    return stages, seq


BACKENDS = ("auto", "torch", "fused")


def _fused_ok(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype == torch.float32 and not x.requires_grad


def resolve_backend(x: torch.Tensor, backend: str = "auto") -> str:
    """The backend ``apply`` uses for batch ``x``: ``"fused"`` or ``"torch"``."""
    from seqclr.augment import fused

    if backend not in BACKENDS:
        raise ValueError(f"augment: unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend == "auto":
        return "fused" if _fused_ok(x) and fused.available() else "torch"
    if backend == "fused":
        if not _fused_ok(x):
            raise ValueError(
                "augment: backend 'fused' runs CPU float32 batches without gradient; got "
                f"device={x.device.type}, dtype={x.dtype}, requires_grad={x.requires_grad} (use 'torch' or 'auto')"
            )
        if not fused.available():
            raise ValueError("augment: backend 'fused' needs numba, which is not importable here (use 'torch')")
    return backend


def apply(x: torch.Tensor, params: Params, backend: str = "auto") -> torch.Tensor:
    """Apply sampled (or fixed) parameters to x (N, C, H, W) float in [0, 1].

    ``backend``: ``"auto"`` (fused CPU kernel where it can run, else torch ops),
    ``"torch"`` or ``"fused"`` (see the module docstring). What follows is the torch path.

    Each image gets its active ops in its own order. The Python loop runs over the
    positions of that order, never over images: at each position the images whose op
    there is a linear filter (contrast, blur, sharpen) go through ONE depthwise conv, the
    geometric ones through one warp (and color jitter, SimCLR's, through its own call);
    each group is gathered, processed at once and scattered back (a group that is the
    whole batch, in order, skips both). Per-image kernels and the one fused sampling
    grid are built once per call.
    """
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"augment.apply: expected float (N, C, H, W), got {tuple(x.shape)} {x.dtype}")
    # parameters are small: index and build matrices on the CPU, move only the results
    params = {k: (v.cpu() if torch.is_tensor(v) else v) for k, v in params.items()}
    n = x.shape[0]
    if params["active"].shape[0] != n:
        raise ValueError(f"augment.apply: params for {params['active'].shape[0]} images, batch has {n}")
    use = resolve_backend(x, backend)
    stages, seq = plan_stages(params)
    if not stages or n == 0:
        return x.clone()
    if use == "fused":
        from seqclr.augment import fused

        return fused.run(x, params, stages, seq)
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
    if stages[-1] == _GEO:
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
                bright, contrast = (params[f"color_jitter.{key}"][r].to(dev) for key in ("brightness", "contrast"))
                run(r, lambda t: O.color_jitter(t, bright, contrast))
        g0, g1 = geo_start[pos], geo_start[pos + 1]
        if g0 < g1:
            run(geo_idx[g0:g1], lambda t: O.warp(t, grid[g0:g1]))
        src = out
    return out


class SeqCLRAugment(torch.nn.Module):
    """Batched augmentation from an :class:`AugmentSpec` (default: the SeqCLR pipeline).

    ``aug(x)`` augments each image once; ``aug.two_views(x)`` returns two independently
    augmented views. Runs on x's device; pass a ``torch.Generator`` (CPU) for
    reproducible draws. ``backend``: see :func:`apply`.
    """

    def __init__(self, spec: AugmentSpec | str | dict = "seqclr", backend: str = "auto") -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"SeqCLRAugment: unknown backend {backend!r}; expected one of {BACKENDS}")
        self.spec = get_spec(spec)
        self.backend = backend

    def sample_params(self, n: int, generator: torch.Generator | None = None) -> Params:
        return sample_params(n, self.spec, generator)

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return apply(x, params, self.backend)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return apply(x, sample_params(x.shape[0], self.spec, generator), self.backend)

    def two_views(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self(x, generator), self(x, generator)

    def extra_repr(self) -> str:
        ops = [op.name for op in self.spec.enabled_ops]
        return f"ops={ops}, composition={self.spec.composition!r}, backend={self.backend!r}"


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
