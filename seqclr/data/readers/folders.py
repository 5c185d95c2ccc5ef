"""CVL and RIMES word folders.

CVL: word images named ``writer-page-line-word-TEXT.ext`` (e.g. ``0001-1-0-0-Imagine.tif``); the
label is the last field (everything after the fourth '-', so it may contain '-'). The folder is
searched recursively for .tif/.tiff/.png/.jpg/.jpeg files; a name with fewer than five fields is a
DataError (or skipped). Point ``root`` at CVL's trainset or testset words folder.

RIMES: a folder of word images and a ground-truth file with one ``image_name label`` line per
image (label: everything after the first whitespace) or ``image_name<TAB>label`` lines (tsv).
"""

from __future__ import annotations

import os
from pathlib import Path

from seqclr.data.readers.base import DataError, ImageFileSource, check_on_error
from seqclr.data.readers.tsv import read_pairs

IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")


class CvlWords(ImageFileSource):
    """CVL word images under ``root``; labels from the file names (see the module docstring)."""

    def __init__(self, root: str | os.PathLike, on_error: str = "raise", extensions=IMAGE_EXTENSIONS) -> None:
        check_on_error(on_error)
        root = Path(root)
        if not root.is_dir():
            raise DataError(root, "CVL folder not found")
        self.root = root
        name = f"CvlWords({root})"
        entries, bad = [], []
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in extensions and p.is_file()):
            fields = path.stem.split("-", 4)
            if len(fields) < 5 or not fields[4]:
                bad.append(DataError(path, "file name is not writer-page-line-word-TEXT"))
                continue
            writer, page, line, word, text = fields
            entries.append((path, text, {"writer": writer, "page": page, "line": line, "word": word}))
        super().__init__(entries, on_error=on_error, name=name)
        for err in bad:
            self._fail(err)


class RimesWords(ImageFileSource):
    """RIMES word images listed in ``gt_file`` (``image_name label`` or tsv lines), read from
    ``image_dir`` (default: the ground-truth file's folder)."""

    def __init__(
        self, gt_file: str | os.PathLike, image_dir: str | os.PathLike | None = None, on_error: str = "raise"
    ) -> None:
        gt_file = Path(gt_file)
        image_dir = Path(image_dir) if image_dir is not None else gt_file.parent
        try:
            first = next((ln for ln in gt_file.read_text(encoding="utf-8").splitlines() if ln.strip()), "")
        except FileNotFoundError:
            raise DataError(gt_file, "ground-truth file not found") from None
        pairs = read_pairs(gt_file, sep="\t" if "\t" in first else None)
        entries = [(image_dir / name, label, {"line": lineno}) for name, label, lineno in pairs]
        super().__init__(entries, on_error=on_error, name=f"RimesWords({gt_file})")
        self.gt_file, self.image_dir = gt_file, image_dir
