"""The replication study on the embedded benchmark (section 4 of the evaluation issue).

Pretrains the tiny encoder with every table-1 method on rendered handwriting (TRAIN fonts), then,
for each method and for no pretraining ("none" = random init), runs the decoder evaluation with a
CTC and an attention decoder and CTC fine-tuning at 5%, 10% and 100% of the labels; everything is
tested on the TEST font split (families never seen in pretraining or training). The splits are
rendered once and handed to every protocol (``datasets=``), so every run sees the same images.

    .venv/bin/python -m seqclr.evaluate.study --out outputs/study --reference outputs/reference

``--out`` gets the checkpoints and full run folders (ignored by git); ``--reference`` gets the
small, committable part: every run's config (``params/``), metrics.json and predictions.json
(``runs/<protocol>/<method>[-<fraction>]/``) and ``study.json`` (scale, hardware, timings).
``--scale`` picks a preset of :data:`SCALES` (``cpu`` fits ~25 minutes of a shared 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

import torch

from seqclr.evaluate.config import DecoderEvalConfig, FinetuneConfig
from seqclr.evaluate.results import _write_json

METHODS = ("seqclr-all", "seqclr-window", "seqclr-frame", "simclr", "simclr-contextual")
NO_PRETRAINING = "none"
FRACTIONS = (0.05, 0.1, 1.0)
# The representation each method's decoder is trained on: the layer it was pretrained on.
FEATURE = {"simclr": "V"}

SCALES: dict[str, dict] = {
    # a ~30-minute budget on a 2-core CPU shared with other jobs
    # a ~30-minute budget on a 2-core CPU shared with other jobs. Recognizers train with Adam
    # (lr 1e-3) instead of appendix D's AdaDelta lr 1: with a few dozen iterations AdaDelta
    # barely moves the CTC loss.
    "cpu": dict(train_size=256, test_size=96, pre_iterations=24, pre_batch=16, de_iterations=30, ft_iterations=20,
                batch=16, optimizer="adam", lr=1e-3),
    # the committed study: ~30 minutes on the same CPU when it is not shared
    "cpu-long": dict(train_size=512, test_size=128, pre_iterations=100, pre_batch=16, de_iterations=300, ft_iterations=200,
                     batch=16, optimizer="adam", lr=1e-3),
    # a second pass on the cpu-long encoders: long enough for CTC to leave its all-blank plateau
    # (run with --pretrain-dir outputs/study/pretrain --only 'decoder_eval/*-ctc' 'finetune/*-0.1')
    "cpu-ctc-long": dict(train_size=512, test_size=128, pre_iterations=100, pre_batch=16, de_iterations=800, ft_iterations=800,
                         batch=16, optimizer="adam", lr=1e-3),
    # the focused second study: enough data and steps for a supervised CTC recognizer to read
    # words (~45 minutes of a quiet 2-core CPU with --methods seqclr-all seqclr-window
    # seqclr-frame simclr --only 'decoder_eval/*-ctc' 'finetune/none-ctc-*' 'finetune/seqclr-window-ctc-0.1'
    # 'finetune/simclr-ctc-0.1')
    "cpu-focused": dict(train_size=8192, test_size=256, pre_iterations=600, pre_batch=32, de_iterations=1500,
                        ft_iterations=1500, batch=64, optimizer="adam", lr=1e-3),
    # a smoke run (tests)
    "smoke": dict(train_size=24, test_size=8, pre_iterations=2, pre_batch=8, de_iterations=2, ft_iterations=2, batch=8,
                  optimizer="adam", lr=1e-3),
}


class MemoryWords(torch.utils.data.Dataset):
    """The items of a WordDataset rendered once and kept in memory (same dicts, same order)."""

    def __init__(self, dataset) -> None:
        self.items = [dataset[i] for i in range(len(dataset))]
        self.labels = [it["label"] for it in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def run_name(protocol: str, method: str, decoder: str, fraction: float | None = None) -> str:
    """Folder name of one run under runs/: e.g. decoder_eval/seqclr-window-ctc, finetune/none-ctc-0.05."""
    tail = f"-{fraction:g}" if fraction is not None else ""
    return f"{protocol}/{method}-{decoder}{tail}"


def study_configs(
    out: Path, scale: dict, data: str = "synthetic-handwriting", device: str = "cpu", pretrain_dir: Path | None = None
) -> list[tuple[str, str, object]]:
    """(protocol, name, config) for every evaluation run of the study, in running order; encoders
    are read from ``pretrain_dir`` (default ``out``/pretrain)."""
    pretrain_dir = Path(pretrain_dir) if pretrain_dir is not None else out / "pretrain"
    common = dict(
        data=data,
        train_size=scale["train_size"],
        val_size=8,
        test_size=scale["test_size"],
        batch_size=scale["batch"],
        eval_batch_size=64,
        device=device,
        log_every=max(1, scale["de_iterations"] // 4),
        encoder="tiny",
        optimizer=scale.get("optimizer", "adadelta"),
        lr=scale.get("lr", 1.0),
    )
    runs: list[tuple[str, str, object]] = []
    for method in METHODS + (NO_PRETRAINING,):
        ckpt = "random" if method == NO_PRETRAINING else str(pretrain_dir / method / "encoder.pt")
        for decoder in ("ctc", "attention"):
            name = run_name("decoder_eval", method, decoder)
            cfg = DecoderEvalConfig(
                **common, checkpoint=ckpt, decoder=decoder, feature=FEATURE.get(method, "H"), method=method,
                iterations=scale["de_iterations"], output_dir=str(out / "runs" / name),
            )
            runs.append(("decoder_eval", name, cfg))
        for fraction in FRACTIONS:
            name = run_name("finetune", method, "ctc", fraction)
            protocol = "supervised" if method == NO_PRETRAINING else "finetune"
            cfg = FinetuneConfig(
                **common, checkpoint=ckpt, decoder="ctc", feature="H", method=method, label_fraction=fraction,
                iterations=scale["ft_iterations"], output_dir=str(out / "runs" / name),
            )
            runs.append((protocol, name, cfg))
    return runs


def pretrain_config(method: str, out: Path, scale: dict, data: str = "synthetic-handwriting", device: str = "cpu"):
    from seqclr.train.config import PretrainConfig

    return PretrainConfig(
        data=data, data_split="train", data_size=scale["train_size"], encoder="tiny", method=method,
        batch_size=scale["pre_batch"], iterations=scale["pre_iterations"], device=device,
        output_dir=str(out / "pretrain" / method), checkpoint_every=10_000,
        log_every=max(1, scale["pre_iterations"] // 5), progress=False,
    )


def hardware() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_at_start": list(os.getloadavg()),
    }


def select_runs(runs: list, methods: list[str] | None, only: list[str] | None) -> list:
    """The runs of ``methods`` (and of no pretraining) whose names match a pattern of ``only``."""
    import fnmatch

    unknown = sorted(set(methods or ()) - set(METHODS))
    if unknown:
        raise ValueError(f"methods {unknown}: not pretraining methods of the study {METHODS}")
    if methods is not None:
        runs = [r for r in runs if r[2].method in methods or r[2].method == NO_PRETRAINING]
    if only:
        runs = [r for r in runs if any(fnmatch.fnmatch(r[1], pat) for pat in only)]
        if not runs:
            raise ValueError(f"--only {only}: no run of the study matches")
    return runs


def run_study(
    out: str | Path,
    reference: str | Path,
    scale: str | dict = "cpu",
    device: str = "cpu",
    log=print,
    pretrain_dir: str | Path | None = None,
    only: list[str] | None = None,
    methods: list[str] | None = None,
) -> dict:
    """Run the whole study; returns (and writes to ``reference``/study.json) its summary. With
    ``pretrain_dir`` the encoders of an earlier study are reused (no pretraining); ``only``:
    fnmatch patterns of the run names to run (e.g. "decoder_eval/*-ctc"); ``methods``: the
    pretraining methods to pretrain and evaluate (default: all of METHODS; "none" is always run)."""
    import yaml

    from seqclr.evaluate.data import build_split
    from seqclr.evaluate.protocol import run_protocol
    from seqclr.train.loop import pretrain

    scale_name = scale if isinstance(scale, str) else "custom"
    scale = dict(SCALES[scale]) if isinstance(scale, str) else dict(scale)
    out, reference = Path(out), Path(reference)
    (reference / "params").mkdir(parents=True, exist_ok=True)
    start = time.time()
    summary: dict = {"scale_name": scale_name, "scale": scale, "hardware": hardware(), "pretrain": {}, "runs": {},
                     "pretrain_dir": str(pretrain_dir) if pretrain_dir else None, "only": only}

    methods = list(METHODS if methods is None else methods)
    select_runs([], methods, None)  # checks the names before any compute
    summary["methods"] = methods
    for method in methods if pretrain_dir is None else ():
        cfg = pretrain_config(method, out, scale, device=device)
        cfg.to_yaml(reference / "params" / f"pretrain_{method}.yaml")
        t = time.time()
        metrics = pretrain(cfg)
        summary["pretrain"][method] = {
            k: metrics.get(k) for k in ("steps", "initial_loss", "final_loss", "final_loss_mean10", "images_per_s")
        } | {"seconds": round(time.time() - t, 1)}
        dst = reference / "pretrain" / method
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("metrics.json", "loss.csv", "loss.png"):
            if (out / "pretrain" / method / name).exists():
                shutil.copy(out / "pretrain" / method / name, dst / name)
        log(f"[{time.time() - start:.0f}s] pretrained {method}: {summary['pretrain'][method]}")

    runs = select_runs(
        study_configs(out, scale, device=device, pretrain_dir=Path(pretrain_dir) if pretrain_dir else None), methods, only
    )
    t = time.time()
    datasets = {split: MemoryWords(build_split(runs[0][2], split)) for split in ("train", "test")}
    log(f"[{time.time() - start:.0f}s] rendered train {len(datasets['train'])} / test {len(datasets['test'])} in {time.time() - t:.1f}s")
    for protocol, name, cfg in runs:
        (reference / "params" / f"{name.replace('/', '_')}.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        result = run_protocol(cfg, protocol, datasets=datasets, log=None)
        dst = reference / "runs" / name
        dst.mkdir(parents=True, exist_ok=True)
        for f in ("metrics.json", "predictions.json"):
            shutil.copy(Path(cfg.output_dir) / f, dst / f)
        summary["runs"][name] = {**result.metrics, "seconds": result.summary["seconds"]}
        log(f"[{time.time() - start:.0f}s] {name}: " + "  ".join(f"{k} {v:.3f}" for k, v in result.metrics.items() if k != "n"))
    summary["wall_time_s"] = round(time.time() - start, 1)
    summary["hardware"]["load_average_at_end"] = list(os.getloadavg())
    _write_json(reference / "study.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="outputs/study", help="checkpoints and full runs (git-ignored)")
    parser.add_argument("--reference", default="outputs/reference", help="small committable results")
    parser.add_argument("--scale", default="cpu", choices=sorted(SCALES))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--pretrain-dir", default=None, help="reuse the encoders of an earlier study (no pretraining)")
    parser.add_argument("--only", nargs="+", default=None, help="fnmatch patterns of run names, e.g. 'decoder_eval/*-ctc'")
    parser.add_argument("--methods", nargs="+", default=None, choices=METHODS, help="pretraining methods (default: all)")
    args = parser.parse_args(argv)
    summary = run_study(
        args.out, args.reference, args.scale, args.device, pretrain_dir=args.pretrain_dir, only=args.only,
        methods=args.methods,
    )
    print(json.dumps({"wall_time_s": summary["wall_time_s"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
