"""Process-group setup for multi-GPU / multi-node pretraining, and a local launcher.

Under ``torchrun`` (or :func:`launch_local`) the environment holds RANK, LOCAL_RANK and
WORLD_SIZE; :func:`setup` initializes the default process group from it (NCCL on CUDA, Gloo on
CPU) and picks this rank's device. Without those variables everything is single-process.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


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


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """"auto" -> cuda:local_rank if CUDA is available, else cpu; "cuda" fails clearly without it."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False")
        return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return torch.device("cpu")


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch_entry(cfg_dict: dict) -> dict:
    """Per-process entry of launch_local (module-level so that spawn can import it)."""
    from seqclr.train.config import PretrainConfig
    from seqclr.train.loop import pretrain

    return pretrain(PretrainConfig.from_dict(cfg_dict, source="launch_local"))


def launch_local(cfg, nprocs: int | None = None) -> dict:
    """Run ``pretrain(cfg)`` in ``nprocs`` local processes (0 / None: one per visible GPU, else 1)
    with torch.distributed.elastic, as torchrun would; returns rank 0's metrics. One process runs
    in-line, without a launcher."""
    from seqclr.train.loop import pretrain

    if nprocs is not None and nprocs < 0:
        raise ValueError(f"launch_local: nprocs must be >= 0 (0 or None: automatic), got {nprocs}")
    if not nprocs:
        nprocs = max(1, torch.cuda.device_count()) if (cfg.device != "cpu" and torch.cuda.is_available()) else 1
    if nprocs == 1:
        return pretrain(cfg)
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    lc = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nprocs,
        run_id=f"seqclr-{uuid.uuid4().hex[:8]}",
        rdzv_backend="c10d",
        rdzv_endpoint=f"127.0.0.1:{_free_port()}",
        max_restarts=0,
        monitor_interval=0.2,
        start_method="spawn",
    )
    results = elastic_launch(lc, _launch_entry)(cfg.to_dict())
    return results[0]
