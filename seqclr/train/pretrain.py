"""Command line: ``python -m seqclr.train.pretrain [-f config.yaml] [--key value ...]``.

Runs single-process as is, and multi-GPU / multi-node under torchrun, e.g.::

    torchrun --nproc_per_node 4 -m seqclr.train.pretrain -f paper.yaml --output_dir runs/hw
    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 \\
        -m seqclr.train.pretrain -f paper.yaml

``--nproc N`` starts N local processes itself (torch.distributed.elastic, like torchrun).
Values of ``--key value`` are parsed as YAML scalars (``--grad_clip null``, ``--lr_milestones
'[0.5, 0.9]'``) and checked against PretrainConfig like the file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from seqclr.config import parameters_help, parse_overrides
from seqclr.exits import guarded
from seqclr.train.config import PretrainConfig
from seqclr.train.launch import launch_local
from seqclr.train.loop import pretrain
from seqclr.train.run_logger import require_logger


def parse_args(argv: list[str] | None = None) -> tuple[PretrainConfig, int | None]:
    parser = argparse.ArgumentParser(
        prog="python -m seqclr.train.pretrain",
        description="SeqCLR pretraining. Any PretrainConfig field can be given as --key value.",
        epilog=parameters_help(PretrainConfig), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-f", "--config", help="YAML file of PretrainConfig fields (defaults: the CPU demo)")
    parser.add_argument("--nproc", type=int, default=None, help="start this many local processes (not under torchrun)")
    args, rest = parser.parse_known_args(argv)
    overrides = parse_overrides(rest)
    if args.config:
        cfg = PretrainConfig.from_yaml(args.config, overrides)
    else:
        cfg = PretrainConfig.from_dict(overrides, source="command line")
    return cfg, args.nproc


@guarded
def main(argv: list[str] | None = None) -> int:
    """Expected errors exit with one line (seqclr.exits): 2, or 3 for a non-finite stop."""
    cfg, nproc = parse_args(argv)
    require_logger(cfg.logger)  # before any process starts
    metrics = launch_local(cfg, nproc) if nproc else pretrain(cfg)
    rank0 = int(os.environ.get("RANK", "0")) == 0  # under torchrun every rank returns metrics
    if rank0 and metrics is not None and metrics.get("status") == "completed" and not cfg.progress:
        print(json.dumps({k: v for k, v in metrics.items() if k != "config"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
