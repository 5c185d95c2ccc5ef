"""Peak memory and time of the contrastive loss, dense vs streaming, forward + backward.

    python -m seqclr.benchmark.loss [--sizes 1024 4096 16384 26624] [--dim 128]
        [--chunk-size 1024] [--device cpu|cuda] [--threads 2] [--max-dense-gb 8]

M is the number of instances per view (26624 = batch 1024 x 26 frames, frame-to-instance at the
paper's batch). Each (mode, M) runs in a fresh subprocess. Memory: on CUDA
``torch.cuda.max_memory_allocated`` above the inputs; on CPU the growth of the process's peak RSS
(``ru_maxrss``) during forward + backward (tracemalloc does not see torch's allocations). Dense runs
whose estimated need (4 x (2M)^2 floats: logits, their gradient, temporaries; measured ~4x) exceeds --max-dense-gb are skipped and shown as an estimate.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from seqclr.contrastive.loss import seqclr_nce_loss

DEFAULT_SIZES = (1024, 4096, 16384, 26624)


def _worker(mode: str, m: int, dim: int, chunk: int, device: str, threads: int) -> dict:
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    za = torch.randn(m, dim, generator=g).to(device).requires_grad_()
    zb = (za.detach() + 0.5 * torch.randn(m, dim, generator=g).to(device)).requires_grad_()
    # warm-up on a tiny problem so one-time allocations (kernels, thread pools) are not counted
    seqclr_nce_loss(za[:8], zb[:8], chunk_size=None if mode == "dense" else 4).backward()
    za.grad = zb.grad = None
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    loss = seqclr_nce_loss(za, zb, chunk_size=None if mode == "dense" else chunk)
    loss.backward()
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"seconds": time.perf_counter() - t0, "peak_bytes": peak, "loss": float(loss)}


def measure(mode: str, m: int, dim: int = 128, chunk: int = 1024, device: str = "cpu", threads: int = 2,
            isolate: bool = True) -> dict:  # fmt: skip
    """{"seconds", "peak_bytes", "loss"} (or {"error"}) of one forward + backward. isolate: in a
    fresh subprocess (the only way to read a CPU peak); in-process the CPU peak is None."""
    if not isolate:
        before = torch.get_num_threads()
        try:
            r = _worker(mode, m, dim, chunk, device, threads)
        except RuntimeError as err:  # out of memory
            return {"error": str(err).splitlines()[0]}
        finally:
            torch.set_num_threads(before)
        if device != "cuda":
            r["peak_bytes"] = None
        return r
    cmd = [sys.executable, "-m", "seqclr.benchmark.loss", "--worker", mode, str(m),
           "--dim", str(dim), "--chunk-size", str(chunk), "--device", device, "--threads", str(threads)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run(mode: str, m: int, args) -> dict:
    return measure(mode, m, args.dim, args.chunk_size, args.device, args.threads)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--chunk-size", type=int, default=1024)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-dense-gb", type=float, default=8.0)
    p.add_argument("--worker", nargs=2, metavar=("MODE", "M"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker[0], int(args.worker[1]), args.dim, args.chunk_size, args.device, args.threads)))
        return

    gib = 1024**3
    print(f"seqclr_nce_loss forward+backward, F={args.dim}, device={args.device}, threads={args.threads}, "
          f"streaming chunk={args.chunk_size}")  # fmt: skip
    print(f"{'M/view':>8} {'2M':>7} {'(2M)^2 fp32':>12} | {'dense peak':>12} {'dense s':>8} | "
          f"{'stream peak':>12} {'stream s':>8} | {'loss diff':>9}")  # fmt: skip
    for m in args.sizes:
        sim_bytes = (2 * m) ** 2 * 4
        row = {}
        for mode in ("dense", "stream"):
            if mode == "dense" and 4 * sim_bytes > args.max_dense_gb * gib:
                row[mode] = {"skipped": True}
            else:
                row[mode] = _run(mode, m, args)

        def fmt(r):
            if r.get("skipped"):
                return f"{'~%.1f GiB est' % (4 * sim_bytes / gib):>12} {'skip':>8}"
            if "error" in r:
                return f"{'error':>12} {'':>8}"
            return f"{r['peak_bytes'] / gib:>9.3f} GiB {r['seconds']:>8.2f}"

        diff = ""
        if "loss" in row["dense"] and "loss" in row["stream"]:
            diff = f"{abs(row['dense']['loss'] - row['stream']['loss']):.1e}"
        print(f"{m:>8} {2 * m:>7} {sim_bytes / gib:>8.3f} GiB | {fmt(row['dense'])} | {fmt(row['stream'])} | {diff:>9}", flush=True)
        for mode in ("dense", "stream"):
            if "error" in row[mode]:
                print(f"  {mode} failed: {row[mode]['error']}")


if __name__ == "__main__":
    main()
