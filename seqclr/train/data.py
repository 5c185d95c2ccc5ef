"""Training data for pretraining: the configured source as a WordDataset, optionally rendered /
decoded once into an in-memory uint8 cache, served in the order of the deterministic sampler.

``data: packed`` reads a folder written by ``python -m seqclr.cli_pack`` instead: the images
are already a preprocessed uint8 memmap, so nothing is rendered or cached (``cache_data`` is
ignored) and each batch crosses to the device as bytes (PackedBatches, wrapped by PackedSource).
For the same images in the same order, both paths yield the same batches: both are cut by
seqclr.train.sampler.BatchOrder.

Labels are not used by pretraining (self-supervised); only images leave this module.

``on_error: skip``: an unreadable image is dropped, never replaced by another one. The cache (and
a pack) leaves it out, so the sampler runs over the images actually read; read lazily
(``cache_data: false``), a batch holding one shrinks by it (a batch of none is an error).
``seqclr.data.skips.skipped_report(batches)`` lists the dropped items (file / row, reason).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from seqclr.data.dataset import WordDataset, build_source, collate_words, path_argument
from seqclr.data.packed import PackedWords
from seqclr.data.readers import DataError
from seqclr.data.skips import note_skipped
from seqclr.data.source_names import SYNTHETIC_SOURCES
from seqclr.train.config import PretrainConfig, _where
from seqclr.train.sampler import SHUFFLES, BatchOrder, DeterministicBatchSampler



def open_pack(cfg: PretrainConfig):
    """The PackedWords of ``cfg.train_source["path"]`` (checked by cfg.validate), its first
    ``train_size`` images when train_size is set (as for real datasets)."""
    packed = PackedWords(cfg.train_source["path"])
    return packed.head(cfg.train_size) if cfg.train_size is not None else packed


def build_dataset(cfg: PretrainConfig, source: str | None = None):
    """WordDataset of cfg's source (fixed-size cfg.height x cfg.width images):
    ``build_source(data, **train_source)`` as the recognizers build their training split. A real
    dataset's ``train_source`` names its file or folder (the reader's path argument: path / root /
    gt_file) and ``train_size`` keeps the first images; a synthetic source renders ``train_size``
    images of the "train" split (unless ``train_source`` says otherwise) with ``data_seed``.
    For ``data: packed`` the opened pack (items are WordDataset-like dicts)."""
    where = _where(source)
    if cfg.data == "packed":
        return open_pack(cfg)
    kw = dict(cfg.train_source)
    if cfg.data in SYNTHETIC_SOURCES:
        kw.setdefault("split", "train")
        kw.setdefault("seed", cfg.data_seed)
        kw.setdefault("charset", cfg.charset)
        if cfg.train_size is not None:
            kw.setdefault("size", cfg.train_size)
    else:
        key = path_argument(cfg.data)
        if key not in kw:
            raise ValueError(f"{where}data {cfg.data!r} needs train_source: {{{key}: <the dataset's folder or file>}}")
    src = build_source(cfg.data, **kw)
    ds = WordDataset(src, cfg.charset, height=cfg.height, width=cfg.width)
    if cfg.train_size is not None and cfg.data not in SYNTHETIC_SOURCES and len(ds) > cfg.train_size:
        ds = torch.utils.data.Subset(ds, range(cfg.train_size))
    return ds


def render_cache(dataset, num_workers: int = 0, batch_size: int = 64) -> torch.Tensor:
    """All images of ``dataset`` as one uint8 (N, 1, H, W) tensor (exact: images come from uint8).
    Items skipped under ``on_error: skip`` are left out (N is smaller than ``len(dataset)`` by
    their number) and noted in ``dataset`` for seqclr.data.skips.skipped_report."""
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=collate_words
    )
    chunks = []
    for b in loader:
        note_skipped(dataset, b["skipped"])
        if len(b["label"]):
            chunks.append((b["image"] * 255.0).round_().to(torch.uint8))
    if not chunks:
        raise DataError(getattr(dataset, "name", type(dataset).__name__), "no readable image (every one was skipped)")
    return torch.cat(chunks)


class BatchSource:
    """Yields image batches (N/world, 1, H, W) float32 in [0, 1] from a position of the sampler.

    ``epoch_batches(epoch, start)`` iterates the rest of epoch ``epoch`` from batch ``start``;
    cached images are indexed directly, otherwise a DataLoader renders/decodes them."""

    def __init__(self, dataset, sampler: DeterministicBatchSampler, cache: torch.Tensor | None, num_workers: int, pin: bool):
        self.dataset, self.sampler, self.cache = dataset, sampler, cache
        self.loader = None
        if cache is None:
            self.loader = torch.utils.data.DataLoader(
                dataset,
                batch_sampler=sampler,
                num_workers=num_workers,
                collate_fn=collate_words,
                pin_memory=pin,
                persistent_workers=num_workers > 0,
            )

    def __len__(self) -> int:
        return self.sampler.steps_per_epoch

    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[torch.Tensor]:
        self.sampler.set_position(epoch, start)
        if self.cache is not None:
            for idx in self.sampler:
                yield self.cache[torch.as_tensor(idx)].to(torch.float32).div_(255.0)
        else:
            for batch in self.loader:
                note_skipped(self.dataset, batch["skipped"])  # read in a worker: keep the report whole
                if not len(batch["label"]):
                    where = ", ".join(s.where for s in batch["skipped"])
                    raise DataError(where, "every image of this batch is unreadable (on_error: skip)")
                yield batch["image"]  # fewer than the batch size when some were skipped


class PackedBatches:
    """Whole batches of a PackedWords (seqclr.data.packed) on ``device``: uint8 (B, 1, H, W), or
    float in [0, 1] with ``as_float`` (converted on the device, so only bytes cross the bus).

    The order is seqclr.train.sampler.BatchOrder's, a pure function of (seed, epoch); the
    incomplete last batch is dropped. shuffle: "index" (the permutation of
    DeterministicBatchSampler, each batch read as sorted indices), "block" (blocks of
    ``block_size`` contiguous images in permuted order: every read is contiguous) or "none".
    rank / world_size: ``batch_size`` is the global batch; this rank gets the contiguous slice
    ``[rank * B / world, (rank + 1) * B / world)`` of every global batch (as the sampler does).
    sort: yield each batch in sorted index order (the default; reads go forward in the file);
    False keeps the permutation's order (read sorted, reordered on the device), so the batches
    equal those of DeterministicBatchSampler element for element.
    pin: stage batches in two alternating page-locked buffers and copy with non_blocking.
    """

    SHUFFLES = SHUFFLES

    def __init__(
        self,
        packed,
        batch_size: int,
        seed: int = 0,
        device: str | torch.device = "cpu",
        pin: bool | None = None,
        shuffle: str = "index",
        block_size: int = 64,
        as_float: bool = False,
        rank: int = 0,
        world_size: int = 1,
        sort: bool = True,
    ) -> None:
        self.order = BatchOrder(len(packed), batch_size, seed, rank, world_size, shuffle, block_size,
                                name=f"PackedBatches ({packed.path})")  # fmt: skip
        self.packed, self.batch_size, self.seed = packed, int(batch_size), int(seed)
        self.rank, self.world_size, self.per_rank = self.order.rank, self.order.world_size, self.order.per_rank
        self.device = torch.device(device)
        self.pin = (self.device.type == "cuda") if pin is None else bool(pin and torch.cuda.is_available())
        self.shuffle, self.block_size, self.as_float, self.sort = shuffle, int(block_size), as_float, bool(sort)
        shape = (self.per_rank, packed.height, packed.width)
        self._buffers = [torch.empty(shape, dtype=torch.uint8, pin_memory=self.pin) for _ in range(2 if self.pin else 1)]
        self._events: list = [None] * len(self._buffers)
        self.epoch = 0

    def __len__(self) -> int:
        return self.order.steps_per_epoch

    def batch_indices(self, epoch: int) -> list[np.ndarray]:
        """This rank's image indices of every batch of ``epoch`` (sorted unless ``sort=False``)."""
        batches = list(self.order.batches(epoch))
        return [np.sort(idx) for idx in batches] if self.sort else batches

    def _read(self, idx: np.ndarray, slot: int) -> torch.Tensor:
        """The images of the sorted ``idx`` into buffer ``slot``."""
        buf = self._buffers[slot]
        if self._events[slot] is not None:
            self._events[slot].synchronize()  # the copy from this buffer two batches ago is done
        contiguous = idx[-1] - idx[0] + 1 == len(idx)
        if contiguous:
            buf.numpy()[...] = self.packed.images[idx[0] : idx[-1] + 1]
        else:
            self.packed.gather(idx, out=buf.numpy())
        return buf

    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[torch.Tensor]:
        """Batches ``start``.. of ``epoch`` on the device."""
        for i, idx in enumerate(self.batch_indices(epoch)[start:]):
            slot = i % len(self._buffers)
            back = None  # unsorted batch: position of each wanted image in the sorted read
            if not self.sort:
                ahead = np.argsort(idx, kind="stable")
                idx, back = idx[ahead], np.argsort(ahead)
            buf = self._read(idx, slot)
            if self.device.type == "cpu":
                x = buf if (self.as_float or back is not None) else buf.clone()  # to(float) / index_select copy
            else:
                x = buf.to(self.device, non_blocking=self.pin)
                if self.pin:
                    ev = torch.cuda.Event()
                    ev.record()
                    self._events[slot] = ev
            if back is not None:
                x = x.index_select(0, torch.as_tensor(back, device=self.device))
            x = x.unsqueeze(1)
            yield x.to(torch.float32).div_(255.0) if self.as_float else x

    def __iter__(self) -> Iterator[torch.Tensor]:
        yield from self.epoch_batches(self.epoch)
        self.epoch += 1


class PackedSource:
    """BatchSource's interface over a packed folder: ``epoch_batches(epoch, start)`` yields this
    rank's float32 (B/world, 1, H, W) batches in [0, 1], already on ``device``.

    The order is ``sampler``'s (DeterministicBatchSampler: a pure function of (seed, epoch), each
    global batch split into contiguous per-rank slices), image for image: PackedBatches draws the
    same permutation and keeps its order (``sort=False``), so a resumed run sees exactly the
    batches of an uninterrupted one and a pack of a source trains like that source's cache."""

    def __init__(self, packed, sampler: DeterministicBatchSampler, device: torch.device | str = "cpu", pin: bool = False):
        if len(packed) != sampler.n:
            raise ValueError(f"{packed.path}: {len(packed)} images, the sampler has {sampler.n}")
        self.packed, self.sampler = packed, sampler
        self.batches = PackedBatches(
            packed, sampler.batch_size, seed=sampler.seed, device=device, pin=pin, shuffle="index",
            as_float=True, rank=sampler.rank, world_size=sampler.world_size, sort=False,
        )  # fmt: skip

    def __len__(self) -> int:
        return self.sampler.steps_per_epoch

    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[torch.Tensor]:
        self.sampler.set_position(epoch, start)  # checks start as BatchSource does
        yield from self.batches.epoch_batches(epoch, start)


def build_batches(
    cfg: PretrainConfig, rank: int = 0, world_size: int = 1, pin: bool = False, device: torch.device | str | None = None
) -> BatchSource | PackedSource:
    """The dataset, its deterministic sampler and (if ``cfg.cache_data``) the in-memory cache; for
    ``data: packed`` a PackedSource (no cache: ``cache_data`` is ignored) whose batches are made
    on ``device`` (None: the current CUDA device when ``pin``, which the loop sets for CUDA
    training, else the CPU)."""
    if cfg.data == "packed":
        packed = open_pack(cfg)
        sampler = DeterministicBatchSampler(len(packed), cfg.batch_size, seed=cfg.seed, rank=rank, world_size=world_size)
        if device is None:
            device = torch.device("cuda", torch.cuda.current_device()) if pin and torch.cuda.is_available() else "cpu"
        return PackedSource(packed, sampler, device, pin)
    ds = build_dataset(cfg)
    sampler = DeterministicBatchSampler(len(ds), cfg.batch_size, seed=cfg.seed, rank=rank, world_size=world_size)
    cache = render_cache(ds, cfg.num_workers) if cfg.cache_data else None
    if cache is not None and len(cache) != len(ds):  # skipped images left out: sample what was read
        sampler = DeterministicBatchSampler(len(cache), cfg.batch_size, seed=cfg.seed, rank=rank, world_size=world_size)
    return BatchSource(ds, sampler, cache, cfg.num_workers, pin)
