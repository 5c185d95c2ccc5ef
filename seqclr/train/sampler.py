"""The seeded batch order of the package, and the deterministic, resumable, rank-aware sampler.

The order of batches is a pure function of (seed, epoch): epoch ``e`` is the permutation
``numpy.random.default_rng([seed, e]).permutation(n)`` cut into global batches of
``batch_size`` (the incomplete last batch is dropped). Under DDP every global batch is split into
``world_size`` contiguous per-rank slices, so the union over ranks of step ``s`` is the same set
of images whatever the number of ranks. The data position ``(epoch, step)`` is all a checkpoint
needs to continue exactly where it stopped.

:class:`BatchOrder` is that order, once, for every consumer: DeterministicBatchSampler (pretraining
from a dataset or its in-memory cache), seqclr.train.data.PackedBatches (packed data) and
seqclr.evaluate.loop.EpochBatches (the recognizer loop). Options: ``shuffle`` "block" permutes
blocks of ``block_size`` contiguous items (the same generator; every read of a pack contiguous)
and "none" keeps 0..n-1; ``partial`` keeps one incomplete batch when ``n < batch_size``.
:func:`endless` chains epochs into one endless stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Iterator, TypeVar

import numpy as np

SHUFFLES = ("index", "block", "none")
T = TypeVar("T")


class BatchOrder:
    """Batches of ``range(n)`` for (seed, epoch); this rank's slice of each global batch.
    ``name`` prefixes the error messages (the consumer's name)."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        shuffle: str = "index",
        block_size: int = 64,
        partial: bool = False,
        name: str = "sampler",
    ) -> None:
        if shuffle not in SHUFFLES:
            raise ValueError(f"{name}: shuffle must be one of {SHUFFLES}, got {shuffle!r}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"{name}: need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        if batch_size < world_size or batch_size % world_size:
            raise ValueError(f"{name}: batch_size {batch_size} must be a multiple of the world size {world_size}")
        if n < (1 if partial else batch_size):
            raise ValueError(f"{name}: {n} images, fewer than one batch: batch_size {batch_size} not in [1, {n}]")
        if shuffle == "block" and (block_size < 1 or batch_size % block_size):
            raise ValueError(f"{name}: batch_size {batch_size} must be a multiple of block_size {block_size}")
        self.n, self.batch_size, self.seed = int(n), int(batch_size), int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        self.per_rank = self.batch_size // self.world_size
        self.shuffle, self.block_size, self.partial = shuffle, int(block_size), bool(partial)

    @property
    def steps_per_epoch(self) -> int:
        steps = self.n // self.batch_size
        return max(1, steps) if self.partial else steps

    def permutation(self, epoch: int) -> np.ndarray:
        """The order of the items in ``epoch`` (shuffle "block": ``n // block_size`` whole blocks)."""
        if self.shuffle == "none":
            return np.arange(self.n)
        rng = np.random.default_rng([self.seed, int(epoch)])
        if self.shuffle == "index":
            return rng.permutation(self.n)
        blocks = rng.permutation(self.n // self.block_size)
        return (blocks[:, None] * self.block_size + np.arange(self.block_size)).reshape(-1)

    def global_batch(self, epoch: int, step: int) -> np.ndarray:
        """All ranks' indices of batch ``step`` of ``epoch``."""
        if not 0 <= step < self.steps_per_epoch:
            raise IndexError(f"sampler: step {step} outside the epoch's {self.steps_per_epoch} batches")
        return self.permutation(epoch)[step * self.batch_size : (step + 1) * self.batch_size]

    def batches(self, epoch: int, start: int = 0) -> Iterator[np.ndarray]:
        """This rank's indices of batches ``start``.. of ``epoch``."""
        order, b = self.permutation(epoch), self.batch_size
        lo, hi = self.rank * self.per_rank, (self.rank + 1) * self.per_rank
        for step in range(start, self.steps_per_epoch):
            yield order[step * b : (step + 1) * b][lo:hi]


class DeterministicBatchSampler(BatchOrder):
    """Batches of dataset indices for this rank (lists, a DataLoader's ``batch_sampler``);
    ``set_position(epoch, step)`` before iterating yields the rest of that epoch from ``step`` on."""

    def __init__(self, n: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1, partial: bool = False) -> None:
        super().__init__(n, batch_size, seed, rank, world_size, partial=partial)
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, step: int = 0) -> None:
        if not 0 <= step <= self.steps_per_epoch:
            raise ValueError(f"sampler: step {step} outside [0, {self.steps_per_epoch}]")
        self.epoch, self.start = int(epoch), int(step)

    def __len__(self) -> int:
        return self.steps_per_epoch - self.start

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches(self.epoch, self.start):
            yield batch.tolist()


def endless(epoch_items: Callable[[int], Iterable[T]], epoch: int = 0) -> Iterator[T]:
    """The items of ``epoch_items(epoch)``, then of ``epoch_items(epoch + 1)``, ... without end.
    An epoch that yields nothing is an error (the stream would never yield again)."""
    while True:
        empty = True
        for item in epoch_items(epoch):
            empty = False
            yield item
        if empty:
            raise ValueError(f"endless: epoch {epoch} yields nothing")
        epoch += 1
