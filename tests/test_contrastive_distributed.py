"""Two gloo processes, each with part of the batch, reproduce the single-process loss and grads."""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from seqclr.contrastive import seqclr_nce_loss

SPLIT = (3, 4)  # unequal shares, as frame-to-instance gives


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _data():
    g = torch.Generator().manual_seed(0)
    za = torch.randn(sum(SPLIT), 6, generator=g, dtype=torch.float64)
    zb = za + 0.7 * torch.randn(sum(SPLIT), 6, generator=g, dtype=torch.float64)
    return za, zb


def _worker(rank, world, port, out_dir, chunk_size, reduction):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        za, zb = _data()
        lo = sum(SPLIT[:rank])
        za = za[lo : lo + SPLIT[rank]].clone().requires_grad_()
        zb = zb[lo : lo + SPLIT[rank]].clone().requires_grad_()
        loss = seqclr_nce_loss(za, zb, tau=0.2, reduction=reduction, chunk_size=chunk_size, distributed=True)
        loss.backward()
        total = loss.detach().clone()
        dist.all_reduce(total)
        torch.save({"loss": loss.detach(), "total": total, "ga": za.grad, "gb": zb.grad}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("chunk_size,reduction", [(None, "mean"), (3, "sum")])
def test_two_process_gather_matches_single_process(tmp_path, chunk_size, reduction):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path), chunk_size, reduction), nprocs=2, join=True)
    za, zb = _data()
    za.requires_grad_()
    zb.requires_grad_()
    ref = seqclr_nce_loss(za, zb, tau=0.2, reduction=reduction)
    ref.backward()
    results = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    torch.testing.assert_close(results[0]["loss"] + results[1]["loss"], ref.detach())
    torch.testing.assert_close(results[0]["total"], ref.detach())
    torch.testing.assert_close(torch.cat([r["ga"] for r in results]), za.grad)
    torch.testing.assert_close(torch.cat([r["gb"] for r in results]), zb.grad)
