"""A deterministic, resumable, rank-aware batch sampler.

The order of batches is a pure function of (seed, epoch): epoch ``e`` is the permutation
``numpy.random.default_rng([seed, e]).permutation(n)`` cut into global batches of
``batch_size`` (the incomplete last batch is dropped). Under DDP every global batch is split into
``world_size`` contiguous per-rank slices, so the union over ranks of step ``s`` is the same set
of images whatever the number of ranks. The data position ``(epoch, step)`` is all a checkpoint
needs to continue exactly where it stopped.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


class DeterministicBatchSampler:
    """Batches of dataset indices for this rank; ``set_position(epoch, step)`` before iterating
    yields the rest of that epoch from ``step`` on."""

    def __init__(self, n: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"sampler: need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        if batch_size < world_size or batch_size % world_size:
            raise ValueError(f"sampler: batch_size {batch_size} must be a multiple of the world size {world_size}")
        if n < batch_size:
            raise ValueError(f"sampler: the dataset has {n} images, fewer than one batch of {batch_size}")
        self.n, self.batch_size, self.seed = int(n), int(batch_size), int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        self.per_rank = self.batch_size // self.world_size
        self.epoch, self.start = 0, 0

    @property
    def steps_per_epoch(self) -> int:
        return self.n // self.batch_size

    def permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, int(epoch)]).permutation(self.n)

    def global_batch(self, epoch: int, step: int) -> np.ndarray:
        """All ranks' indices of batch ``step`` of ``epoch``."""
        if not 0 <= step < self.steps_per_epoch:
            raise IndexError(f"sampler: step {step} outside the epoch's {self.steps_per_epoch} batches")
        return self.permutation(epoch)[step * self.batch_size : (step + 1) * self.batch_size]

    def set_position(self, epoch: int, step: int = 0) -> None:
        if not 0 <= step <= self.steps_per_epoch:
            raise ValueError(f"sampler: step {step} outside [0, {self.steps_per_epoch}]")
        self.epoch, self.start = int(epoch), int(step)

    def __len__(self) -> int:
        return self.steps_per_epoch - self.start

    def __iter__(self) -> Iterator[list[int]]:
        perm = self.permutation(self.epoch)
        lo, hi = self.rank * self.per_rank, (self.rank + 1) * self.per_rank
        for step in range(self.start, self.steps_per_epoch):
            batch = perm[step * self.batch_size : (step + 1) * self.batch_size]
            yield batch[lo:hi].tolist()
