"""Which torch device a run uses, from the ``device`` parameter of every config and CLI."""

from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda")  # the device parameter of every config (resolve_device)
PRECISIONS = ("auto", "fp32", "bf16")  # auto = bf16 on CUDA (if supported), fp32 on CPU


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    """"auto" -> cuda when available, else cpu; "cuda" without a GPU is an error. With
    ``local_rank`` (pretraining, one process per GPU) cuda is ``cuda:local_rank`` (modulo the GPU
    count), without it the current cuda device. Other names ("cpu", "cuda:1") are taken as given."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device: 'cuda' requested but torch.cuda.is_available() is False")
        if local_rank is None:
            return torch.device("cuda")
        return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return torch.device(name)
