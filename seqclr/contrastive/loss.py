"""The SeqCLR contrastive loss, eq. (1) of the paper:

    L(Z^a, Z^b) = sum_r l_NCE(z^a_r, z^b_r; Z^a u Z^b) + sum_r l_NCE(z^b_r, z^a_r; Z^a u Z^b)
    l_NCE(u^a, u^b; U) = -log exp(sim(u^a, u^b)/tau) / sum_{u in U minus u^a} exp(sim(u^a, u)/tau)

with cosine similarity. The denominator excludes only the anchor itself (the positive stays in it).
tau is not given in the paper; we default to 0.1, SimCLR's common choice for large batches.
``reduction="mean"`` divides by the 2M anchors, ``"sum"`` is eq. (1) literally.

Two modes with identical values and gradients:
* dense (``chunk_size=None``): materializes the (2M x 2M) similarity matrix.
* streaming (``chunk_size=int``): a custom autograd Function processes ``chunk_size`` anchor rows at
  a time, keeps only the per-row log-sum-exp (O(M) memory) in forward and recomputes each block of
  similarities in backward to accumulate the gradient (flash-attention-style). Peak extra memory is
  O(chunk_size * 2M) instead of O((2M)^2).

``distributed=True`` gathers instances of every rank (see distributed.py) so all of them serve as
negatives; each rank returns its share of the loss (the sum over ranks is the single-process loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqclr.contrastive.distributed import gather_with_grad

DEFAULT_TAU = 0.1


class _StreamingLogSumExp(torch.autograd.Function):
    """lse[a] = logsumexp_{c != anchors[a]} (u[anchors[a]] . u[c]) / tau, computed in row blocks."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, anchors: torch.Tensor, tau: float, chunk_size: int) -> torch.Tensor:
        lse = u.new_empty(anchors.numel())
        for start in range(0, anchors.numel(), chunk_size):
            idx = anchors[start : start + chunk_size]
            s = _block_logits(u, idx, tau)
            lse[start : start + idx.numel()] = torch.logsumexp(s, dim=1)
        ctx.save_for_backward(u, anchors, lse)
        ctx.tau, ctx.chunk_size = tau, chunk_size
        return lse

    @staticmethod
    def backward(ctx, grad_lse: torch.Tensor):
        u, anchors, lse = ctx.saved_tensors
        tau, chunk = ctx.tau, ctx.chunk_size
        grad_u = torch.zeros_like(u)
        for start in range(0, anchors.numel(), chunk):
            idx = anchors[start : start + chunk]
            s = _block_logits(u, idx, tau)
            # d lse_a / d s_ac = softmax_ac (0 on the anchor's own column); s_ac = u_a . u_c / tau
            g = torch.exp(s - lse[start : start + idx.numel(), None]) * (grad_lse[start : start + idx.numel(), None] / tau)
            grad_u.index_add_(0, idx, g @ u)  # rows: d/d u_a
            grad_u += g.t() @ u[idx]  # columns: d/d u_c
        return grad_u, None, None, None


def _block_logits(u: torch.Tensor, idx: torch.Tensor, tau: float) -> torch.Tensor:
    s = (u[idx] @ u.t()) / tau
    s[torch.arange(idx.numel(), device=u.device), idx] = float("-inf")  # U minus the anchor
    return s


def nce_terms(
    u: torch.Tensor, anchors: torch.Tensor, positives: torch.Tensor, tau: float, chunk_size: int | None = None
) -> torch.Tensor:
    """Per-anchor l_NCE for L2-normalized instances ``u`` (K, F): anchor rows ``anchors`` with their
    positives ``positives`` (both (A,) indices into u); negatives are all of u except the anchor."""
    pos = (u[anchors] * u[positives]).sum(-1) / tau
    if chunk_size is None:
        lse = torch.logsumexp(_block_logits(u, anchors, tau), dim=1)
    else:
        if int(chunk_size) < 1:
            raise ValueError(f"loss.py: chunk_size must be a positive int or None, got {chunk_size!r}")
        lse = _StreamingLogSumExp.apply(u, anchors, float(tau), int(chunk_size))
    return lse - pos


def _check_pair(za: torch.Tensor, zb: torch.Tensor, tau: float, reduction: str) -> None:
    if za.dim() != 2 or za.shape != zb.shape:
        raise ValueError(f"loss.py: za and zb must both be (M, F) with equal shapes, got {tuple(za.shape)} and {tuple(zb.shape)}")
    if za.size(0) < 1:
        raise ValueError("loss.py: need at least one instance (M >= 1)")
    if not tau > 0:
        raise ValueError(f"loss.py: tau must be > 0, got {tau}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"loss.py: reduction {reduction!r} not in ('mean', 'sum')")


def seqclr_nce_loss(
    za: torch.Tensor,
    zb: torch.Tensor,
    tau: float = DEFAULT_TAU,
    reduction: str = "mean",
    chunk_size: int | None = None,
    distributed: bool = False,
) -> torch.Tensor:
    """Eq. (1) for aligned instances za, zb (M, F): row r of za and zb is a positive pair.

    reduction "mean" divides by 2M (2M_total under ``distributed``), "sum" returns the sum.
    chunk_size None -> dense; int -> streaming (same values and gradients, O(M) saved memory).
    distributed -> instances of all ranks are negatives; returns this rank's share."""
    _check_pair(za, zb, tau, reduction)
    m = za.size(0)
    if distributed:
        za_all, offset = gather_with_grad(za)
        zb_all, _ = gather_with_grad(zb)
        total = za_all.size(0)
    else:
        za_all, zb_all, offset, total = za, zb, 0, m
    u = F.normalize(torch.cat([za_all, zb_all]), dim=-1)
    local = torch.arange(m, device=za.device) + offset
    anchors = torch.cat([local, local + total])
    positives = torch.cat([local + total, local])
    losses = nce_terms(u, anchors, positives, tau, chunk_size)
    return losses.sum() / (2 * total) if reduction == "mean" else losses.sum()
