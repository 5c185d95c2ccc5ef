"""WordDataset: any source -> charset-filtered, preprocessed tensors; and the source registry.

A source is a map-style dataset of WordSample; if it has a ``labels`` list (all built-in sources
do) the charset filter reads it instead of decoding every image. Labels the charset does not
cover are dropped, never silently: ``dropped_labels`` holds the report of
``filter_by_charset`` and a warning gives the count. A source with ``labeled = False`` (a parquet
source without a text column: images for pretraining) is not filtered: every image is kept and
its label is "".
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable

import torch

from seqclr.data.charset import Charset, filter_by_charset, get_charset
from seqclr.data.preprocess import preprocess, to_tensor
from seqclr.data.readers import CvlWords, IamWords, LmdbWords, ParquetWords, RimesWords, TsvWords
from seqclr.data.synthetic import SyntheticWords


class WordDataset(torch.utils.data.Dataset):
    """Items: dict(image=float32 (1, H, W) in [0, 1], label=str (charset-normalized),
    char_boxes=float32 (len(label), 2) tensor or None, index=int (position in this dataset))."""

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
        if not self.labeled:  # unlabeled images (pretraining): nothing to filter
            self.indices = list(range(len(source)))
            self.dropped_labels = {**filter_by_charset([], self.charset)[1], "total": len(source)}
            return
        labels = getattr(source, "labels", None)
        if labels is None:  # a foreign source: read its items once for the labels
            labels = [source[i].label for i in range(len(source))]
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

    def __getitem__(self, index: int) -> dict:
        n = len(self.indices)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for WordDataset of size {n}")
        index %= n
        for step in range(n):  # a skip-mode source may hand back another item: keep it covered
            sample = self.source[self.indices[(index + step) % n]]
            label = self.charset.normalize(sample.label)
            if not self.labeled or (label and self.charset.covers(label)):
                break
        else:
            raise RuntimeError(f"{type(self.source).__name__}: no item with a label in charset {self.charset.name!r}")
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


def collate_words(batch: list[dict]) -> dict:
    """Batch of WordDataset items: image (N, 1, H, W), label list, char_boxes list, index (N,)."""
    return {
        "image": torch.stack([b["image"] for b in batch]),
        "label": [b["label"] for b in batch],
        "char_boxes": [b["char_boxes"] for b in batch],
        "index": torch.tensor([b["index"] for b in batch], dtype=torch.long),
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
