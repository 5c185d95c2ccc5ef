"""Cross-rank negatives for the contrastive loss under torch.distributed.

``gather_with_grad(z)`` all-gathers every rank's instances (ranks may hold different counts, e.g.
with frame-to-instance). Its backward sums the gradient of the gathered tensor over ranks
(all_reduce) and returns this rank's slice, like solo-learn's / lightly's GatherLayer: with each
rank computing its share of the loss, the gradient w.r.t. a rank's own instances then equals the
gradient of the *total* loss, exactly as a single process on the concatenated batch.

Note: DistributedDataParallel averages parameter gradients over ranks; multiply the loss by the
world size if you want the parameter gradients of the single-process total loss.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather_sizes(n: int, device: torch.device) -> list[int]:
    """Instance count of every rank."""
    local = torch.tensor([n], dtype=torch.long, device=device)
    sizes = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, local)
    return [int(s) for s in sizes]


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor, sizes: list[int], rank: int) -> torch.Tensor:
        padded = z.new_zeros((max(sizes),) + tuple(z.shape[1:]))
        padded[: z.size(0)] = z
        buffers = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(buffers, padded)
        ctx.sizes, ctx.rank = sizes, rank
        return torch.cat([b[:s] for b, s in zip(buffers, sizes)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        offset = sum(ctx.sizes[: ctx.rank])
        return grad[offset : offset + ctx.sizes[ctx.rank]], None, None


def gather_with_grad(z: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(all ranks' z concatenated in rank order, offset of this rank's rows). Identity when not
    running distributed."""
    if not is_distributed():
        return z, 0
    sizes = gather_sizes(z.size(0), z.device)
    rank = dist.get_rank()
    return _GatherWithGrad.apply(z.contiguous(), sizes, rank), sum(sizes[:rank])
