"""The evaluation protocols' data: one WordDataset per split and the labeled training subset.

The subset is ``labeled_subset(len(train), label_fraction, subset_seed)`` of the charset-filtered
training set: it depends only on the data, the fraction and the seed, never on the method, so
every method compared (SeqCLR variants, SimCLR, the supervised baseline) trains on the same images.

A CTC recognizer cannot read a word whose label needs more frames than the encoder gives at the
configured width (``seqclr.models.prediction.ctc_frames_needed``: one per character plus one per
pair of equal adjacent characters). ``exclude_too_long`` takes such words out of the labeled
subset before training (their loss would be 0: they would be silently ignored) and reports them;
on val / test they stay (scored as errors) and ``too_long_report`` counts them.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from seqclr.data.dataset import WordDataset, build_source
from seqclr.data.fonts import SPLITS
from seqclr.data.skips import Skipped
from seqclr.data.subsets import labeled_subset
from seqclr.evaluate.config import RecognizerTrainConfig
from seqclr.models.prediction import ctc_frames_needed



def build_split(cfg: RecognizerTrainConfig, split: str):
    """WordDataset of ``split`` ("train" | "val" | "test") as described in the config module."""
    if split not in SPLITS:
        raise ValueError(f"build_split: split must be one of {SPLITS}, got {split!r}")
    size = getattr(cfg, f"{split}_size")
    kwargs = dict(getattr(cfg, f"{split}_source"))
    if cfg.data.startswith("synthetic-"):
        kwargs = {"split": split, "size": size, "seed": cfg.data_seed, "charset": cfg.charset, **kwargs}
        source = build_source(cfg.data, **kwargs)
    else:
        if not kwargs:
            raise ValueError(
                f"{split}_source: the {cfg.data!r} source needs its arguments (e.g. a path) for the {split} split"
            )
        paths = kwargs.pop("paths", None)
        if paths is None:
            source = build_source(cfg.data, **kwargs)
        else:  # a union of several databases (e.g. IC13 + IIIT5K training sets for scene-text val)
            source = UnionSource([build_source(cfg.data, path=path, **kwargs) for path in paths])
        if any(not getattr(s, "labeled", True) for s in getattr(source, "datasets", [source])):
            raise ValueError(
                f"{split}_source: recognizers train and score on labels; give the {cfg.data!r} source its text column"
            )
        if size is not None and size < len(source):
            source = _FirstN(source, size)
    return WordDataset(source, cfg.charset, height=cfg.height, width=cfg.width)


class UnionSource(torch.utils.data.ConcatDataset):
    """The concatenation of several sources, in order, with their ``labels`` concatenated (so
    the charset filter of WordDataset still reads labels instead of decoding images)."""

    def __init__(self, sources) -> None:
        sources = list(sources)
        if not sources:
            raise ValueError("UnionSource: needs at least one source")
        super().__init__(sources)
        self.name = "UnionSource(" + ", ".join(getattr(s, "name", type(s).__name__) for s in sources) + ")"

    @property
    def labels(self) -> list[str]:
        out: list[str] = []
        for s in self.datasets:
            labels = getattr(s, "labels", None)
            out.extend(labels if labels is not None else [s[i].label for i in range(len(s))])
        return out


class _FirstN(torch.utils.data.Dataset):
    """The first ``n`` items of a source (keeps its ``labels`` so charset filtering stays cheap)."""

    def __init__(self, source, n: int) -> None:
        self.source, self.n = source, int(n)
        labels = getattr(source, "labels", None)
        if labels is not None:
            self.labels = list(labels)[: self.n]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        if not 0 <= index < self.n:
            raise IndexError(f"index {index} out of range for the first {self.n} items")
        return self.source[index]


def training_subset(n: int, label_fraction: float, subset_seed: int) -> np.ndarray:
    """Sorted indices of the labeled subset (see the module docstring)."""
    return labeled_subset(n, label_fraction, subset_seed)


def indices_digest(indices) -> str:
    """SHA-256 of the index list: equal digests in two runs' metrics.json = the same subset."""
    arr = np.ascontiguousarray(np.asarray(indices, dtype=np.int64))
    return hashlib.sha256(arr.tobytes()).hexdigest()


def split_labels(dataset) -> list[str]:
    """The labels of ``dataset``'s items in order: its ``labels`` (WordDataset, MemoryWords: no
    image read), else read from its items."""
    labels = getattr(dataset, "labels", None)
    if labels is not None:
        return list(labels)

    items = (dataset[i] for i in range(len(dataset)))
    return ["" if isinstance(it, Skipped) else it["label"] for it in items]  # a skipped item: no label


def too_long_report(labels, frames: int, max_examples: int = 5) -> tuple[list[int], dict]:
    """(positions of the labels a CTC path of ``frames`` frames cannot hold, report): report =
    {"count", "frames", "examples": [{"label", "frames_needed"}] (the first ``max_examples``)}."""
    bad, examples = [], []
    for k, label in enumerate(labels):
        need = ctc_frames_needed(label)
        if need > frames:
            bad.append(k)
            if len(examples) < max_examples:
                examples.append({"label": label, "frames_needed": need})
    return bad, {"count": len(bad), "frames": int(frames), "examples": examples}


def exclude_too_long(indices, labels, frames: int, max_examples: int = 5) -> tuple[np.ndarray, dict]:
    """(``indices`` without the words whose label cannot fit ``frames`` CTC frames, the report of
    the excluded ones as :func:`too_long_report`); ``labels``: every training item's label."""
    indices = np.asarray(indices, dtype=np.int64)
    bad, report = too_long_report([labels[int(i)] for i in indices], frames, max_examples)
    return np.delete(indices, bad), report
