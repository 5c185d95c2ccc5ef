"""Content-aligned shift between the two views (a remedy for positional shortcuts, beyond the paper).

Kišš & Hradiš (2024, "Self-supervised pre-training of text recognizers") find that contrastive
pretraining of text recognizers can be won by encoding where a frame sits in the image instead of
what it shows, and counter it by shifting the images. Here the two views of image i show the same
content at different places: its first W - s_i columns, at the left of view a and at the right of
view b (s_i = k_i frame strides, k_i drawn in [0, max_frames]; the gap repeats the edge column).
The instances are then pooled over the content's frames only, frames [0, T - k_i) of view a and
[k_i, T) of view b (``FrameSpans``), so a positive pair shares its content but not its position,
and an encoder that only knows positions can no longer tell the positive from the negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class FrameSpans:
    """Per image: the first content frame of view a and of view b, and the content's frame count."""

    start_a: torch.Tensor  # (N,) int64
    start_b: torch.Tensor  # (N,) int64
    length: torch.Tensor  # (N,) int64


def shift_columns(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images moved right by ``shifts`` (N,) whole pixels (left when negative), the
    edge column repeated into the gap."""
    n, c, h, w = x.shape
    cols = torch.arange(w, device=x.device).unsqueeze(0) - shifts.to(x.device).long().unsqueeze(1)
    index = cols.clamp(0, w - 1).view(n, 1, 1, w).expand(n, c, h, w)
    return x.gather(3, index)


def shift_views(
    x_a: torch.Tensor, x_b: torch.Tensor, max_frames: int, n_frames: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, FrameSpans]:
    """The content-aligned pair of the module doc: view a keeps its first W - s columns at the left
    (the rest repeats its last content column), view b shows its first W - s columns moved right
    by s = k * W / n_frames pixels; returns both views and their FrameSpans."""
    n, w = x_a.size(0), x_a.size(3)
    k = torch.randint(0, max_frames + 1, (n,), generator=generator)
    s = torch.round(k.double() * w / n_frames).long()
    cut = torch.arange(w).unsqueeze(0) < (w - s).unsqueeze(1)  # content columns of view a
    last = (w - s - 1).clamp(min=0).view(n, 1).expand(n, w)
    index = torch.where(cut, torch.arange(w).expand(n, w), last).to(x_a.device)
    x_a = x_a.gather(3, index.view(n, 1, 1, w).expand_as(x_a))
    x_b = shift_columns(x_b, s)
    return x_a, x_b, FrameSpans(torch.zeros_like(k), k, n_frames - k)
