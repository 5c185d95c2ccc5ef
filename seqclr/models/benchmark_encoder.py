"""Forward + backward throughput (images/s) of encoder presets on this machine.

    python -m seqclr.models.benchmark_encoder [--presets tiny small paper] [--batch 32]
        [--width 100] [--iters 3] [--threads 2] [--device cpu]

The loss is a stand-in (sum of squares of H); one warm-up iteration is not timed.
"""

from __future__ import annotations

import argparse
import torch

from seqclr.models.encoder import ENCODER_PRESETS


def throughput(preset: str, batch: int, width: int, iters: int, device: str) -> tuple[int, float]:
    """(parameter count, images/s of forward + backward in train mode); the shared measurement of
    seqclr.benchmark (which also times channels-last and bf16 variants)."""
    from seqclr.benchmark.step import encoder_throughput

    return encoder_throughput(preset, batch, width, iters, device)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["tiny", "small", "paper"], choices=sorted(ENCODER_PRESETS))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=int, default=100)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"encoder forward+backward, batch {args.batch} x 1x32x{args.width}, {args.device}, threads={args.threads}")
    print(f"{'preset':>10} {'params':>12} {'images/s':>10}")
    for name in args.presets:
        n, ips = throughput(name, args.batch, args.width, args.iters, args.device)
        print(f"{name:>10} {n:>12,d} {ips:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
