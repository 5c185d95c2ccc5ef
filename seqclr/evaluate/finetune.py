"""Fine-tuning (section 5.2) and the supervised baseline.

Fine-tuning trains the whole recognizer (pretrained encoder + fresh decoder) on
``label_fraction`` of the labeled data; the supervised baseline trains the same recognizer from a
random encoder on the same subset (the subset depends only on the data, the fraction and
``subset_seed``; ``metrics.json`` records its size and SHA-256 so runs can be checked against each
other)."""

from __future__ import annotations

from typing import Callable

from seqclr.evaluate.config import FinetuneConfig
from seqclr.evaluate.protocol import ProtocolResult, run_protocol


def run_finetune(
    cfg: FinetuneConfig | None = None,
    datasets: dict | None = None,
    log: Callable[[str], None] | None = print,
    write: bool = True,
) -> ProtocolResult:
    """Fine-tune encoder + decoder from cfg.checkpoint ("" / "random" = from scratch)."""
    return run_protocol(cfg or FinetuneConfig(), "finetune", datasets, log, write)


def run_supervised_baseline(
    cfg: FinetuneConfig | None = None,
    datasets: dict | None = None,
    log: Callable[[str], None] | None = print,
    write: bool = True,
) -> ProtocolResult:
    """The same recognizer and recipe as :func:`run_finetune` but from a random encoder (the
    checkpoint of ``cfg`` is ignored; cfg.encoder names the architecture) on the same subset."""
    cfg = cfg or FinetuneConfig()
    changes = {"checkpoint": "random", "method": cfg.method or "supervised"}
    if not cfg.random_init and log:
        log(f"supervised baseline: ignoring checkpoint {cfg.checkpoint!r} (random init, encoder preset {cfg.encoder!r})")
    return run_protocol(cfg.replace(**changes), "supervised", datasets, log, write)
