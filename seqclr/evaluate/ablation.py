"""The diagnosis ablation: which pretraining remedy, if any, makes the frozen frames decodable.

Each variant pretrains the same encoder with SeqCLR window-to-instance on the unlabeled hw-v2
training families (appendix D's optimizer at CPU size), keeping a copy of the checkpoint at
``probe_points`` steps; then, on the VALIDATION families, a linear CTC probe on the frozen H frames
at each kept step (the probe curve: decodability against pretraining steps) and the retrieval
figures of seqclr.evaluate.diagnostics on the final encoder, beside a random encoder of the same
preset. Variants: the paper's setting (AdaDelta lr 10), Adam lr 1e-3, each with and without a
content-aligned shift between the views (seqclr.augment.view_shift), and Adam with per-image
photometric normalisation. Resumable: a variant with
its row in ``ablation.json`` is skipped, an interrupted pretraining resumes.

    .venv/bin/python -m seqclr.evaluate.ablation --out outputs/ablation --reference outputs/reference/hw-v2/diagnostics
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from seqclr.data.dataset import WordDataset
from seqclr.data.synthetic import SyntheticWords
from seqclr.evaluate.diagnostics import diagnose, load_frozen_encoder, probe_curve
from seqclr.evaluate.results import _write_json, read_json
from seqclr.exits import guarded
from seqclr.models.encoder import SequenceEncoder, get_encoder_config
from seqclr.train.config import PretrainConfig
from seqclr.train.loop import pretrain

ADAM = dict(optimizer="adam", lr=1e-3)
VARIANTS: dict[str, dict] = {
    "paper": {},  # appendix D: AdaDelta lr 10
    "paper-view-shift-4": dict(view_shift=4),
    "adam": ADAM,
    "adam-view-shift-4": dict(ADAM, view_shift=4),
    "adam-input-norm": dict(ADAM, input_norm=True),
}
# the study's encoder and pretraining size (seqclr.evaluate.study.SCALES["cpu"]) on half the words
SCALE = dict(encoder="cpu", train_size=8192, probe_train=2048, val_size=512, iterations=600, batch_size=32,
             probe_points=3, probe_steps=300)


def variant_config(name: str, out: Path, scale: dict):
    fields = dict(VARIANTS[name])
    iterations = scale["iterations"] * fields.pop("iterations_factor", 1)
    return PretrainConfig(
        data="synthetic-handwriting", train_size=scale["train_size"], train_source={"benchmark": "hw-v2"},
        encoder=scale["encoder"], method="seqclr-window", batch_size=scale["batch_size"], iterations=iterations,
        checkpoint_every=max(1, iterations // scale["probe_points"]), log_every=max(1, iterations // 10),
        output_dir=str(out / name), progress=False, resume=True, device="cpu", **fields,
    )


def _keep_checkpoints(every: int):
    """An on_step hook copying last.pt to kept/step_<k>.pt every ``every`` steps (after the save)."""

    def hook(info) -> None:
        if info.step % every == 0:
            kept = Path(info.output_dir) / "kept"
            kept.mkdir(exist_ok=True)
            shutil.copy(Path(info.output_dir) / "last.pt", kept / f"step_{info.step:06d}.pt")

    return hook


def _word_sets(scale: dict) -> tuple[list, list]:
    def items(split: str, size: int) -> list:
        ds = WordDataset(SyntheticWords(split, size=size, seed=1, benchmark="hw-v2"), "english95")
        return [ds[i] for i in range(len(ds))]

    return items("train", scale["probe_train"]), items("val", scale["val_size"])


def run_variant(name: str, out: Path, scale: dict, train_set: list, val_set: list, log=print) -> dict:
    cfg = variant_config(name, out, scale)
    t = time.time()
    metrics = pretrain(cfg, on_step=_keep_checkpoints(cfg.checkpoint_every))
    seconds = time.time() - t
    kept = sorted((int(p.stem.split("_")[1]), p) for p in (out / name / "kept").glob("step_*.pt"))
    curve = probe_curve(kept, train_set, val_set, steps=scale["probe_steps"], log=log)
    final = diagnose(load_frozen_encoder(out / name / "encoder.pt"), val_set, train_set, probe_steps=scale["probe_steps"])
    return {"fields": VARIANTS[name], "iterations": cfg.iterations, "pretrain_seconds": round(seconds, 1),
            "initial_loss": metrics.get("initial_loss"), "final_loss": metrics.get("final_loss_mean10"),
            "probe_curve": [{k: r[k] for k in ("step", "acc", "cer", "train_acc")} for r in curve], "final": final}


def run_ablation(out: str | Path, reference: str | Path, names: list[str] | None = None, scale: dict | None = None,
                 log=print) -> dict:
    scale = dict(SCALE, **(scale or {}))
    out, reference = Path(out), Path(reference)
    path = reference / "ablation.json"
    summary = read_json(path, {"scale": scale, "variants": {}})
    train_set, val_set = _word_sets(scale)
    if "random" not in summary:
        torch.manual_seed(0)
        rand = SequenceEncoder(get_encoder_config(scale["encoder"])).eval()
        summary["random"] = diagnose(rand, val_set, train_set, probe_steps=scale["probe_steps"])
        _write_json(path, summary)
    for name in names or list(VARIANTS):
        if name in summary["variants"]:
            log(f"{name}: done, skipped")
            continue
        summary["variants"][name] = run_variant(name, out, scale, train_set, val_set, log=log)
        _write_json(path, summary)
        log(f"{name}: {json.dumps(summary['variants'][name]['probe_curve'])}")
    (reference / "ablation.md").write_text(ablation_table(summary))
    return summary


FIGURES = ("probe_acc", "probe_cer", "frame_nn_same_character", "frame_nn_same_position", "window_nn_same_position",
           "window_nn_same_image", "window_mean_cosine_other_images")


def ablation_table(summary: dict) -> str:
    cols = ["variant", "steps", "final loss"] + list(FIGURES)
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]

    def cells(figs: dict) -> list[str]:
        return [f"{figs[f]['value']:.3f}" if f in figs else "—" for f in FIGURES]

    rows.append("| random encoder | 0 | — | " + " | ".join(cells(summary["random"])) + " |")
    for name, v in summary["variants"].items():
        rows.append(f"| {name} | {v['iterations']} | {v['final_loss']:.3f} | " + " | ".join(cells(v["final"])) + " |")
    chance = summary["random"]
    rows.append("| chance | | | " + " | ".join(
        f"{chance[f]['chance']:.3f}" if chance.get(f, {}).get("chance") is not None else "—" for f in FIGURES) + " |")
    curve = ["", "Probe curve (linear CTC probe on frozen H, validation families): step: acc / CER", ""]
    for name, v in summary["variants"].items():
        curve.append(f"- {name}: " + ", ".join(f"{r['step']}: {100 * r['acc']:.1f}% / {100 * r['cer']:.1f}%" for r in v["probe_curve"]))
    return "\n".join(rows + curve) + "\n"


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="outputs/ablation")
    parser.add_argument("--reference", default="outputs/reference/hw-v2/diagnostics")
    parser.add_argument("--only", nargs="+", default=None, choices=sorted(VARIANTS))
    args = parser.parse_args(argv)
    run_ablation(args.out, args.reference, args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
