"""Training data for pretraining: the configured source as a WordDataset, optionally rendered /
decoded once into an in-memory uint8 cache, served in the order of the deterministic sampler.

Labels are not used by pretraining (self-supervised); only images leave this module.
"""

from __future__ import annotations

import inspect
from typing import Iterator

import torch

from seqclr.train.config import PretrainConfig, _where
from seqclr.train.sampler import DeterministicBatchSampler

SYNTHETIC = ("synthetic-handwriting", "synthetic-print")


def build_dataset(cfg: PretrainConfig, source: str | None = None):
    """WordDataset of cfg's source (fixed-size cfg.height x cfg.width images). For real datasets
    ``data_root`` is passed as the reader's first argument (path / root / gt_file) and
    ``data_size`` keeps the first images; ``data_options`` go to the reader as keyword arguments."""
    from seqclr.data.dataset import SOURCES, WordDataset, build_source

    where = _where(source)
    kw = dict(cfg.data_options)
    if cfg.data in SYNTHETIC:
        kw.setdefault("split", cfg.data_split)
        kw.setdefault("seed", cfg.data_seed)
        kw.setdefault("charset", cfg.charset)
        if cfg.data_size is not None:
            kw.setdefault("size", cfg.data_size)
    else:
        if cfg.data_root is None:
            raise ValueError(f"{where}data {cfg.data!r} needs data_root (the dataset's folder or file)")
        first = next(iter(inspect.signature(SOURCES[cfg.data]).parameters))
        kw.setdefault(first, cfg.data_root)
    src = build_source(cfg.data, **kw)
    ds = WordDataset(src, cfg.charset, height=cfg.height, width=cfg.width)
    if cfg.data_size is not None and cfg.data not in SYNTHETIC and len(ds) > cfg.data_size:
        ds = torch.utils.data.Subset(ds, range(cfg.data_size))
    return ds


def render_cache(dataset, num_workers: int = 0, batch_size: int = 64) -> torch.Tensor:
    """All images of ``dataset`` as one uint8 (N, 1, H, W) tensor (exact: images come from uint8)."""
    from seqclr.data.dataset import collate_words

    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=collate_words
    )
    chunks = [(b["image"] * 255.0).round_().to(torch.uint8) for b in loader]
    return torch.cat(chunks)


class BatchSource:
    """Yields image batches (N/world, 1, H, W) float32 in [0, 1] from a position of the sampler.

    ``epoch_batches(epoch, start)`` iterates the rest of epoch ``epoch`` from batch ``start``;
    cached images are indexed directly, otherwise a DataLoader renders/decodes them."""

    def __init__(self, dataset, sampler: DeterministicBatchSampler, cache: torch.Tensor | None, num_workers: int, pin: bool):
        self.dataset, self.sampler, self.cache = dataset, sampler, cache
        self.loader = None
        if cache is None:
            from seqclr.data.dataset import collate_words

            self.loader = torch.utils.data.DataLoader(
                dataset,
                batch_sampler=sampler,
                num_workers=num_workers,
                collate_fn=collate_words,
                pin_memory=pin,
                persistent_workers=num_workers > 0,
            )

    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[torch.Tensor]:
        self.sampler.set_position(epoch, start)
        if self.cache is not None:
            for idx in self.sampler:
                yield self.cache[torch.as_tensor(idx)].to(torch.float32).div_(255.0)
        else:
            for batch in self.loader:
                yield batch["image"]


def build_batches(cfg: PretrainConfig, rank: int = 0, world_size: int = 1, pin: bool = False) -> BatchSource:
    """The dataset, its deterministic sampler and (if ``cfg.cache_data``) the in-memory cache."""
    ds = build_dataset(cfg)
    sampler = DeterministicBatchSampler(len(ds), cfg.batch_size, seed=cfg.seed, rank=rank, world_size=world_size)
    cache = render_cache(ds, cfg.num_workers) if cfg.cache_data else None
    return BatchSource(ds, sampler, cache, cfg.num_workers, pin)
