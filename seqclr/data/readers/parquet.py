"""Parquet word datasets (e.g. a Hugging Face Hub dataset downloaded beforehand); local files only.

One or more parquet files, concatenated in order, each row one word image: ``image_column`` holds
the encoded image file (PNG, JPEG, ... bytes), the Hub's ``{"bytes": ..., "path": ...}`` struct
(when ``bytes`` is null the image is read from ``path``, relative to the parquet file's folder),
or a path string; ``text_column`` holds the label (strings). ``text_column=None`` reads the
images unlabeled (for pretraining: every label is "" and WordDataset keeps every image).

``path``: a parquet file, a folder (its ``*.parquet`` files, sorted by name), a glob pattern
(``data/train-*.parquet``, sorted) or a list of these. A split is its own file(s): point the
train / val / test sources at different files.

Reading is lazy: the constructor reads the schema and the text column only; an image is read
from its row group, and a few recently read row groups are kept per process (at most
``ROW_GROUP_CACHE_BYTES``), so sequential reads decode each row group once. Rows are named
``FILE[row R]`` (R: 0-based, within the file). A missing file or column, or a column of the
wrong type, is a DataError naming the file (and the available columns); a null label, a null or
undecodable image follows ``on_error`` like every other reader (raise, or skip: the row is dropped,
counted in ``skipped``/``skipped_files`` with a warning; null labels are found when the reader is built).
Needs pyarrow (``pip install 'seqclr[parquet]'``).
"""

from __future__ import annotations

import glob
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqclr.data.readers.base import DataError, ErrorPolicy, check_on_error, decode_image, get_with_policy
from seqclr.data.sample import WordSample

ROW_GROUP_CACHE_BYTES = 64 << 20  # decoded-from-parquet (still encoded) image bytes kept per reader


def _pyarrow():
    try:
        # lazy: pyarrow is the optional extra [parquet]
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "the parquet data source needs pyarrow: pip install 'seqclr[parquet]' (or pip install pyarrow)"
        ) from None
    return pa, pq


def parquet_files(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The parquet files of ``path`` (a file, a folder, a glob pattern or a list of these), in
    order; DataError naming what matched nothing."""
    if isinstance(path, (list, tuple)):
        if not path:
            raise DataError("[]", "no parquet file given")
        return [f for p in path for f in parquet_files(p)]
    text = str(path)
    p = Path(text)
    if p.is_dir():
        files = sorted(q for q in p.glob("*.parquet") if q.is_file())
        if not files:
            raise DataError(p, "no *.parquet file in this folder")
        return files
    if p.is_file():
        return [p]
    if glob.has_magic(text):
        files = sorted(Path(q) for q in glob.glob(text) if Path(q).is_file())
        if not files:
            raise DataError(text, "no file matches this pattern")
        return files
    raise DataError(p, "parquet file not found")


def _open_file(path: Path):
    pa, pq = _pyarrow()
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise DataError(path, f"cannot read parquet ({err})") from None


def _column_type(pf, path: Path, column: str, hint: str = ""):
    """The arrow type of ``column``; DataError naming the file and the available columns."""
    schema = pf.schema_arrow
    if column not in schema.names:
        raise DataError(path, f"no column {column!r} (columns: {', '.join(schema.names)}){hint}")
    return schema.field(column).type


def _check_image_type(t, path: Path, column: str) -> None:
    pa, _ = _pyarrow()
    ok = pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
    if pa.types.is_struct(t):
        names = {t.field(i).name for i in range(t.num_fields)}
        ok = bool(names & {"bytes", "path"})
    if not ok:
        raise DataError(
            path, f"column {column!r} has type {t}; expected encoded image bytes, a {{bytes, path}} struct or a path"
        )


def _check_text_type(t, path: Path, column: str) -> None:
    pa, _ = _pyarrow()
    if pa.types.is_dictionary(t):
        t = t.value_type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)):
        raise DataError(path, f"column {column!r} has type {t}; expected strings (the labels)")


class ParquetWords(ErrorPolicy):
    """Word images from parquet files (see the module docstring).

    path: a file, a folder, a glob pattern or a list of these (concatenated in order).
    image_column / text_column: the columns' names; text_column None = unlabeled images.
    max_samples: keep the first n rows (after null labels are skipped); None = all.
    """

    def __init__(
        self,
        path: str | os.PathLike | Sequence[str | os.PathLike],
        image_column: str = "image",
        text_column: str | None = "text",
        on_error: str = "raise",
        max_samples: int | None = None,
    ) -> None:
        self.on_error = check_on_error(on_error)
        self.files = parquet_files(path)
        self.path = [str(q) for q in path] if isinstance(path, (list, tuple)) else Path(path)  # as given
        more = f" and {len(self.files) - 1} more files" if len(self.files) > 1 else ""
        self.name = f"ParquetWords({self.files[0]}{more})"
        self.image_column, self.text_column = image_column, text_column
        self.labeled = text_column is not None
        self.skipped = 0
        self.skipped_files: dict[str, str] = {}
        limit = None if max_samples is None else int(max_samples)
        labels: list[str] = []
        file_idx: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        self._group_starts: list[np.ndarray] = []  # per file: first row of each row group, and the end
        for k, file in enumerate(self.files):
            pf = _open_file(file)
            _check_image_type(_column_type(pf, file, image_column, "; set image_column"), file, image_column)
            meta = pf.metadata
            sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
            self._group_starts.append(np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]))
            if limit is not None and len(labels) >= limit:
                keep, texts = np.zeros(0, np.int64), []
            else:
                keep, texts = self._file_labels(pf, file, meta.num_rows)
            if limit is not None:
                keep, texts = keep[: limit - len(labels)], texts[: limit - len(labels)]
            labels.extend(texts)
            rows.append(keep)
            file_idx.append(np.full(len(keep), k, np.int32))
        self._labels = labels
        self._file_of = np.concatenate(file_idx) if file_idx else np.zeros(0, np.int32)
        self._row_of = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        self._handles: dict[int, object] = {}
        self._cache: OrderedDict = OrderedDict()
        self._cache_bytes, self._pid = 0, os.getpid()

    def _file_labels(self, pf, file: Path, n: int) -> tuple[np.ndarray, list[str]]:
        """Rows of ``file`` with a label, and the labels (null labels go through on_error)."""
        if self.text_column is None:
            return np.arange(n, dtype=np.int64), [""] * n
        hint = "; set text_column, or text_column=None for unlabeled images"
        _check_text_type(_column_type(pf, file, self.text_column, hint), file, self.text_column)
        values = pf.read(columns=[self.text_column]).column(0).to_pylist()
        keep = []
        for r, value in enumerate(values):
            if value is None:
                self._fail(DataError(f"{file}[row {r}]", f"{self.text_column!r} is null"))
            else:
                keep.append(r)
        return np.asarray(keep, dtype=np.int64), [values[r] for r in keep]

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __getstate__(self) -> dict:  # open files and cached row groups stay in their process
        state = dict(self.__dict__)
        state.update(_handles={}, _cache=OrderedDict(), _cache_bytes=0)
        return state

    def _row_group(self, k: int, g: int):
        """The image column of row group ``g`` of file ``k`` (an arrow array), cached."""
        if self._pid != os.getpid():  # a forked worker: never share the parent's file handles
            self._handles, self._cache, self._cache_bytes, self._pid = {}, OrderedDict(), 0, os.getpid()
        key = (k, g)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        pa, _ = _pyarrow()
        if k not in self._handles:
            self._handles[k] = _open_file(self.files[k])
        try:
            column = self._handles[k].read_row_group(g, columns=[self.image_column]).column(0).combine_chunks()
        except (pa.ArrowException, OSError) as err:
            raise DataError(f"{self.files[k]}[row group {g}]", f"cannot read ({err})") from None
        self._cache[key] = column
        self._cache_bytes += column.nbytes
        while self._cache_bytes > ROW_GROUP_CACHE_BYTES and len(self._cache) > 1:
            self._cache_bytes -= self._cache.popitem(last=False)[1].nbytes
        return column

    def _image(self, value, file: Path, name: str) -> np.ndarray:
        """Decode one cell: bytes, a {bytes, path} struct or a path (relative to the file's folder)."""
        if isinstance(value, dict):
            data, rel = value.get("bytes"), value.get("path")
            value = data if data is not None else rel
        if value is None:
            raise DataError(name, f"{self.image_column!r} is null")
        if isinstance(value, (bytes, bytearray, memoryview)):
            return decode_image(bytes(value), name)
        image_path = file.parent / value
        if not image_path.is_file():
            raise DataError(name, f"image file {image_path} not found")
        return decode_image(image_path, name)

    def _load(self, index: int) -> WordSample:
        k, row = int(self._file_of[index]), int(self._row_of[index])
        starts = self._group_starts[k]
        g = int(np.searchsorted(starts, row, side="right")) - 1
        file = self.files[k]
        value = self._row_group(k, g)[row - int(starts[g])].as_py()
        image = self._image(value, file, f"{file}[row {row}]")
        return WordSample(image=image, label=self._labels[index], meta={"path": str(file), "row": row})

    def __getitem__(self, index: int) -> WordSample:
        return get_with_policy(self, index, self._load)
