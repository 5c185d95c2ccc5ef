"""The benchmark run: every measurement of the issue in one process, results as a dict (JSON)
and printed tables. See seqclr.benchmark.config.BenchmarkConfig for the knobs."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from seqclr.benchmark.augment import pipeline_rates
from seqclr.benchmark.config import BenchmarkConfig
from seqclr.benchmark.loss import measure
from seqclr.benchmark.step import PretrainStep, StepOptions, encoder_throughput
from seqclr.benchmark.timing import (
    count_flops,
    device_info,
    device_peak,
    peak_memory,
    peak_memory_reset,
    sync,
    time_interleaved,
)
from seqclr.config import to_dict, upgrade_keys
from seqclr.data.dataset import build_source
from seqclr.data.packed import PackedWords, pack_dataset
from seqclr.models.encoder import ENCODER_PRESETS, SequenceEncoder, frames_for_width
from seqclr.train.data import PackedBatches
from seqclr.train.sampler import endless

PAPER_ITERATIONS = 200_000
TARGET_HOURS, TARGET_MFU, TARGET_AUGMENT, TARGET_REAL_OVERHEAD = 8.0, 0.40, 200_000, 1.05


def _packed_data(cfg: BenchmarkConfig, log: Callable[[str], None]):
    """The packed data of the run: cfg.packed, or a cached pack of cfg.data (rendered once)."""
    if cfg.packed:
        return PackedWords(cfg.packed)
    size = cfg.train_size or max(64, 4 * cfg.batch_size)
    path = Path("outputs/benchmark/packed") / f"{cfg.data}-{size}-seed{cfg.seed}"
    if path.exists():
        try:
            return PackedWords(path)
        except ValueError as err:  # DataError: a damaged cache is packed again
            log(f"repacking {path}: {err}")
    if not cfg.data.startswith("synthetic"):
        raise ValueError(f"data {cfg.data!r}: pack it first (python -m seqclr.cli_pack) and pass packed=<folder>")
    t0 = time.perf_counter()
    workers = min(8, (os.cpu_count() or 1) - 1) if size >= 2048 else 0
    packed = pack_dataset(build_source(cfg.data, size=size, seed=cfg.seed), path, num_workers=workers, overwrite=True)
    log(f"packed {size} images of {cfg.data} into {path} in {time.perf_counter() - t0:.1f} s (once)")
    return packed


def _augment(cfg: BenchmarkConfig, packed, dev: torch.device) -> dict:
    images = np.array(packed.images[: cfg.batch_size])  # a writable copy of the memmap slice
    ours, ref = pipeline_rates(images, dev, ref_images=cfg.imgaug_images, repeat=cfg.repeat)
    return {"ours_images_per_s": ours, "imgaug_images_per_s": ref, "imgaug_images": cfg.imgaug_images if ref else 0,
            "speedup": ours / ref if ref else None}  # fmt: skip


def _input(cfg: BenchmarkConfig, packed, dev: torch.device) -> dict:
    batches = PackedBatches(packed, cfg.batch_size, seed=cfg.seed, device=dev, as_float=True)
    stream = endless(batches.epoch_batches)
    sec = time_interleaved({"input": lambda: next(stream)}, max(cfg.steps, len(batches)), cfg.repeat, dev)["input"]
    return {"images_per_s": cfg.batch_size / sec, "seconds_per_batch": sec, "pinned": batches.pin, "shuffle": batches.shuffle}


def _encoder(cfg: BenchmarkConfig, dev: torch.device, bf16: bool, peak: float | None) -> dict:
    views = 2 * cfg.batch_size
    params, ips = encoder_throughput(cfg.encoder, views, 100, cfg.steps, str(dev), cfg.channels_last, bf16, cfg.repeat)
    probe = min(views, 16)
    enc = SequenceEncoder(ENCODER_PRESETS[cfg.encoder]).to(dev).train()
    x = torch.rand(probe, 1, 32, 100, device=dev)
    flops = count_flops(lambda: (lambda o: (o.H.pow(2).mean() + o.V.pow(2).mean()).backward())(enc(x))) / probe
    fwd = count_flops(lambda: enc(x)) / probe
    achieved = flops * ips
    return {"views": views, "parameters": params, "images_per_s": ips, "forward_gflop_per_image": fwd / 1e9,
            "fwd_bwd_gflop_per_image": flops / 1e9, "tflop_per_s": achieved / 1e12,
            "mfu": achieved / peak if peak else None}  # fmt: skip


def _loss(cfg: BenchmarkConfig, dev: torch.device, log) -> list[dict]:
    frames = int(frames_for_width(100))
    rows = []
    chunk = cfg.loss_chunk_size or 1024
    if dev.type == "cuda":
        budget = 0.8 * torch.cuda.mem_get_info(dev)[0]
    else:
        budget = 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    for mapping, per_image in (("all", 1), ("window", 5), ("frame", frames)):
        m = cfg.batch_size * per_image
        for mode in cfg.loss_modes:
            row = {"mapping": mapping, "instances_per_view": m, "mode": mode, "chunk": chunk if mode == "stream" else None}
            need = 4 * (2 * m) ** 2 * 4  # logits, their gradient and temporaries (measured ~4x one matrix)
            if mode == "dense" and need > budget:
                row.update(status=f"skipped: needs ~{need / 2**30:.1f} GiB", seconds=None, peak_bytes=None)
            else:
                r = measure(mode, m, 128, chunk, dev.type, torch.get_num_threads(), isolate=cfg.loss_isolate)
                row.update(status="error: " + r["error"] if "error" in r else "measured",
                           seconds=r.get("seconds"), peak_bytes=r.get("peak_bytes"))  # fmt: skip
            rows.append(row)
            log(f"loss {mapping:6s} M={m:6d} {mode:6s}: {row['status']} {row['seconds'] or 0:.4f} s")
    return rows


class _Batches:
    """Endless real batches from the packed data (epoch after epoch)."""

    def __init__(self, packed, cfg: BenchmarkConfig, dev: torch.device) -> None:
        self.batches = PackedBatches(packed, cfg.batch_size, seed=cfg.seed, device=dev)
        self.stream = endless(self.batches.epoch_batches)

    def __call__(self) -> torch.Tensor:
        return next(self.stream)


def step_options(cfg: BenchmarkConfig, device: str) -> StepOptions:
    return StepOptions(bf16=cfg.use_bf16(device), channels_last=cfg.channels_last, cudnn_lstm=True, foreach=True,
                       loss_chunk=cfg.loss_chunk_size, compile="default" if cfg.compile else None)  # fmt: skip


def _step(cfg: BenchmarkConfig, packed, dev: torch.device, peak: float | None) -> dict:
    opts = step_options(cfg, dev.type)
    step = PretrainStep(cfg.encoder, cfg.method, dev, opts, seed=cfg.seed)
    synthetic = packed.batch(0, cfg.batch_size).to(dev)  # already on the device
    real = _Batches(packed, cfg, dev)
    warmup = 3 if opts.compile else 1
    sec = time_interleaved({"synthetic": lambda: step(synthetic), "real": lambda: step(real())}, cfg.steps, cfg.repeat,
                           dev, warmup=warmup)  # fmt: skip
    peak_memory_reset(dev)
    step(synthetic)
    mem = peak_memory(dev)
    counter = step if not opts.compile else PretrainStep(cfg.encoder, cfg.method, dev, opts.but(compile=None), seed=cfg.seed)
    flops = count_flops(lambda: counter.forward_backward(*counter.views(synthetic)))
    counter.optimizer.zero_grad(set_to_none=True)
    achieved = flops / sec["synthetic"]
    return {
        "options": opts.__dict__,
        "synthetic_seconds": sec["synthetic"],
        "real_seconds": sec["real"],
        "real_over_synthetic": sec["real"] / sec["synthetic"],
        "images_per_s": cfg.batch_size / sec["real"],
        "synthetic_images_per_s": cfg.batch_size / sec["synthetic"],
        "flops_per_step": flops,
        "tflop_per_s": achieved / 1e12,
        "mfu": achieved / peak if peak else None,
        "peak_memory_bytes": mem,
        "hours_for_200k": sec["real"] * PAPER_ITERATIONS / 3600,
    }


def _ablations(cfg: BenchmarkConfig, packed, dev: torch.device, log) -> list[dict]:
    """Each optimization against the configuration before it, timed side by side; an
    optimization is kept for the following rows only if it made the step faster."""
    cuda = dev.type == "cuda"
    all_threads = torch.get_num_threads()
    images = packed.batch(0, cfg.batch_size).to(dev)
    base = StepOptions(cudnn_lstm=False)
    cur_opts, cur_threads = base, 1 if not cuda else all_threads
    steps: dict = {}

    def fn_for(opts: StepOptions, threads: int):
        if opts not in steps:
            for k in [k for k in steps if k not in (cur_opts, opts)]:
                del steps[k]  # keep memory flat: only the two being compared live
            steps[opts] = PretrainStep(cfg.encoder, cfg.method, dev, opts, seed=cfg.seed)
        s = steps[opts]

        def run() -> None:
            if not cuda:
                torch.set_num_threads(threads)
            s(images)

        return run

    candidates: list[tuple[str, str | None, Callable]] = [
        (f"threads 1 -> {all_threads}", None if not cuda and all_threads > 1 else
         ("skipped: one thread available" if not cuda else "skipped: CUDA step"), lambda o, t: (o, all_threads)),
        ("bf16 autocast", None if cuda else "skipped: no CUDA", lambda o, t: (o.but(bf16=True), t)),
        ("channels_last", None, lambda o, t: (o.but(channels_last=True), t)),
        ("cuDNN LSTM", None if cuda else "skipped: no CUDA", lambda o, t: (o.but(cudnn_lstm=True), t)),
        ("foreach AdaDelta + clip", None, lambda o, t: (o.but(foreach=True), t)),
    ]  # fmt: skip
    for c in cfg.chunk_sizes:
        candidates.append((f"streaming loss chunk {c}", None, lambda o, t, c=c: (o.but(loss_chunk=c), t)))
    candidates.append(("torch.compile encoder", None if cfg.compile else "skipped: compile=False",
                       lambda o, t: (o.but(compile="default"), t)))  # fmt: skip
    candidates.append(("CUDA graphs (compile reduce-overhead)",
                       None if cuda and cfg.compile else "skipped: no CUDA" if not cuda else "skipped: compile=False",
                       lambda o, t: (o.but(compile="reduce-overhead"), t)))  # fmt: skip
    rows = []
    try:
        for name, skip, change in candidates:
            if skip:
                rows.append({"name": name, "status": skip})
                continue
            new_opts, new_threads = change(cur_opts, cur_threads)
            if (new_opts, new_threads) == (cur_opts, cur_threads):
                rows.append({"name": name, "status": "skipped: already on"})
                continue
            try:
                before, after = fn_for(cur_opts, cur_threads), fn_for(new_opts, new_threads)
                warm = 3 if new_opts.compile else 1
                sec = time_interleaved({"before": before, "after": after}, cfg.steps, cfg.repeat, dev, warmup=warm)
            except Exception as err:  # e.g. no C++ compiler for torch.compile: report, go on
                rows.append({"name": name, "status": f"error: {type(err).__name__}: {str(err).splitlines()[0][:200]}"})
                continue
            ratio = sec["before"] / sec["after"]
            kept = ratio > 1.0
            rows.append({"name": name, "status": "measured", "before_s": sec["before"], "after_s": sec["after"],
                         "speedup": ratio, "kept": kept})  # fmt: skip
            log(f"ablation {name}: {sec['before'] * 1e3:.1f} -> {sec['after'] * 1e3:.1f} ms/step ({ratio:.2f}x)")
            if kept:
                cur_opts, cur_threads = new_opts, new_threads
    finally:
        torch.set_num_threads(all_threads)
    rows.append({"name": "final", "status": "settings", "options": cur_opts.__dict__, "threads": cur_threads})
    return rows


def run_benchmark(cfg: BenchmarkConfig, log: Callable[[str], None] = print, write: bool = True) -> dict:
    """Run every measurement of ``cfg``; returns the results (also written to cfg's JSON path)."""
    cfg.validate()
    device = cfg.resolved_device()
    dev = torch.device(device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    bf16 = cfg.use_bf16(device)
    peak, peak_note = device_peak(dev, bf16, torch.get_num_threads())
    res: dict = {"config": to_dict(cfg), "device": device_info(dev), "peak_flops": peak, "peak_note": peak_note,
                 "precision": "bf16" if bf16 else "fp32"}  # fmt: skip
    t0 = time.perf_counter()
    packed = _packed_data(cfg, log)
    res["data"] = {"packed": str(packed.path), "count": len(packed), "source": packed.manifest["source"]}
    log("augmentation ...")
    res["augment"] = _augment(cfg, packed, dev)
    log("input pipeline ...")
    res["input"] = _input(cfg, packed, dev)
    log("encoder ...")
    res["encoder"] = _encoder(cfg, dev, bf16, peak)
    log("loss ...")
    res["loss"] = _loss(cfg, dev, log)
    log("full step ...")
    res["step"] = _step(cfg, packed, dev, peak)
    res["ablations"] = _ablations(cfg, packed, dev, log) if cfg.ablations else []
    frame = [r for r in res["loss"] if r["mapping"] == "frame" and r["status"] == "measured"]
    s = res["step"]
    res["targets"] = {
        "mfu_ge_40pct": None if s["mfu"] is None or device == "cpu" else s["mfu"] >= TARGET_MFU,
        "200k_under_8h": s["hours_for_200k"] <= TARGET_HOURS,
        "augment_ge_200k_per_s": res["augment"]["ours_images_per_s"] >= TARGET_AUGMENT,
        "real_within_5pct_of_synthetic": s["real_over_synthetic"] <= TARGET_REAL_OVERHEAD,
        "frame_loss_fits": bool(frame),
    }
    res["seconds"] = time.perf_counter() - t0
    if write:
        out = Path(cfg.out_path(device))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=2))
        res["json"] = str(out)
    return res


def _f(v, spec: str = ".1f", none: str = "-") -> str:
    return none if v is None else format(v, spec)


def format_tables(res: dict) -> str:
    """The results as plain-text tables (what the CLI prints and the notebook shows)."""
    d, c = res["device"], upgrade_keys(BenchmarkConfig, res["config"], warn=False)  # a result of before a rename too
    lines = [f"seqclr benchmark: encoder {c['encoder']}, batch_size {c['batch_size']} (x2 views), {c['method']}, "
             f"{d['type']} ({d.get('name', '')}), {res['precision']}, torch {d['torch']}, threads {d['threads']}",
             f"peak: {res['peak_note']}", ""]  # fmt: skip
    a, i, e, s = res["augment"], res["input"], res["encoder"], res["step"]
    lines += [f"{'stage':34s} {'images/s':>12s}  note", "-" * 80]
    lines.append(f"{'augmentation (ours, on device)':34s} {a['ours_images_per_s']:12.0f}  "
                 + (f"{a['speedup']:.0f}x imgaug" if a["speedup"] else "imgaug not timed"))  # fmt: skip
    if a["imgaug_images_per_s"]:
        lines.append(f"{'augmentation (imgaug, 1 CPU core)':34s} {a['imgaug_images_per_s']:12.0f}  on {a['imgaug_images']} images")
    lines.append(f"{'input pipeline (packed -> device)':34s} {i['images_per_s']:12.0f}  pinned={i['pinned']}, shuffle={i['shuffle']}")
    lines.append(f"{'encoder fwd+bwd (views)':34s} {e['images_per_s']:12.1f}  {e['fwd_bwd_gflop_per_image']:.3f} GFLOP/view, "
                 f"{e['tflop_per_s']:.3f} TFLOP/s, MFU {_f(e['mfu'] and 100 * e['mfu'], '.1f')}%")  # fmt: skip
    lines.append(f"{'full step, synthetic on device':34s} {s['synthetic_images_per_s']:12.1f}  {s['synthetic_seconds'] * 1e3:.1f} ms/step")
    lines.append(f"{'full step, real packed data':34s} {s['images_per_s']:12.1f}  {s['real_seconds'] * 1e3:.1f} ms/step, "
                 f"real/synthetic {s['real_over_synthetic']:.3f}")  # fmt: skip
    mem = s["peak_memory_bytes"]
    lines += ["", f"step FLOPs {s['flops_per_step'] / 1e12:.4f} TFLOP, {s['tflop_per_s']:.3f} TFLOP/s achieved, "
              f"MFU {_f(s['mfu'] and 100 * s['mfu'], '.2f')}%, peak memory "
              f"{_f(mem and mem / 2**30, '.2f', 'n/a (CPU)')} GiB, 200K iterations: {s['hours_for_200k']:.1f} h", ""]  # fmt: skip
    lines += [f"{'loss':8s} {'M/view':>8s} {'mode':>6s} {'chunk':>6s} {'seconds':>9s} {'peak GiB':>9s}  status", "-" * 64]
    for r in res["loss"]:
        pk = r["peak_bytes"]
        lines.append(f"{r['mapping']:8s} {r['instances_per_view']:8d} {r['mode']:>6s} {_f(r['chunk'], 'd'):>6s} "
                     f"{_f(r['seconds'], '.4f'):>9s} {_f(pk and pk / 2**30, '.3f'):>9s}  {r['status']}")  # fmt: skip
    if res["ablations"]:
        lines += ["", f"{'optimization (vs the row before)':40s} {'ms before':>10s} {'ms after':>9s} {'speedup':>8s}  kept",
                  "-" * 80]  # fmt: skip
        for r in res["ablations"]:
            if r["status"] == "measured":
                lines.append(f"{r['name']:40s} {r['before_s'] * 1e3:10.1f} {r['after_s'] * 1e3:9.1f} {r['speedup']:7.2f}x  {r['kept']}")
            elif r["status"] == "settings":
                on = [k for k, v in r["options"].items() if v not in (False, None)]
                lines.append(f"{'final settings':40s} threads={r['threads']}, " + ", ".join(f"{k}={r['options'][k]}" for k in on))
            else:
                lines.append(f"{r['name']:40s} {r['status']}")
    lines += ["", "targets: " + ", ".join(f"{k}={v}" for k, v in res["targets"].items()), f"({res['seconds']:.0f} s)"]
    return "\n".join(lines)
