"""BenchmarkConfig: what one benchmark run measures (the notebook's parameters cell mirrors it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

from seqclr.config import ConfigIO
from seqclr.contrastive.model import METHODS
from seqclr.data.source_names import SOURCE_NAMES
from seqclr.devices import DEVICES, PRECISIONS
from seqclr.models.encoder import ENCODER_PRESETS

LOSS_MODES = ("dense", "stream")


@dataclass
class BenchmarkConfig(ConfigIO):
    """encoder: encoder preset (tiny / small / paper / paper-tps); batch_size: images per step (each
    gives two views); method: the table-1 method of the full step.
    device: "auto" = cuda if available; precision: "auto" = bf16 on CUDA, fp32 on CPU.
    channels_last / compile / loss_chunk_size: the full step's settings (compile: torch.compile
    of the encoder; loss_chunk_size None = dense loss).
    steps: timed iterations per measurement; repeat: rounds (best kept); threads: torch CPU
    threads (0 = torch's default).
    data: source packed for the real-data measurements; train_size: images packed (None = 4 x
    batch_size, at least 64); packed: an existing packed folder ("" = pack into outputs/benchmark/packed).
    imgaug_images: images the CPU imgaug reference is timed on (0 = skip).
    loss_modes: "dense" and/or "stream" at the instance counts of all / window / frame;
    loss_isolate: each loss measurement in a fresh process (needed for CPU peak memory).
    ablations: before/after ratio of each optimization; chunk_sizes: streaming chunks tried.
    out: JSON results path ("" = outputs/benchmark/<encoder>_b<batch_size>_<device>.json).
    Old names (preset, batch, data_size) are read until the next release.
    """

    # old name -> new name, read until the next release (seqclr.config.upgrade_keys)
    RENAMED = {"preset": "encoder", "batch": "batch_size", "data_size": "train_size"}

    encoder: str = "tiny"
    batch_size: int = 32
    method: Literal[METHODS] = "seqclr-window"
    device: Literal[DEVICES] = "auto"
    precision: Literal[PRECISIONS] = "auto"
    channels_last: bool = True
    compile: bool = False
    loss_chunk_size: int | None = None
    steps: int = 5
    repeat: int = 3
    threads: int = 0
    seed: int = 0
    data: Literal[SOURCE_NAMES] = "synthetic-handwriting"
    train_size: int | None = None
    packed: str = ""
    imgaug_images: int = 32
    loss_modes: list[str] = field(default_factory=lambda: list(LOSS_MODES))
    loss_isolate: bool = True
    ablations: bool = True
    chunk_sizes: list[int] = field(default_factory=lambda: [256, 1024, 4096])
    out: str = ""

    def validate(self) -> "BenchmarkConfig":
        if self.encoder not in ENCODER_PRESETS:
            raise ValueError(f"encoder must be one of {sorted(ENCODER_PRESETS)}, got {self.encoder!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (the loss needs negatives), got {self.batch_size}")
        for name in ("steps", "repeat"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
        if self.loss_chunk_size is not None and self.loss_chunk_size < 1:
            raise ValueError(f"loss_chunk_size must be >= 1 or None, got {self.loss_chunk_size}")
        if self.train_size is not None and self.train_size < self.batch_size:
            raise ValueError(f"train_size must be >= batch_size ({self.batch_size}), got {self.train_size}")
        if self.imgaug_images < 0:
            raise ValueError(f"imgaug_images must be >= 0, got {self.imgaug_images}")
        for mode in self.loss_modes:
            if mode not in LOSS_MODES:
                raise ValueError(f"loss_modes: unknown mode {mode!r}; known: {', '.join(LOSS_MODES)}")
        if any(c < 1 for c in self.chunk_sizes):
            raise ValueError(f"chunk_sizes must be >= 1, got {self.chunk_sizes}")
        return self

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' asked for but torch sees no CUDA device")
        return self.device

    def use_bf16(self, device: str) -> bool:
        return self.precision == "bf16" or (self.precision == "auto" and device == "cuda")

    def out_path(self, device: str) -> str:
        return self.out or f"outputs/benchmark/{self.encoder}_b{self.batch_size}_{device}.json"
