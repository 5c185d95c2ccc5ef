"""A horizontal shift of each view (a remedy for positional shortcuts, beyond the paper).

Kišš & Hradiš (2024, "Self-supervised pre-training of text recognizers") find that contrastive
pretraining of text recognizers can be won by encoding where a frame sits in the image instead of
what it shows, and counter it by shifting the images. With ``max_shift`` > 0 each view is moved
left or right by its own whole number of pixels in [-max_shift, max_shift] (the image edges are
repeated), after the view's augmentation: the two views of a window then no longer sit at the same
columns, so only the content can tell them apart from the other windows.
"""

from __future__ import annotations

import torch
from torch import nn


def shift_columns(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images moved right by ``shifts`` (N,) whole pixels (left when negative), the
    edge column repeated into the gap."""
    n, c, h, w = x.shape
    cols = torch.arange(w, device=x.device).unsqueeze(0) - shifts.to(x.device).long().unsqueeze(1)
    index = cols.clamp(0, w - 1).view(n, 1, 1, w).expand(n, c, h, w)
    return x.gather(3, index)


class ShiftedViews(nn.Module):
    """An augmenter followed by a random horizontal shift of every image (see the module doc)."""

    def __init__(self, augment: nn.Module, max_shift: int) -> None:
        super().__init__()
        if max_shift < 0:
            raise ValueError(f"view_shift must be >= 0, got {max_shift}")
        self.augment, self.max_shift = augment, int(max_shift)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = self.augment(x, generator=generator)
        if self.max_shift == 0:
            return x
        shifts = torch.randint(-self.max_shift, self.max_shift + 1, (x.size(0),), generator=generator)
        return shift_columns(x, shifts)
