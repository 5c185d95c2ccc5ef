"""Generic ``path<TAB>label`` files: one image per line, paths relative to the file's folder.

Blank lines are ignored; a line without a tab is a DataError naming the file and line.
"""

from __future__ import annotations

import os
from pathlib import Path

from seqclr.data.readers.base import DataError, ImageFileSource


def read_pairs(path: str | os.PathLike, sep: str | None = "\t") -> list[tuple[str, str, int]]:
    """(image name, label, line number) of each line of a ground-truth file.

    sep: "\\t" (the label is everything after the first tab) or None (split on the first run of
    whitespace, for ``image_name label`` files).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "label file not found") from None
    except UnicodeDecodeError as err:
        raise DataError(path, f"not UTF-8 text ({err})") from None
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        parts = line.split(sep, 1) if sep else line.strip().split(None, 1)
        if len(parts) != 2 or not parts[0]:
            want = "path<TAB>label" if sep == "\t" else "image_name label"
            raise DataError(f"{path}:{lineno}", f"expected '{want}', got {line!r}")
        out.append((parts[0], parts[1], lineno))
    return out


class TsvWords(ImageFileSource):
    """Word images listed in a ``path<TAB>label`` file (paths relative to its folder)."""

    def __init__(self, path: str | os.PathLike, on_error: str = "raise") -> None:
        path = Path(path)
        entries = [(path.parent / name, label, {"line": lineno}) for name, label, lineno in read_pairs(path)]
        super().__init__(entries, on_error=on_error, name=f"TsvWords({path})")
        self.path = path
