"""Pretraining on several local processes, as torchrun would start them.

:func:`launch_local` runs :func:`seqclr.train.loop.pretrain` once per process (one per visible
GPU by default) under torch.distributed.elastic; each process then sets up its process group
through :func:`seqclr.train.distributed.setup`.
"""

from __future__ import annotations

import socket
import uuid

import torch
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from seqclr.train.config import PretrainConfig
from seqclr.train.loop import pretrain


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch_entry(cfg_dict: dict) -> dict:
    """Per-process entry of launch_local (module-level so that spawn can import it)."""
    return pretrain(PretrainConfig.from_dict(cfg_dict, source="launch_local"))


def launch_local(cfg, nprocs: int | None = None) -> dict:
    """Run ``pretrain(cfg)`` in ``nprocs`` local processes (0 / None: one per visible GPU, else 1)
    with torch.distributed.elastic, as torchrun would; returns rank 0's metrics. One process runs
    in-line, without a launcher."""
    if nprocs is not None and nprocs < 0:
        raise ValueError(f"launch_local: nprocs must be >= 0 (0 or None: automatic), got {nprocs}")
    if not nprocs:
        nprocs = max(1, torch.cuda.device_count()) if (cfg.device != "cpu" and torch.cuda.is_available()) else 1
    if nprocs == 1:
        return pretrain(cfg)
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
