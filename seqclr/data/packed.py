"""A packed dataset: every image preprocessed once into one memory-mapped uint8 array.

``pack_dataset`` runs any source (LMDB, IAM, folders, tsv, parquet, the embedded renderer) through
WordDataset (charset filter + the same resize as training) and writes a folder::

    <path>/images.npy      uint8 (N, H, W), 0 = ink, 255 = paper (numpy .npy, memory-mappable)
    <path>/labels.json     N charset-normalized labels
    <path>/manifest.json   source, count, size, charset, dropped labels, skipped items, crc32 of the images

The folder is written under a temporary name and renamed at the end, so a crashed pack never
looks complete. ``PackedWords`` maps the images and reads large contiguous slices (no decoding,
no resizing); seqclr.train.data.PackedBatches serves whole shuffled batches of it as one tensor on
the device, so the GPU is fed by a single host-to-device copy per step and augmentations run on
the device.

The command line is :mod:`seqclr.cli_pack` (``python -m seqclr.cli_pack`` or ``seqclr pack``).

Pretraining reads a pack with ``data: packed`` and ``train_source: {path: <folder>}`` (seqclr.train.data).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import zlib
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from seqclr.data.dataset import WordDataset, collate_words
from seqclr.data.readers.base import DataError
from seqclr.data.skips import note_skipped, skipped_report

FORMAT_VERSION = 1
IMAGES, LABELS, MANIFEST = "images.npy", "labels.json", "manifest.json"


def _describe(source) -> str:
    text = repr(source)
    if text.startswith("<"):  # the default object repr says nothing useful
        text = type(source).__name__ + "".join(
            f" {k}={getattr(source, k)}" for k in ("path", "root", "name") if hasattr(source, k)
        )
    return text


def pack_dataset(
    source,
    path: str | os.PathLike,
    height: int = 32,
    width: int = 100,
    keep_ratio: bool = False,
    charset=None,
    chunk: int = 1024,
    num_workers: int = 0,
    overwrite: bool = False,
    progress: bool = False,
    size: int | None = None,
) -> "PackedWords":
    """Preprocess every image of ``source`` once into the packed folder ``path``; returns it opened.

    source: a map-style dataset of WordSample (any reader, SyntheticWords) or a WordDataset
    (then its charset, size and keep_ratio are used and the other arguments are ignored).
    charset: None = "english95"; labels it does not cover are dropped (counted in the manifest).
    size: pack only the first ``size`` items, in the source's order after the charset filter
    (what pretraining's ``train_size`` keeps); None = all.
    chunk: images preprocessed and written per slice; num_workers: DataLoader workers rendering /
    decoding them. The images are bit-identical to ``WordDataset(source, ...)[i]["image"] * 255``.
    An item the source skips (``on_error: skip``) is left out, not replaced: the pack then holds
    fewer images, and the manifest's ``skipped`` lists them (file / row, reason).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path}: packed dataset already exists (to replace it: --overwrite on the command line, "
            "overwrite=True in Python)"
        )
    if isinstance(source, WordDataset):
        ds = source
    else:
        ds = WordDataset(source, charset or "english95", height=height, width=width, keep_ratio=keep_ratio)
    if size is not None:
        if int(size) < 1:
            raise ValueError(f"pack_dataset: size must be >= 1 (or None for all), got {size}")
        ds = ds.head(size)
    if len(ds) == 0:
        raise ValueError(f"{_describe(ds.source)}: nothing to pack (no image with a label in charset {ds.charset.name!r})")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        count, crc, labels = _write_images(ds, tmp / IMAGES, chunk, num_workers, path.name if progress else None)
        (tmp / LABELS).write_text(json.dumps(labels, ensure_ascii=False))
        (tmp / MANIFEST).write_text(json.dumps(_manifest(ds, count, crc), indent=2))
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PackedWords(path)


def _write_images(ds, file: Path, chunk: int, num_workers: int, bar_name: str | None) -> tuple[int, int, list[str]]:
    """Write ``ds``'s images to the .npy ``file``, skipped items left out; (count, crc32, labels)."""
    n, h, w = len(ds), ds.height, ds.width
    images = np.lib.format.open_memmap(file, mode="w+", dtype=np.uint8, shape=(n, h, w))
    loader = torch.utils.data.DataLoader(
        ds, batch_size=max(1, int(chunk)), shuffle=False, num_workers=num_workers, collate_fn=collate_words
    )
    bar = None
    if bar_name is not None:
        bar = tqdm(total=n, desc=f"pack {bar_name}", unit="img")
    crc, pos, labels = 0, 0, []
    for batch in loader:
        note_skipped(ds, batch["skipped"])  # read in a worker: the manifest still lists it
        block = (batch["image"][:, 0] * 255.0).round_().to(torch.uint8).numpy()
        images[pos : pos + len(block)] = block
        crc = zlib.crc32(np.ascontiguousarray(block), crc)
        labels.extend(batch["label"])
        pos += len(block)
        if bar is not None:
            bar.update(len(block) + len(batch["skipped"]))
    if bar is not None:
        bar.close()
    images.flush()
    del images
    if pos == 0:
        raise DataError(_describe(ds.source), f"nothing to pack: all {n} images were skipped (unreadable)")
    if pos < n:
        _shrink(file, pos)
    return pos, crc, labels


def _shrink(file: Path, n: int, chunk: int = 8192) -> None:
    """Keep the first ``n`` images of the .npy ``file`` (written for more before items were skipped)."""
    full = np.load(file, mmap_mode="r")
    part = file.with_name(file.name + ".part")
    out = np.lib.format.open_memmap(part, mode="w+", dtype=np.uint8, shape=(n, *full.shape[1:]))
    for s in range(0, n, chunk):
        out[s : s + chunk] = full[s : min(s + chunk, n)]
    out.flush()
    del out, full
    os.replace(part, file)


def _manifest(ds, count: int, crc: int) -> dict:
    dropped = dict(ds.dropped_labels)
    return {
        "format": "seqclr-packed",
        "version": FORMAT_VERSION,
        "source": _describe(ds.source),
        "count": count,
        "height": ds.height,
        "width": ds.width,
        "keep_ratio": ds.keep_ratio,
        "charset": ds.charset.name,
        "dropped_labels": {"count": int(dropped.get("count", 0)), "total": int(dropped.get("total", count))},
        "skipped": skipped_report(ds),  # items on_error: skip left out: [{"where", "reason"}]
        "images_crc32": crc,
    }


def _read_json(folder: Path, name: str, kind: type):
    file = folder / name
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(file, f"{name} missing (an interrupted pack?)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(file, f"corrupt JSON ({err})") from None
    if not isinstance(value, kind):
        raise DataError(file, f"expected a JSON {kind.__name__}, got {type(value).__name__}")
    return value


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of the packed folder ``path``, checked without reading images or labels
    (cheap enough for config validation): the folder, the three files, the format and the
    count / height / width / charset keys. DataError naming the folder or file otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(path, "packed dataset folder not found")
    manifest = _read_json(path, MANIFEST, dict)
    if manifest.get("format") != "seqclr-packed":
        raise DataError(path / MANIFEST, "not a seqclr packed dataset manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise DataError(path / MANIFEST, f"format version {manifest.get('version')!r}, expected {FORMAT_VERSION}")
    for key in ("count", "height", "width"):
        if not isinstance(manifest.get(key), int) or manifest[key] < 1:
            raise DataError(path / MANIFEST, f"{key} must be a positive integer, got {manifest.get(key)!r}")
    if not isinstance(manifest.get("charset"), str):
        raise DataError(path / MANIFEST, f"charset must be a name, got {manifest.get('charset')!r}")
    for name in (IMAGES, LABELS):
        if not (path / name).is_file():
            raise DataError(path / name, f"{name} missing (an interrupted pack?)")
    return manifest


class PackedWords:
    """A packed folder opened read-only: ``images`` is the (N, H, W) uint8 memmap.

    ``batch(start, n)`` reads one contiguous slice as a uint8 tensor (N, 1, H, W);
    ``gather(indices)`` reads sorted indices; items are WordDataset-like dicts. A truncated or
    corrupt folder raises DataError naming the file; ``verify()`` also checks the images' crc32.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        n, h, w = (self.manifest[k] for k in ("count", "height", "width"))
        self.labels: list[str] = _read_json(self.path, LABELS, list)
        if len(self.labels) != n:
            raise DataError(self.path / LABELS, f"{len(self.labels)} labels, manifest says {n} images")
        file = self.path / IMAGES
        try:
            with open(file, "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(f)
                offset = f.tell()
        except FileNotFoundError:
            raise DataError(file, "images file missing") from None
        except (ValueError, OSError) as err:
            raise DataError(file, f"corrupt .npy header ({err})") from None
        if tuple(shape) != (n, h, w) or dtype != np.uint8 or fortran:
            raise DataError(file, f"array {dtype} {tuple(shape)}, manifest says uint8 {(n, h, w)}")
        size, expected = file.stat().st_size, offset + n * h * w
        if size != expected:
            raise DataError(file, f"truncated or corrupt: {size} bytes, expected {expected} for {n} images of {h}x{w}")
        self.images = np.load(file, mmap_mode="r")
        self.height, self.width = h, w

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def skipped_files(self) -> dict[str, str]:
        """The items the pack left out (``on_error: skip``), from the manifest: where -> reason."""
        return {str(e["where"]): str(e["reason"]) for e in self.manifest.get("skipped", [])}

    def __repr__(self) -> str:
        return f"PackedWords({str(self.path)!r}, n={len(self)}, {self.height}x{self.width}, source={self.manifest['source']})"

    def verify(self, chunk: int = 8192) -> None:
        """Recompute the images' crc32 (reads the whole file); DataError if it differs."""
        images = np.load(self.path / IMAGES, mmap_mode="r")  # the whole file, also for a head() view
        crc = 0
        for s in range(0, len(images), chunk):
            crc = zlib.crc32(np.ascontiguousarray(images[s : s + chunk]), crc)
        if crc != self.manifest.get("images_crc32"):
            raise DataError(self.path / IMAGES, "corrupt: crc32 of the images differs from the manifest")

    def head(self, n: int) -> "PackedWords":
        """The first ``n`` images (a view of the same memmap, no copy): what ``train_size`` keeps
        of the other sources. Returns self when the pack has no more than ``n`` images."""
        if n < 1:
            raise ValueError(f"{self.path}: head({n}) needs n >= 1")
        if n >= len(self):
            return self
        view = copy.copy(self)
        view.images, view.labels = self.images[:n], self.labels[:n]
        return view

    def batch(self, start: int, n: int) -> torch.Tensor:
        """Images start..start+n as one uint8 tensor (n, 1, H, W) (one contiguous read)."""
        if not 0 <= start and start + n <= len(self) and n >= 0:
            raise IndexError(f"{self.path}: slice [{start}, {start + n}) outside the {len(self)} images")
        return torch.from_numpy(np.array(self.images[start : start + n])).unsqueeze(1)

    def gather(self, indices, out: np.ndarray | None = None) -> np.ndarray:
        """uint8 (len(indices), H, W) of ``indices`` (sorted first: the reads go forward in the file)."""
        idx = np.sort(np.asarray(indices, dtype=np.int64))
        if len(idx) and (idx[0] < 0 or idx[-1] >= len(self)):
            raise IndexError(f"{self.path}: index outside the {len(self)} images")
        if out is None:
            return self.images[idx]
        np.take(self.images, idx, axis=0, out=out)
        return out

    def __getitem__(self, index: int) -> dict:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {self.path} of size {n}")
        index %= n
        image = torch.from_numpy(np.array(self.images[index])).to(torch.float32).div_(255.0)[None]
        return {"image": image, "label": self.labels[index], "char_boxes": None, "index": index}


if __name__ == "__main__":  # the old command, kept for one release: the CLI is seqclr.cli_pack now
    import runpy
    import warnings

    warnings.warn("`python -m seqclr.data.packed` is deprecated and goes in the next release: use "
                  "`python -m seqclr.cli_pack` (or `seqclr pack`)", FutureWarning, stacklevel=1)
    runpy.run_module("seqclr.cli_pack", run_name="__main__", alter_sys=True)
