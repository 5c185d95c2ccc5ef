"""One job of the study and what it leaves behind: the rendered splits kept in memory, a
pretraining's summary and curves, a run's committable files. Shared by the serial study
(seqclr.evaluate.study) and its worker processes (seqclr.evaluate.study_parallel)."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch


class MemoryWords(torch.utils.data.Dataset):
    """The items of a WordDataset rendered once and kept in memory (same dicts, same order)."""

    def __init__(self, dataset) -> None:
        self.items = [dataset[i] for i in range(len(dataset))]
        self.labels = [it["label"] for it in self.items]

    @classmethod
    def from_items(cls, items: list[dict]) -> "MemoryWords":
        """Items rendered elsewhere (seqclr.evaluate.study_parallel.render_items), in order."""
        self = cls.__new__(cls)
        self.items, self.labels = list(items), [it["label"] for it in items]
        return self

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
