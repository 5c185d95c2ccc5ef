"""Process-group setup for multi-GPU / multi-node pretraining.

Under ``torchrun`` (or :func:`seqclr.train.launch.launch_local`) the environment holds RANK, LOCAL_RANK and
WORLD_SIZE; :func:`setup` initializes the default process group from it (NCCL on CUDA, Gloo on
CPU) and picks this rank's device. Without those variables everything is single-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from seqclr.devices import resolve_device


@dataclass
class DistContext:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    owns_group: bool  # True when setup() created the process group (and cleanup() destroys it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistContext:
    """DistContext for this process; initializes the process group from the environment when
    WORLD_SIZE > 1 and none exists yet."""
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        return DistContext(rank, local_rank, world, resolve_device(device, local_rank), owns_group=False)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(0, 0, 1, resolve_device(device, 0), owns_group=False)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        dist.init_process_group("nccl", device_id=dev)
    else:
        dist.init_process_group("gloo")
    return DistContext(rank, local_rank, world, dev, owns_group=True)


def cleanup(ctx: DistContext) -> None:
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def all_gather_objects(obj: Any, ctx: DistContext) -> list[Any]:
    """[obj of rank 0, rank 1, ...] (just [obj] when single-process)."""
    if not ctx.distributed:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, ctx: DistContext, src: int = 0) -> Any:
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]
