"""WordDataset: any source -> charset-filtered, preprocessed tensors; and the source registry.

A source is a map-style dataset of WordSample; if it has a ``labels`` list (all built-in sources
do) the charset filter reads it instead of decoding every image. Labels the charset does not
cover are dropped, never silently: ``dropped_labels`` holds the report of
``filter_by_charset`` and a warning gives the count. A source with ``labeled = False`` (a parquet
source without a text column: images for pretraining) is not filtered: every image is kept and
its label is "".

An item the source skips (``on_error: skip``, an unreadable image) comes back as a
``seqclr.data.skips.Skipped`` record, never as another image: ``collate_words`` drops it (the batch
shrinks by one and lists it in ``batch["skipped"]``), the caches leave it out, and
``seqclr.data.skips.skipped_report`` lists it.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Callable

import torch

from seqclr.data.charset import Charset, filter_by_charset, get_charset
from seqclr.data.preprocess import preprocess, to_tensor
from seqclr.data.readers import CvlWords, IamWords, LmdbWords, ParquetWords, RimesWords, SkippedItem, TsvWords
from seqclr.data.skips import Skipped, drop_skipped
from seqclr.data.synthetic import SyntheticWords


class WordDataset(torch.utils.data.Dataset):
    """Items: dict(image=float32 (1, H, W) in [0, 1], label=str (charset-normalized),
    char_boxes=float32 (len(label), 2) tensor or None, index=int (position in this dataset)), or
    a Skipped record for an item the source skipped (see the module docstring).

    ``labels``: the items' labels without reading images; ``skipped_files``: items skipped in
    other processes (DataLoader workers), handed back by seqclr.data.skips.note_skipped."""

    def __init__(
        self,
        source,
        charset: Charset | str = "english95",
        height: int = 32,
        width: int = 100,
        keep_ratio: bool = False,
        pad_value: int | None = None,
    ) -> None:
        self.source = source
        self.charset = get_charset(charset)
        self.height, self.width, self.keep_ratio, self.pad_value = int(height), int(width), bool(keep_ratio), pad_value
        self.labeled = bool(getattr(source, "labeled", True))
        self.skipped_files: dict[str, str] = {}
        self._own_labels = None  # a foreign source's labels, read once below
        if not self.labeled:  # unlabeled images (pretraining): nothing to filter
            self.indices = list(range(len(source)))
            self.dropped_labels = {**filter_by_charset([], self.charset)[1], "total": len(source)}
            return
        labels = getattr(source, "labels", None)
        if labels is None:  # a foreign source: read its items once for the labels
            labels = self._own_labels = [source[i].label for i in range(len(source))]
        self.indices, self.dropped_labels = filter_by_charset(list(labels), self.charset)
        if self.dropped_labels["count"]:
            d = self.dropped_labels
            warnings.warn(
                f"{type(source).__name__}: dropped {d['count']} of {d['total']} labels not covered by charset "
                f"{self.charset.name!r} (e.g. {d['examples'][:3]!r}; characters {[c for c, _ in d['unknown_chars'][:10]]!r})",
                stacklevel=2,
            )

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def labels(self) -> list[str]:
        """The charset-normalized label of every item, in order (no image is read)."""
        if not self.labeled:
            return [""] * len(self.indices)
        labels = self._own_labels if self._own_labels is not None else self.source.labels
        return [self.charset.normalize(labels[i]) for i in self.indices]

    def head(self, n: int) -> "WordDataset":
        """The first ``n`` items (what ``train_size`` keeps), as a WordDataset over the same source."""
        view = copy.copy(self)
        view.indices, view.skipped_files = self.indices[: max(0, int(n))], {}
        return view

    def __getitem__(self, index: int) -> dict | Skipped:
        n = len(self.indices)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for WordDataset of size {n}")
        index %= n
        try:
            sample = self.source[self.indices[index]]
        except SkippedItem as err:  # dropped by the consumer, never replaced by another item
            return Skipped(err.path, err.reason, index, (1, self.height, self.width))
        label = self.charset.normalize(sample.label)
        if self.labeled and not (label and self.charset.covers(label)):
            raise RuntimeError(
                f"{type(self.source).__name__}[{self.indices[index]}]: label {sample.label!r} is not the one "
                f"its labels list gave (not covered by charset {self.charset.name!r})"
            )
        sample = preprocess(sample, self.height, self.width, self.keep_ratio, self.pad_value)
        boxes = sample.char_boxes
        if boxes is not None and len(boxes) != len(label):
            boxes = None  # normalization changed the length: boxes no longer align
        return {
            "image": to_tensor(sample.image)[0],
            "label": label,
            "char_boxes": torch.from_numpy(boxes) if boxes is not None else None,
            "index": index,
        }


def collate_words(batch: list) -> dict:
    """Batch of WordDataset items: image (N, 1, H, W), label list, char_boxes list, index (N,),
    skipped (the Skipped records left out: N is the batch size less their number; all of them
    skipped gives N = 0)."""
    batch, skipped = drop_skipped(batch)
    if not batch:
        shape = skipped[0].shape if skipped else ()
        return {"image": torch.zeros((0, *shape)), "label": [], "char_boxes": [],
                "index": torch.zeros(0, dtype=torch.long), "skipped": skipped}  # fmt: skip
    return {
        "image": torch.stack([b["image"] for b in batch]),
        "label": [b["label"] for b in batch],
        "char_boxes": [b["char_boxes"] for b in batch],
        "index": torch.tensor([b["index"] for b in batch], dtype=torch.long),
        "skipped": skipped,
    }


def _synthetic(style: str) -> Callable:
    def make(
        split: str = "train",
        size: int = 1000,
        seed: int = 0,
        languages=("en",),
        charset="english95",
        min_len: int = 1,
        max_len: int = 12,
        vocab_size: int = 10000,
        benchmark: str | None = None,
    ) -> SyntheticWords:
        return SyntheticWords(split, style, size, seed, languages, charset, min_len, max_len, vocab_size, benchmark)

    make.__doc__ = f"SyntheticWords with style={style!r}."
    return make


SOURCES: dict[str, Callable] = {
    "synthetic-handwriting": _synthetic("handwriting"),
    "synthetic-print": _synthetic("print"),
    "lmdb": LmdbWords,
    "iam": IamWords,
    "cvl": CvlWords,
    "rimes": RimesWords,
    "tsv": TsvWords,
    "parquet": ParquetWords,
}


def path_argument(name: str) -> str:
    """The argument of the real source ``name`` that takes its file or folder (its first: ``root``
    for iam / cvl, ``path`` for lmdb / tsv / parquet, ``gt_file`` for rimes)."""
    return next(iter(inspect.signature(SOURCES[name]).parameters))


def build_source(name: str, **kwargs):
    """A source by registry name; ValueError for an unknown name, TypeError for an unknown kwarg."""
    if name not in SOURCES:
        raise ValueError(f"unknown data source {name!r}; valid names: {', '.join(SOURCES)}")
    factory = SOURCES[name]
    params = inspect.signature(factory).parameters
    for key in kwargs:
        if key not in params or key == "self":
            valid = ", ".join(p for p in params if p != "self")
            raise TypeError(f"build_source({name!r}): unknown argument {key!r}; valid: {valid}")
    return factory(**kwargs)
