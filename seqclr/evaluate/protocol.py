"""What the three protocols share: build the recognizer (pretrained or random encoder + a fresh
decoder), pick the labeled subset, train, test, write the results.

- decoder evaluation (5.1): encoder frozen (no gradients, eval mode: batch-norm statistics fixed);
- fine-tuning (5.2): everything trains, from the pretrained encoder;
- supervised baseline: everything trains, from a random encoder; same subset as fine-tuning.

metrics.json also records what the data left out: ``skipped`` (per split, the items dropped under
``on_error: skip``: [{"where", "reason"}]), ``excluded_too_long`` (CTC: the labeled training words
whose label needs more frames than the encoder gives at this width, excluded before training:
{"count", "frames", "examples"}; null for the attention decoder) and ``too_long`` (the val / test
words of that kind, kept and scored: a CTC recognizer cannot read them by construction).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from seqclr.data.charset import get_charset
from seqclr.data.fonts import SPLITS
from seqclr.data.skips import skipped_report
from seqclr.devices import resolve_device
from seqclr.evaluate.config import RecognizerTrainConfig
from seqclr.evaluate.data import (
    build_split,
    exclude_too_long,
    indices_digest,
    split_labels,
    too_long_report,
    training_subset,
)
from seqclr.evaluate.loop import TRAIN_SCALARS, VAL_METRICS, evaluate_recognizer, train_recognizer
from seqclr.evaluate.recognizer_file import FILENAME as RECOGNIZER_FILE
from seqclr.evaluate.recognizer_file import preprocessing_of, save_recognizer
from seqclr.evaluate.results import write_results
from seqclr.models.encoder import SequenceEncoder, get_encoder_config
from seqclr.models.prediction import Recognizer, build_recognizer
from seqclr.train.checkpoint import load_encoder
from seqclr.train.run_logger import RunLogger, require_logger

SUPERVISED = "supervised"  # the protocol of the supervised baseline, and its row in the tables
PROTOCOLS = ("decoder_eval", "finetune", SUPERVISED)
TRAIN_LOG = "train_log.csv"  # the curves of logger "csv" / "tensorboard" (seqclr.train.run_logger)
TEST_SCALARS = tuple(f"test/{k}" for k in VAL_METRICS)


@dataclass
class ProtocolResult:
    """metrics (acc, ed1, cer, wer, n on the test split), the per-image predictions, the training
    history, the labeled subset (indices into the training set), the output folder and the model."""

    metrics: dict
    predictions: list[dict]
    history: dict
    subset: np.ndarray
    output_dir: Path
    model: Recognizer
    summary: dict


def build_encoder(cfg: RecognizerTrainConfig):
    """The encoder: loaded from cfg.checkpoint (seqclr.train.checkpoint.save_encoder format), or a
    random ``cfg.encoder`` preset when the checkpoint is "" / "random"."""
    if cfg.random_init:
        encoder = SequenceEncoder(get_encoder_config(cfg.encoder))
        encoder.pretrain_config = None
        return encoder

    return load_encoder(cfg.checkpoint)


def build_model(cfg: RecognizerTrainConfig, freeze_encoder: bool) -> Recognizer:
    """Recognizer(encoder, fresh decoder, cfg.representation, charset); seeded by cfg.seed."""
    torch.manual_seed(cfg.seed)
    encoder = build_encoder(cfg)
    kwargs = {"hidden": cfg.attention_hidden, "max_len": cfg.max_len} if cfg.decoder == "attention" else {}
    model = build_recognizer(encoder, cfg.decoder, get_charset(cfg.charset), cfg.representation, **kwargs)
    if freeze_encoder:
        model.freeze_encoder()
    return model


def load_datasets(cfg: RecognizerTrainConfig, datasets: dict | None = None) -> dict:
    """{"train", "test"[, "val"]}: the given ones, the rest built from cfg (val only when
    cfg.val_every > 0)."""
    out = dict(datasets or {})
    unknown = set(out) - set(SPLITS)
    if unknown:
        raise ValueError(f"datasets: unknown split(s) {sorted(unknown)}; expected {', '.join(SPLITS)}")
    needed = ["train", "test"] + (["val"] if cfg.val_every > 0 else [])
    for split in needed:
        if split not in out:
            out[split] = build_split(cfg, split)
    for split, ds in out.items():
        if len(ds) == 0:
            raise ValueError(f"the {split} split is empty (after charset filtering with {cfg.charset!r})")
    return out


def too_long_words(cfg: RecognizerTrainConfig, model: Recognizer, data: dict, subset) -> tuple[np.ndarray, dict]:
    """(the training indices to train on, the metrics.json record): for a CTC decoder, the words
    of ``subset`` whose label cannot fit the frames of ``cfg.width`` are excluded (one warning
    with the count and an example), and the val / test words of that kind counted."""
    if cfg.decoder != "ctc":
        return np.asarray(subset, dtype=np.int64), {"excluded_too_long": None, "too_long": None}
    frames = int(model.encoder.frames_for_width(cfg.width))
    kept, excluded = exclude_too_long(subset, split_labels(data["train"]), frames)
    if excluded["count"]:
        e = excluded["examples"][0]
        warnings.warn(
            f"{excluded['count']} of {len(subset)} labeled training words need more CTC frames than the {frames} "
            f"of width {cfg.width} (e.g. {e['label']!r} needs {e['frames_needed']}); excluded from training",
            stacklevel=3,
        )
    if len(kept) == 0:
        raise ValueError(f"every labeled training word needs more than the {frames} CTC frames of width {cfg.width}")
    evaluated = {s: too_long_report(split_labels(data[s]), frames)[1] for s in ("val", "test") if s in data}
    return kept, {"excluded_too_long": excluded, "too_long": evaluated}


def run_protocol(
    cfg: RecognizerTrainConfig,
    protocol: str,
    datasets: dict | None = None,
    log: Callable[[str], None] | None = print,
    write: bool = True,
) -> ProtocolResult:
    """Run ``protocol`` ("decoder_eval" | "finetune" | "supervised") with ``cfg``; ``datasets``
    may hand in prebuilt WordDatasets (items: dict(image, label, index)) for some splits.

    ``log=None`` runs quietly (no progress bars either); ``write=False`` writes nothing (no curves:
    the logger is "none"). Otherwise ``cfg.logger`` picks where the curves go: ``train_log.csv``
    (csv), plus event files in ``output_dir/tensorboard`` (tensorboard); test metrics are logged
    at the last step as ``test/acc`` ..."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"run_protocol: protocol must be one of {PROTOCOLS}, got {protocol!r}")
    cfg.validate()
    if protocol == "supervised" and not cfg.random_init:
        raise ValueError(f"supervised baseline: checkpoint must be '' or 'random', got {cfg.checkpoint!r}")
    logger = cfg.logger if write else "none"
    require_logger(logger)  # a missing tensorboard package fails here, before any compute
    start = time.time()
    device = resolve_device(cfg.device)
    data = load_datasets(cfg, datasets)
    subset = training_subset(len(data["train"]), cfg.label_fraction, cfg.subset_seed)
    freeze = protocol == "decoder_eval"
    model = build_model(cfg, freeze_encoder=freeze)
    train_indices, too_long = too_long_words(cfg, model, data, subset)
    if log:
        excluded = too_long["excluded_too_long"]
        note = f", {excluded['count']} of them too long for CTC (excluded)" if excluded and excluded["count"] else ""
        log(
            f"{protocol}: {cfg.decoder} decoder on {cfg.representation}, encoder "
            f"{'random ' + cfg.encoder if cfg.random_init else cfg.checkpoint} ({'frozen' if freeze else 'trained'}), "
            f"{len(subset)}/{len(data['train'])} labeled images ({cfg.label_fraction:g}){note}, device {device}"
        )
    columns = TRAIN_SCALARS + TEST_SCALARS
    with RunLogger(logger, cfg.output_dir, csv_name=TRAIN_LOG, csv_columns=columns) as run_log:
        history = train_recognizer(model, data["train"], train_indices, cfg, device, data.get("val"), log=log, run_log=run_log)
        metrics, predictions = evaluate_recognizer(
            model, data["test"], cfg.eval_batch_size, device, cfg.case_sensitive, cfg.num_workers,
            progress=cfg.progress and log is not None,
        )
        run_log.log_scalars(cfg.iterations, {f"test/{k}": metrics[k] for k in VAL_METRICS})
    if log:
        log(f"test: acc {metrics['acc']:.4f}  ed1 {metrics['ed1']:.4f}  cer {metrics['cer']:.4f}  wer {metrics['wer']:.4f}"
            f"  (n={metrics['n']})")
    summary = _summary(cfg, protocol, model, data, subset, history, metrics, str(device), freeze)
    summary.update(too_long, skipped={split: skipped_report(ds) for split, ds in data.items()})
    summary["seconds"] = round(time.time() - start, 2)
    out_dir = Path(cfg.output_dir)
    summary["recognizer"] = str(out_dir / RECOGNIZER_FILE) if write else None
    if write:
        # the trained (with val_every: best-on-validation) recognizer, readable with load_recognizer
        save_recognizer(out_dir / RECOGNIZER_FILE, model, cfg, preprocessing_of(cfg, data["train"]))
        write_results(out_dir, summary, predictions)
        if log:
            log(f"wrote {out_dir / 'metrics.json'}, {out_dir / 'predictions.json'} and {out_dir / RECOGNIZER_FILE}")
    return ProtocolResult(metrics, predictions, history, subset, out_dir, model, summary)


def _summary(
    cfg, protocol: str, model: Recognizer, data: dict, subset, history: dict, metrics: dict, device: str, freeze: bool
) -> dict:
    """The metrics.json record of a run (without what the data left out and the timing)."""
    return {
        "protocol": protocol,
        "method": cfg.method or ("supervised" if protocol == "supervised" else ""),
        "metrics": metrics,
        "label_fraction": cfg.label_fraction,
        "subset_size": int(len(subset)),
        "train_size": len(data["train"]),
        "subset_seed": cfg.subset_seed,
        "subset_sha256": indices_digest(subset),
        "checkpoint": "random" if cfg.random_init else str(cfg.checkpoint),
        "encoder_frozen": freeze,
        "encoder_config": model.encoder.cfg.to_dict(),
        "pretrain_config": getattr(model.encoder, "pretrain_config", None),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "best_step": history["best_step"],
        "best_val_acc": history["best_val_acc"],
        "history": history,
        "device": device,
        "config": cfg.to_dict(),
        **cfg.augmentation_record(),  # the spec's content and digest (config names a spec file by path)
    }
