"""IAM handwriting database, word level.

``words.txt``: '#' lines are comments; each other line is
``a01-000u-00-00 ok 154 1 408 768 27 51 AT A`` — word id, segmentation result (``ok``, or
``er``/``err`` when the segmentation may be bad), graylevel, [number of components,] bounding box
x y w h, grammatical tag, transcription. The transcription is the last field and the tag the one
before it; the official file has the components field, the shorter form without it is accepted too.
Images: ``words/a01/a01-000u/a01-000u-00-00.png``.

Split lists (e.g. the Aachen splits) hold one id per line, either form ids (``a01-000u``) or line
ids (``a01-000u-00``); a word is in the split when its form or line id is listed.
"""

from __future__ import annotations

import os
from pathlib import Path

from seqclr.data.readers.base import DataError, ImageFileSource, check_on_error

_STATUS = {"ok": True, "er": False, "err": False}


def parse_words_txt(path: str | os.PathLike) -> list[dict]:
    """The records of a words.txt file (dicts: id, ok, graylevel, bbox, tag, label, line)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(path, "IAM words.txt not found") from None
    records = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split()
        if len(f) not in (9, 10) or f[1] not in _STATUS or len(f[0].split("-")) != 4:
            raise DataError(f"{path}:{lineno}", f"not an IAM words.txt record: {line!r}")
        try:
            bbox = tuple(int(v) for v in f[-6:-2])
        except ValueError:
            raise DataError(f"{path}:{lineno}", f"bad bounding box in {line!r}") from None
        records.append(
            {"id": f[0], "ok": _STATUS[f[1]], "graylevel": f[2], "bbox": bbox, "tag": f[-2], "label": f[-1], "line": lineno}
        )
    return records


def read_split_ids(path: str | os.PathLike) -> set[str]:
    """The ids of a split list file (one form or line id per line; blank and '#' lines ignored)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "split list not found") from None
    return {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


def word_image_path(root: Path, word_id: str) -> Path:
    """words/a01/a01-000u/a01-000u-00-00.png for the word id a01-000u-00-00."""
    p = word_id.split("-")
    return root / "words" / p[0] / f"{p[0]}-{p[1]}" / f"{word_id}.png"


class IamWords(ImageFileSource):
    """IAM word images (see the module docstring).

    root: the IAM folder holding ``words.txt`` (or ``ascii/words.txt``) and ``words/``.
    split_file: optional split list; None keeps every word.
    include_err: keep words whose segmentation is flagged bad; dropped ones are counted in
        ``dropped_err``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        split_file: str | os.PathLike | None = None,
        include_err: bool = False,
        on_error: str = "raise",
        words_file: str | os.PathLike | None = None,
    ) -> None:
        check_on_error(on_error)
        root = Path(root)
        if words_file is None:
            words_file = root / "words.txt"
            if not words_file.is_file() and (root / "ascii" / "words.txt").is_file():
                words_file = root / "ascii" / "words.txt"
        records = parse_words_txt(words_file)
        ids = read_split_ids(split_file) if split_file is not None else None
        self.dropped_err = 0
        self.not_in_split = 0
        entries = []
        for r in records:
            form, line_id = r["id"].rsplit("-", 2)[0], r["id"].rsplit("-", 1)[0]
            if ids is not None and form not in ids and line_id not in ids and r["id"] not in ids:
                self.not_in_split += 1
                continue
            if not r["ok"] and not include_err:
                self.dropped_err += 1
                continue
            meta = {"id": r["id"], "form": form, "ok": r["ok"], "tag": r["tag"], "bbox": r["bbox"]}
            entries.append((word_image_path(root, r["id"]), r["label"], meta))
        super().__init__(entries, on_error=on_error, name=f"IamWords({root})")
        self.root, self.words_file, self.split_file = root, Path(words_file), split_file
