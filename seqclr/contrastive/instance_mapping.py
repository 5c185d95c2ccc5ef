"""Instance-mapping functions m(.) (section 4, Fig. 5): (N, T, F) projected frames + lengths ->
instances for the contrastive loss.

* "all": all-to-instance, masked average of the T_i real frames -> N instances.
* "window": window-to-instance, adaptive average pooling of the T_i real frames to T' instances
  (default 5) -> N*T' instances. Bins match torch's adaptive_avg_pool1d per image
  (window_bounds: start = floor(i*T_i/T'), end = ceil((i+1)*T_i/T')); done for the whole batch at once with a
  (N, T', T) pooling-weight matrix built from the lengths.
* "frame": frame-to-instance, every real frame -> sum_i T_i instances.

Instances come in (image, position) row-major order, so two views of the same images with equal
T_i give aligned Z^a, Z^b.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqclr.models.sequence_modeling import check_lengths, lengths_to_mask

MAPPINGS = ("all", "window", "frame")


@dataclass
class Instances:
    """z (M, F) instances; image_index (M,) source image; position (M,) window/frame index."""

    z: torch.Tensor
    image_index: torch.Tensor
    position: torch.Tensor

    def __len__(self) -> int:
        return self.z.size(0)


def _prepare(p: torch.Tensor, lengths: torch.Tensor | None, where: str) -> torch.Tensor:
    if p.dim() != 3:
        raise ValueError(f"{where}: expected P of shape (N, T, F), got {tuple(p.shape)}")
    if lengths is None:
        return torch.full((p.size(0),), p.size(1), dtype=torch.long, device=p.device)
    return check_lengths(torch.as_tensor(lengths, device=p.device), p.size(0), p.size(1), where)


def all_to_instance(p: torch.Tensor, lengths: torch.Tensor | None = None) -> Instances:
    lengths = _prepare(p, lengths, "instance_mapping.py (all)")
    mask = lengths_to_mask(lengths, p.size(1)).unsqueeze(-1).to(p.dtype)
    z = (p * mask).sum(1) / lengths.unsqueeze(-1).to(p.dtype)
    idx = torch.arange(p.size(0), device=p.device)
    return Instances(z, idx, torch.zeros_like(idx))


def window_bounds(length: int | torch.Tensor, n_instances: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(start, end) frames of the ``n_instances`` windows over ``length`` frames, adaptive_avg_pool1d's
    bins: start_i = floor(i * T / T'), end_i = ceil((i + 1) * T / T'). ``length``: an int (two (T',)
    tensors) or a tensor of lengths (shape (..., T'))."""
    length = torch.as_tensor(length)
    i = torch.arange(n_instances, device=length.device)
    length = length.unsqueeze(-1)
    start = torch.div(i * length, n_instances, rounding_mode="floor")
    end = torch.div((i + 1) * length + n_instances - 1, n_instances, rounding_mode="floor")
    return start, end


def adaptive_pool_weights(
    lengths: torch.Tensor, max_len: int, n_out: int, dtype=torch.float32, starts: torch.Tensor | None = None
) -> torch.Tensor:
    """(N, n_out, max_len) averaging weights reproducing adaptive_avg_pool1d on each
    x[i, :, s_i : s_i + T_i] (``starts`` s_i, default 0: the content-aligned view shift), over the
    bins of :func:`window_bounds`."""
    t = torch.arange(max_len, device=lengths.device).view(1, 1, -1)
    if starts is not None:
        t = t - starts.to(lengths.device).view(-1, 1, 1)
    start, end = (b.unsqueeze(-1) for b in window_bounds(lengths.reshape(-1), n_out))
    inside = (t >= start) & (t < end)
    return inside.to(dtype) / (end - start).to(dtype)


class WindowToInstance:
    def __init__(self, n_instances: int = 5) -> None:
        if n_instances < 1:
            raise ValueError(f"instance_mapping.py: n_instances must be >= 1, got {n_instances}")
        self.n_instances = n_instances

    def __call__(self, p: torch.Tensor, lengths: torch.Tensor | None = None, starts: torch.Tensor | None = None) -> Instances:
        """Windows of frames [starts, starts + lengths) of each sequence (starts default 0)."""
        lengths = _prepare(p, lengths, "instance_mapping.py (window)")
        n, t, f = p.shape
        if starts is not None and bool((starts + lengths > t).any()):
            raise ValueError(f"instance_mapping.py (window): starts + lengths exceed the {t} frames")
        w = adaptive_pool_weights(lengths, t, self.n_instances, p.dtype, starts)
        z = torch.bmm(w, p).reshape(n * self.n_instances, f)
        pos = torch.arange(self.n_instances, device=p.device)
        return Instances(z, torch.arange(n, device=p.device).repeat_interleave(self.n_instances), pos.repeat(n))


def window_to_instance(p: torch.Tensor, lengths: torch.Tensor | None = None, n_instances: int = 5) -> Instances:
    return WindowToInstance(n_instances)(p, lengths)


def frame_to_instance(p: torch.Tensor, lengths: torch.Tensor | None = None) -> Instances:
    lengths = _prepare(p, lengths, "instance_mapping.py (frame)")
    mask = lengths_to_mask(lengths, p.size(1))
    image_index, position = mask.nonzero(as_tuple=True)
    return Instances(p[mask], image_index, position)


def get_instance_mapping(name: str, **kw):
    """name in {"all", "window", "frame"}; "window" takes n_instances (T', default 5).

    Returns a callable (P (N, T, F), lengths (N,) | None) -> Instances."""
    if name in ("all", "frame") and kw:
        raise ValueError(f"instance_mapping.py: mapping {name!r} takes no options, got {sorted(kw)}")
    if name == "all":
        return all_to_instance
    if name == "window":
        return WindowToInstance(**kw)
    if name == "frame":
        return frame_to_instance
    raise ValueError(f"instance_mapping.py: unknown mapping {name!r}; expected one of {MAPPINGS}")
