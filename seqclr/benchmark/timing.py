"""Shared measurement helpers: timing with device sync, FLOP counting, device peaks and MFU.

The augmentation CLI (seqclr.benchmark.augment) and the suite time with these same functions,
so every figure is measured one way.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

# Dense (no sparsity) tensor-core peaks in FLOP/s from the vendors' data sheets, by precision.
GPU_PEAKS: dict[str, dict[str, float]] = {
    "H100 PCIe": {"bf16": 756e12, "tf32": 378e12, "fp32": 51e12},
    "H100": {"bf16": 989e12, "tf32": 494.7e12, "fp32": 67e12},  # SXM
    "H200": {"bf16": 989e12, "tf32": 494.7e12, "fp32": 67e12},
    "A100": {"bf16": 312e12, "tf32": 156e12, "fp32": 19.5e12},
}


def sync(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def rate(fn: Callable[[], object], n_items: int, repeat: int = 3, min_time: float = 0.5) -> float:
    """Items/s of ``fn`` (which must sync its device): one warm-up call, then ``repeat`` rounds of
    at least ``min_time / repeat`` seconds each; the best round counts (least disturbed)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        reps = 0
        t0 = time.perf_counter()
        while True:
            fn()
            reps += 1
            dt = time.perf_counter() - t0
            if dt >= min_time / repeat:
                break
        best = min(best, dt / reps)
    return n_items / best


def time_interleaved(fns: dict[str, Callable[[], object]], steps: int, repeat: int, device, warmup: int = 1) -> dict[str, float]:
    """Seconds per call of each fn, measured side by side: ``repeat`` rounds, each running every fn
    ``steps`` times in turn, best round kept, so a busy neighbour slows all variants alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync(device)
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            sync(device)
            best[k] = min(best[k], (time.perf_counter() - t0) / steps)
    return best


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` by torch.utils.flop_counter (matmuls, convolutions, attention;
    elementwise work is not counted). cuDNN is switched off meanwhile so the LSTM runs as counted
    matmuls instead of one opaque cuDNN kernel."""
    counter = FlopCounterMode(display=False)
    with torch.backends.cudnn.flags(enabled=False), counter:
        fn()
    return int(counter.get_total_flops())


def cpu_nominal_peak(threads: int) -> tuple[float, str]:
    """A nominal fp32 peak of ``threads`` cores: GHz x FLOP/cycle (2 FMA units x SIMD lanes x 2)."""
    flags, ghz = "", 0.0
    try:
        text = open("/proc/cpuinfo").read()
        flags = re.search(r"^flags\s*:(.*)$", text, re.M).group(1)
        m = re.search(r"@\s*([\d.]+)GHz", text) or None
        ghz = float(m.group(1)) if m else float(re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M).group(1)) / 1000
    except (OSError, AttributeError, ValueError):
        ghz = ghz or 2.0
    per_cycle = 64 if " avx512f" in flags else 32 if " fma" in flags else 8
    peak = threads * ghz * 1e9 * per_cycle
    return peak, f"nominal CPU fp32 peak: {threads} cores x {ghz:.2f} GHz x {per_cycle} FLOP/cycle"


def device_peak(device: torch.device | str, bf16: bool, threads: int) -> tuple[float | None, str]:
    """(peak FLOP/s, how it was obtained) for the device and precision; None if unknown."""
    device = torch.device(device)
    if device.type == "cpu":
        return cpu_nominal_peak(threads)
    name = torch.cuda.get_device_name(device)
    prec = "bf16" if bf16 else "tf32" if torch.backends.cuda.matmul.allow_tf32 else "fp32"
    for key, peaks in GPU_PEAKS.items():
        if all(part in name for part in key.split()):
            return peaks[prec], f"{key} dense {prec} peak {peaks[prec] / 1e12:.1f} TFLOP/s ({name})"
    return None, f"no peak known for {name!r}: MFU not computed"


def device_info(device: torch.device | str) -> dict:
    device = torch.device(device)
    info = {"type": device.type, "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        info.update(name=p.name, memory_gib=round(p.total_memory / 2**30, 1), capability=f"{p.major}.{p.minor}")
    else:
        try:
            m = re.search(r"^model name\s*:\s*(.*)$", open("/proc/cpuinfo").read(), re.M)
            info["name"] = m.group(1) if m else "cpu"
        except OSError:
            info["name"] = "cpu"
    try:
        info["load_average"] = list(os.getloadavg())
    except OSError:
        pass
    return info


def peak_memory_reset(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device | str) -> int | None:
    """Peak bytes allocated by torch on a CUDA device since the last reset (None on CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device))
    return None
