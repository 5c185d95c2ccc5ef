"""The recipe sweep: which encoder preset and recognizer schedule read the most per CPU-minute.

Each candidate trains a supervised CTC recognizer on all the labels of the hw-v2 training families
and is scored on the VALIDATION families only (the test families are never built here), with a
validation curve every ``iterations / 6`` steps. The table gives the final validation accuracy and
CER, the wall time and the accuracy per minute. Results are written after every candidate, and a
rerun skips the candidates already in ``sweep.json`` (resumable).

    .venv/bin/python -m seqclr.evaluate.recipe_sweep --out outputs/sweep --reference outputs/reference/hw-v2/sweep
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from seqclr.evaluate.config import FinetuneConfig
from seqclr.evaluate.data import build_split
from seqclr.evaluate.protocol import run_protocol
from seqclr.evaluate.results import _write_json, read_json
from seqclr.evaluate.study import hardware
from seqclr.evaluate.study_jobs import MemoryWords
from seqclr.exits import guarded

# name -> config fields; every candidate: Adam, batch 64 and light augmentation unless set, clip 5
COMMON = dict(optimizer="adam", lr=1e-3, grad_clip=5.0, lr_schedule="cosine", warmup_iterations=100,
              decay_start=0.5, lr_gamma=0.01, batch_size=64)
CANDIDATES: dict[str, dict] = {
    "tiny-b64-cosine-2400": dict(encoder="tiny", iterations=2400),
    "cpu-b64-cosine-1200": dict(encoder="cpu", iterations=1200),
    "cpu-b64-multistep-1200": dict(encoder="cpu", iterations=1200, lr_schedule="multistep", warmup_iterations=0,
                                   lr_gamma=0.1, lr_milestones=(0.6, 0.8)),
    "cpu-b32-cosine-2400": dict(encoder="cpu", iterations=2400, batch_size=32),
    "cpu-b64-cosine-lr3e-3-1200": dict(encoder="cpu", iterations=1200, lr=3e-3),
    "small-b64-cosine-550": dict(encoder="small", iterations=550),
    "cpu-b64-cosine-2400": dict(encoder="cpu", iterations=2400),
    "cpu-b32-cosine-lr3e-3-2400": dict(encoder="cpu", iterations=2400, batch_size=32, lr=3e-3),
    "cpu-vgg-b32-cosine-2400": dict(encoder="cpu-vgg", iterations=2400, batch_size=32),
    "cpu-vgg-bn-b32-cosine-2400": dict(encoder="cpu-vgg-bn", iterations=2400, batch_size=32),
    "cpu-vgg-bn-b32-cosine-4000": dict(encoder="cpu-vgg-bn", iterations=4000, batch_size=32),
    # the third sweep (generalization to unseen families, the 100% runs' length): the study's recipe,
    # and the same with SeqCLR's augmentation (affine, perspective, strong vertical crop) on the labelled words
    "cpu-vgg-bn-b32-cosine-6000": dict(encoder="cpu-vgg-bn", iterations=6000, batch_size=32),
    "cpu-vgg-bn-b32-cosine-seqclraug-6000": dict(encoder="cpu-vgg-bn", iterations=6000, batch_size=32,
                                                 augmentation="seqclr"),
    # with 3x the words (--train-size 49152, sweep/generalization-49k): the study's encoder, and at twice its width
    "cpu-vgg-bn-wide-b32-cosine-6000": dict(encoder="cpu-vgg-bn-wide", iterations=6000, batch_size=32),
}


def candidate_config(name: str, out: Path, train_size: int, val_size: int, device: str = "cpu") -> FinetuneConfig:
    fields = {**COMMON, **CANDIDATES[name]}
    return FinetuneConfig(
        data="synthetic-handwriting", train_source={"benchmark": "hw-v2"}, val_source={"benchmark": "hw-v2"},
        test_source={"benchmark": "hw-v2"}, train_size=train_size, val_size=val_size, test_size=val_size,
        checkpoint="random", label_fraction=1.0, method="supervised", decoder="ctc", representation="H",
        val_every=max(1, fields["iterations"] // 6), eval_batch_size=256, log_every=max(1, fields["iterations"] // 12),
        device=device, output_dir=str(out / name), **fields,
    )


def run_sweep(out: str | Path, reference: str | Path, names: list[str] | None = None, train_size: int = 16384,
              val_size: int = 512, log=print) -> dict:
    out, reference = Path(out), Path(reference)
    path = reference / "sweep.json"
    done = read_json(path)
    names = list(names or CANDIDATES)
    first = candidate_config(names[0], out, train_size, val_size)
    t = time.time()
    train, val = (MemoryWords(build_split(first, s)) for s in ("train", "val"))
    log(f"rendered {len(train)} train / {len(val)} val images in {time.time() - t:.0f}s")
    summary = {"train_size": train_size, "val_size": val_size, "common": COMMON, "hardware": hardware(),
               "candidates": done.get("candidates", {})}
    for name in names:
        if name in summary["candidates"]:
            log(f"{name}: done, skipped")
            continue
        cfg = candidate_config(name, out, train_size, val_size)
        # "test" is the validation set: the sweep never builds the test families
        result = run_protocol(cfg, "supervised", datasets={"train": train, "val": val, "test": val}, log=log)
        h = result.history
        last = h["val"][-1]
        summary["candidates"][name] = {
            "fields": CANDIDATES[name], "iterations": cfg.iterations, "batch_size": cfg.batch_size,
            "val_acc": last["acc"], "val_cer": last["cer"], "best_val_acc": h["best_val_acc"], "best_step": h["best_step"],
            "train_seconds": h["train_seconds"], "acc_per_minute": last["acc"] / (h["train_seconds"] / 60),
            "curve": [{k: v[k] for k in ("step", "seconds", "acc", "cer")} for v in h["val"]],
            "loss": list(zip(h["step"], h["loss"])),
        }
        _write_json(path, summary)
        log(f"{name}: val acc {last['acc']:.3f} cer {last['cer']:.3f} in {h['train_seconds']:.0f}s")
    (reference / "sweep.md").write_text(sweep_table(summary))
    return summary


def sweep_table(summary: dict) -> str:
    """The candidates' table; with ``preset_speed`` (seqclr.benchmark.presets) also each preset's timed step and the
    validation accuracy per CPU-minute that the step time implies (the fair comparison of presets)."""
    speed = summary.get("preset_speed", {})
    head = "| candidate | steps x batch | minutes | val acc | val CER | best val acc (step) | acc per minute | last loss |"
    rows = [head + (" step (1 thread) | acc per CPU-minute at that step time |" if speed else ""),
            "|---|---|---|---|---|---|---|---|" + ("---|---|" if speed else "")]
    for name, c in summary["candidates"].items():
        row = (f"| {name} | {c['iterations']} x {c['batch_size']} | {c['train_seconds'] / 60:.1f} | "
               f"{100 * c['val_acc']:.1f}% | {100 * c['val_cer']:.1f}% | {100 * c['best_val_acc']:.1f}% ({c['best_step']}) | "
               f"{100 * c['acc_per_minute']:.2f} | {c['loss'][-1][1]:.3f} |")
        preset = c["fields"]["encoder"]
        if speed and preset in speed:
            step_s = speed[preset]["step_s"] * c["batch_size"] / speed[preset]["batch_size"]
            row += f" {1000 * step_s:.0f} ms | {100 * c['val_acc'] / (c['iterations'] * step_s / 60):.2f} |"
        elif speed:
            row += " | |"
        rows.append(row)
    return "\n".join(rows) + "\n"


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="outputs/sweep")
    parser.add_argument("--reference", default="outputs/reference/hw-v2/sweep")
    parser.add_argument("--only", nargs="+", default=None, choices=sorted(CANDIDATES))
    parser.add_argument("--train-size", type=int, default=16384)
    parser.add_argument("--val-size", type=int, default=512)
    args = parser.parse_args(argv)
    run_sweep(args.out, args.reference, args.only, args.train_size, args.val_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
