"""One job of the study and what it leaves behind: the rendered splits kept in memory, a
pretraining's summary and curves, a run's committable files. Shared by the serial study
(seqclr.evaluate.study) and its worker processes (seqclr.evaluate.study_parallel)."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from seqclr.data.skips import drop_skipped, skipped_report


class MemoryWords(torch.utils.data.Dataset):
    """The items of a WordDataset rendered once and kept in memory (same dicts, same order).

    Items the source skipped (``on_error: skip``) are left out, not replaced; each kept item's
    ``index`` is its position here, and ``skipped_files`` (where -> reason) lists the dropped ones
    (seqclr.data.skips.skipped_report reads it)."""

    def __init__(self, dataset) -> None:
        self._keep(dataset[i] for i in range(len(dataset)))
        self.skipped_files.update((e["where"], e["reason"]) for e in skipped_report(dataset))

    @classmethod
    def from_items(cls, items: list) -> "MemoryWords":
        """Items rendered elsewhere (seqclr.evaluate.study_parallel.render_items), in order; its
        Skipped records are left out and listed in ``skipped_files``."""
        self = cls.__new__(cls)
        self._keep(items)
        return self

    def _keep(self, items) -> None:
        kept, skipped = drop_skipped(items)
        self.items = [it if it["index"] == k else {**it, "index": k} for k, it in enumerate(kept)]
        self.labels = [it["label"] for it in self.items]
        self.skipped_files = {s.where: s.reason for s in skipped}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def pretrain_summary(metrics: dict, run_dir: Path, dst: Path, seconds: float) -> dict:
    """The study.json entry of a pretraining; copies its curves from ``run_dir`` to ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("metrics.json", "loss.csv", "loss.png"):
        if (run_dir / name).exists():
            shutil.copy(run_dir / name, dst / name)
    keys = ("steps", "initial_loss", "final_loss", "final_loss_mean10", "images_per_s")
    return {k: metrics.get(k) for k in keys} | {"seconds": round(seconds, 1)}


def copy_run(run_dir: Path, dst: Path) -> None:
    """The committable part of a finished run: predictions.json, then metrics.json (which marks
    the run finished, so it is copied last)."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in ("predictions.json", "metrics.json"):
        shutil.copy(run_dir / f, dst / f)
