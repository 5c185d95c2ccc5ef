"""LMDB word databases in the deep-text-recognition-benchmark layout.

Keys: ``num-samples`` (decimal count), and for i = 1..num-samples ``image-%09d`` (the encoded
image file bytes, e.g. PNG or JPEG) and ``label-%09d`` (UTF-8 label). ``write_lmdb`` creates one.
The environment is opened lazily in each process (an open LMDB handle must not cross a fork).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

import lmdb
import numpy as np
from PIL import Image

from seqclr.data.readers.base import DataError, ErrorPolicy, check_on_error, decode_image, get_with_policy
from seqclr.data.sample import WordSample


_ENVS: dict[tuple[str, int], lmdb.Environment] = {}


def _open(path: Path) -> lmdb.Environment:
    """One read-only environment per database and process (LMDB refuses a second open of the
    same database in one process)."""
    key = (str(Path(path).resolve()), os.getpid())
    if key in _ENVS:
        return _ENVS[key]
    if not path.exists():
        raise DataError(path, "LMDB database not found")
    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False, max_readers=64)
    except lmdb.Error as err:
        raise DataError(path, f"cannot open LMDB ({err})") from None
    _ENVS[key] = env
    return env


def close_lmdb(path: str | os.PathLike) -> None:
    """Close this process's cached read environment of ``path`` (e.g. before rewriting it)."""
    env = _ENVS.pop((str(Path(path).resolve()), os.getpid()), None)
    if env is not None:
        env.close()


class LmdbWords(ErrorPolicy):
    """Word images from an LMDB database (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, on_error: str = "raise", max_samples: int | None = None) -> None:
        self.on_error = check_on_error(on_error)
        self.path = Path(path)
        self.name = f"LmdbWords({self.path})"
        self.skipped = 0
        self.skipped_files: dict[str, str] = {}
        env = _open(self.path)
        with env.begin() as txn:
            raw = txn.get(b"num-samples")
            if raw is None:
                raise DataError(self.path, "missing key 'num-samples'")
            try:
                n = int(raw.decode("ascii"))
            except ValueError:
                raise DataError(self.path, f"key 'num-samples' is not an integer: {raw!r}") from None
            if max_samples is not None:
                n = min(n, int(max_samples))
            labels = []
            for i in range(1, n + 1):
                key = "label-%09d" % i
                value = txn.get(key.encode())
                if value is None:
                    raise DataError(self.path, f"missing key {key!r}")
                try:
                    labels.append(value.decode("utf-8"))
                except UnicodeDecodeError:
                    raise DataError(self.path, f"key {key!r} is not UTF-8") from None
        self._labels = labels  # no handle kept: each process opens its own (see _open)

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def _load(self, index: int) -> WordSample:
        key = "image-%09d" % (index + 1)
        with _open(self.path).begin() as txn:
            data = txn.get(key.encode())
        name = f"{self.path}[{key}]"
        if data is None:
            raise DataError(name, "missing image key")
        image = decode_image(bytes(data), name)
        return WordSample(image=image, label=self._labels[index], meta={"path": str(self.path), "key": key})

    def __getitem__(self, index: int) -> WordSample:
        return get_with_policy(self, index, self._load)


def _encode(image: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def write_lmdb(
    path: str | os.PathLike,
    samples: Iterable[WordSample | tuple[np.ndarray, str]],
    image_format: str = "PNG",
    map_size: int = 1 << 30,
) -> int:
    """Write samples (WordSample or (uint8 image, label)) to a new LMDB at ``path``; returns the
    count. ``map_size`` is the maximum database size (the file only grows as needed)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    close_lmdb(path)
    env = lmdb.open(str(path), map_size=map_size)
    n = 0
    try:
        with env.begin(write=True) as txn:
            for s in samples:
                image, label = (s.image, s.label) if isinstance(s, WordSample) else s
                n += 1
                txn.put(("image-%09d" % n).encode(), _encode(image, image_format))
                txn.put(("label-%09d" % n).encode(), str(label).encode("utf-8"))
            txn.put(b"num-samples", str(n).encode("ascii"))
    finally:
        env.close()
    return n
