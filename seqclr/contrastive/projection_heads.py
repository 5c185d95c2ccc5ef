"""Projection heads g(.) (section 4): P = g(R), (N, T, F) -> (N, T, F'), discarded after pre-training.

* "none": identity.
* "mlp": Linear - BatchNorm - ReLU - Linear applied to every frame independently (the paper's
  "MLP per frame"). It runs on the *real* frames only (gathered with the length mask and scattered
  back), so BatchNorm statistics are computed over real frames, never padded ones. ``norm="ln"``
  uses LayerNorm instead, ``norm="none"`` none.
* "bilstm": a BidirectionalLSTM (packed, so the backward direction starts at frame T_i - 1) with a
  linear output, for the all/window mappings.

Padded output frames are zero.
"""

from __future__ import annotations

import torch
from torch import nn

from seqclr.models.sequence_modeling import BidirectionalLSTM, check_lengths, lengths_to_mask

HEADS = ("none", "mlp", "bilstm")


def _full_lengths(p: torch.Tensor, lengths: torch.Tensor | None, where: str) -> torch.Tensor:
    if p.dim() != 3:
        raise ValueError(f"{where}: expected P of shape (N, T, F), got {tuple(p.shape)}")
    if lengths is None:
        return torch.full((p.size(0),), p.size(1), dtype=torch.long, device=p.device)
    return check_lengths(lengths, p.size(0), p.size(1), where)


class IdentityHead(nn.Module):
    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim

    def forward(self, p: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return p


class FrameMLPHead(nn.Module):
    """Per-frame MLP; normalization statistics over real frames only (see module docstring)."""

    def __init__(self, in_dim: int, out_dim: int = 128, hidden: int | None = None, norm: str = "bn") -> None:
        super().__init__()
        hidden = hidden or in_dim
        norms = {"bn": lambda: nn.BatchNorm1d(hidden), "ln": lambda: nn.LayerNorm(hidden), "none": nn.Identity}
        if norm not in norms:
            raise ValueError(f"projection_heads.py: norm {norm!r} not in {sorted(norms)}")
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), norms[norm](), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim))
        self.out_dim = out_dim

    def forward(self, p: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        lengths = _full_lengths(p, lengths, "projection_heads.py (mlp)")
        n, t, f = p.shape
        if bool((lengths == t).all()):
            return self.mlp(p.reshape(n * t, f)).view(n, t, -1)
        mask = lengths_to_mask(lengths, t)
        real = self.mlp(p[mask])  # (sum T_i, F'): BatchNorm sees real frames only
        out = real.new_zeros(n, t, real.size(-1))
        out[mask] = real
        return out


class BiLSTMHead(nn.Module):
    """BiLSTM projection head respecting lengths."""

    def __init__(self, in_dim: int, out_dim: int = 128, hidden: int | None = None) -> None:
        super().__init__()
        self.lstm = BidirectionalLSTM(in_dim, hidden or in_dim, out_dim)
        self.out_dim = out_dim

    def forward(self, p: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        lengths = _full_lengths(p, lengths, "projection_heads.py (bilstm)")
        return self.lstm(p, None if bool((lengths == p.size(1)).all()) else lengths)


def build_projection_head(kind: str, in_dim: int, out_dim: int = 128, hidden: int | None = None, **kw) -> nn.Module:
    """kind in {"none", "mlp", "bilstm"}; ``hidden`` defaults to ``in_dim``; every head has ``out_dim``."""
    if kind == "none":
        return IdentityHead(in_dim)
    if kind == "mlp":
        return FrameMLPHead(in_dim, out_dim, hidden, **kw)
    if kind == "bilstm":
        return BiLSTMHead(in_dim, out_dim, hidden)
    raise ValueError(f"projection_heads.py: unknown head {kind!r}; expected one of {HEADS}")
