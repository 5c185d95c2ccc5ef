"""What every reader shares: the DataError, image decoding, and the on_error policy.

A reader is a map-style dataset of WordSample with a cheap ``labels`` list (no image decoding),
so the charset filter of WordDataset does not read images. A missing or corrupt image raises
``DataError(path, reason)``; with ``on_error="skip"`` it is counted in ``skipped`` (the reasons in
``skipped_files``, by file / row / key), a warning is issued once per item, and ``SkippedItem`` (a
DataError) is raised instead: the item is dropped, never replaced by another one (a substitute
would put one image twice in a batch, a false negative for the contrastive loss). WordDataset turns
it into a ``seqclr.data.skips.Skipped`` record that the collate function and the caches drop.
Missing files of file-based readers are found (and skipped or raised) when the reader is built.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from seqclr.data.preprocess import to_grayscale
from seqclr.data.sample import WordSample

ON_ERROR = ("raise", "skip")


class DataError(ValueError):
    """A data file (image, label file, database key) that cannot be used."""

    exit_code = 2  # seqclr.exits: one line and this exit status on the command line

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path, self.reason = str(path), reason
        super().__init__(f"{self.path}: {reason}")


class SkippedItem(DataError):
    """An item a reader with ``on_error="skip"`` cannot read: already counted in ``skipped`` /
    ``skipped_files`` and warned about; the caller drops it (no other item stands in for it)."""


def decode_image(data: bytes | str | os.PathLike, name: str | os.PathLike | None = None) -> np.ndarray:
    """uint8 grayscale (H, W) from encoded bytes or a file path; DataError naming the file."""
    name = str(name if name is not None else data if not isinstance(data, bytes) else "<bytes>")
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
            im.load()  # decode now: a truncated file fails here, not later
            image = to_grayscale(im)
    except FileNotFoundError:
        raise DataError(name, "image file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(name, f"cannot decode image ({err})") from None
    if image.size == 0:
        raise DataError(name, "empty image")
    return image


def check_on_error(on_error: str) -> str:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    return on_error


class ErrorPolicy:
    """The on_error policy: raise the DataError, or count it in ``skipped``/``skipped_files``."""

    on_error: str = "raise"
    name: str = ""
    skipped: int = 0
    skipped_files: dict[str, str]

    def _fail(self, err: DataError) -> None:
        if self.on_error == "raise":
            raise err
        if err.path not in self.skipped_files:
            self.skipped += 1
            self.skipped_files[err.path] = err.reason
            warnings.warn(f"{self.name}: skipping {err}", stacklevel=3)


class ImageFileSource(ErrorPolicy):
    """A list of (image path, label, meta) read lazily; the base of the file-based readers."""

    def __init__(self, entries: list[tuple[Path, str, dict]], on_error: str = "raise", name: str = "") -> None:
        self.on_error = check_on_error(on_error)
        self.name = name or type(self).__name__
        self.skipped = 0
        self.skipped_files = {}
        kept = []
        for path, label, meta in entries:
            if Path(path).is_file():
                kept.append((Path(path), label, meta))
            else:
                self._fail(DataError(path, "image file not found"))
        self.entries = kept

    @property
    def labels(self) -> list[str]:
        return [label for _, label, _ in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def _load(self, index: int) -> WordSample:
        path, label, meta = self.entries[index]
        return WordSample(image=decode_image(path), label=label, meta={"path": str(path), **meta})

    def __getitem__(self, index: int) -> WordSample:
        return get_with_policy(self, index, self._load)


def get_with_policy(source, index: int, load: Callable[[int], WordSample]) -> WordSample:
    """``load(index)``; on DataError raise it, or (skip) count it and raise SkippedItem: the item is
    dropped by the caller, never replaced by the next one."""
    n = len(source)
    index = int(index)
    if index < 0:
        index += n
    if not 0 <= index < n:
        raise IndexError(f"index {index} out of range for {source.name} of size {n}")
    try:
        return load(index)
    except DataError as err:
        source._fail(err)  # raises it with on_error="raise"
        raise SkippedItem(err.path, err.reason) from None
