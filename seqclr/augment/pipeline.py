"""The batched torch augmentation pipeline (our backend; no imgaug needed).

``BatchAugment(spec)`` augments a float batch (N, C, H, W) in [0, 1] on any device, with
any :class:`~seqclr.augment.spec.AugmentSpec` (the SeqCLR, light and SimCLR presets, a spec
file). ``SeqCLRAugment`` is its former name, kept for one release (a DeprecationWarning).
It works in two steps that the explorer and the tests can call separately:

- :func:`seqclr.augment.plan.sample_params` draws per-image parameters (a
  :class:`~seqclr.augment.plan.Params`) and which
  operations are active and in what order, mirroring imgaug's ``SomeOf((1, None),
  ops, random_order=True)``: subset size uniform in 1..n, a random permutation,
  the first ``size`` operations of it applied in that order;
- :func:`apply` applies them: photometric ops batched, and ALL geometric ops fused
  into one ``grid_sample``. The fused warp sits where the first active geometric op
  of the image's random order would be (the geometric maps themselves are composed
  in the image's own order); photometric ops keep their exact random order.

Two backends compute the same thing (tests/test_augment_fused.py holds them to 1e-4)
from the same plan (:mod:`seqclr.augment.plan`):
``"torch"``, batched torch ops on any device (:mod:`seqclr.augment.batched`), and ``"fused"``, a compiled kernel that
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

import warnings

import numpy as np
import torch

from seqclr.augment.batched import apply_torch
from seqclr.augment.plan import Params, plan_stages, sample_params
from seqclr.augment.spec import AugmentSpec, get_spec

BACKENDS = ("auto", "torch", "fused")


def _fused_ok(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype == torch.float32 and not x.requires_grad


def resolve_backend(x: torch.Tensor, backend: str = "auto") -> str:
    """The backend ``apply`` uses for batch ``x``: ``"fused"`` or ``"torch"``."""
    from seqclr.augment import fused  # lazy: imports numba (heavy), only once a batch is augmented

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
    ``"torch"`` (:func:`seqclr.augment.batched.apply_torch`) or ``"fused"``
    (:func:`seqclr.augment.fused.apply_fused`); see the module docstring.
    """
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"augment.apply: expected float (N, C, H, W), got {tuple(x.shape)} {x.dtype}")
    # parameters are small: index and build matrices on the CPU, move only the results
    params = params.to("cpu")
    n = x.shape[0]
    if params.n_images != n:
        raise ValueError(f"augment.apply: params for {params.n_images} images, batch has {n}")
    use = resolve_backend(x, backend)
    stages, seq = plan_stages(params)
    if not stages or n == 0:
        return x.clone()
    if use == "fused":
        from seqclr.augment import fused  # lazy: numba, as in resolve_backend

        return fused.apply_fused(x, params, stages, seq)
    return apply_torch(x, params, stages, seq)


class BatchAugment(torch.nn.Module):
    """Batched augmentation from any :class:`AugmentSpec` (default: the SeqCLR pipeline).

    ``aug(x)`` augments each image once; ``aug.two_views(x)`` returns two independently
    augmented views. Runs on x's device; pass a ``torch.Generator`` (CPU) for
    reproducible draws. ``backend``: see :func:`apply`.
    """

    def __init__(self, spec: AugmentSpec | str | dict = "seqclr", backend: str = "auto") -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"BatchAugment: unknown backend {backend!r}; expected one of {BACKENDS}")
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


class SeqCLRAugment(BatchAugment):
    """Deprecated: the former name of :class:`BatchAugment` (it runs every spec, not only
    SeqCLR's); kept for one release, it warns when made."""

    def __init__(self, spec: AugmentSpec | str | dict = "seqclr", backend: str = "auto") -> None:
        warnings.warn(
            "seqclr.augment.SeqCLRAugment is deprecated and will be removed in the next release: "
            "use seqclr.augment.BatchAugment (the same class, renamed)",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(spec, backend)


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
