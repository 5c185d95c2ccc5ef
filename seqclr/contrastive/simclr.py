"""SimCLR baselines of section 5: every image is ONE instance, z = g(flatten(R)).

Images are resized to a fixed width (as the paper does), so T is fixed and R (N, T, F) can be
flattened to (N, T*F). R = V gives "SimCLR", R = H "SimCLR contextual". The head is SimCLR's MLP
(Linear - ReLU - Linear) on the flattened vector; the loss is the same eq. (1) with one instance per
image (NT-Xent).
"""

from __future__ import annotations

import torch
from torch import nn

from seqclr.contrastive.instance_mapping import Instances


class SimCLRHead(nn.Module):
    """Linear(in_dim, hidden) - ReLU - Linear(hidden, out_dim) on flattened feature maps."""

    def __init__(self, in_dim: int, out_dim: int = 128, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or min(in_dim, 2048)
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.size(1) != self.in_dim:
            raise ValueError(f"simclr.py: SimCLRHead expects (N, {self.in_dim}), got {tuple(z.shape)}")
        return self.mlp(z)


def flatten_to_instance(r: torch.Tensor, lengths: torch.Tensor | None = None) -> Instances:
    """(N, T, F) -> one instance per image, (N, T*F). All images must have all T frames."""
    if r.dim() != 3:
        raise ValueError(f"simclr.py: expected R of shape (N, T, F), got {tuple(r.shape)}")
    if lengths is not None and bool((lengths != r.size(1)).any()):
        raise ValueError(
            f"simclr.py: SimCLR flattens fixed-size maps; got frame counts {lengths.tolist()} with T={r.size(1)} "
            "(resize images to a fixed width)"
        )
    idx = torch.arange(r.size(0), device=r.device)
    return Instances(r.reshape(r.size(0), -1), idx, torch.zeros_like(idx))
