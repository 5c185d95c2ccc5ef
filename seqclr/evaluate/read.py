"""Read images with a saved recognizer:
``python -m seqclr.evaluate.read RECOGNIZER IMAGE_OR_FOLDER... [--out preds.tsv]`` (or
``seqclr read ...``).

Prints ``path<TAB>text`` per image (folders: their image files, recursively, sorted); with
``--confidence`` a third column holds the per-character confidences (one probability per
character of the text, space-separated, 3 decimals; see Recognizer.predict_with_confidence).
A file that cannot be read is reported by name on stderr and skipped. Exit status: 0 when at
least one image was read, 1 when none was, 2 for a bad recognizer file or bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seqclr.data.readers.base import DataError
from seqclr.devices import resolve_device
from seqclr.evaluate.recognizer_file import load_image, load_recognizer, read_images
from seqclr.exits import guarded
from seqclr.train.checkpoint import CheckpointError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".pgm", ".ppm", ".pbm")


def expand(paths: list[str]) -> list[Path]:
    """Files as given, folders as their image files (by suffix, recursively, sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out


def format_confidence(confidences: list[float]) -> str:
    """Per-character confidences as the tsv's third column: "0.981 0.754 ..." ("" for no text)."""
    return " ".join(f"{p:.3f}" for p in confidences)


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="seqclr read", description="Read images with a saved recognizer (recognizer.pt); prints path<TAB>text."
    )
    parser.add_argument("recognizer", help="a recognizer.pt written by an evaluation run")
    parser.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files and/or folders of images")
    parser.add_argument("--out", default=None, help="also write the path<TAB>text lines to this tsv file")
    parser.add_argument(
        "--confidence", action="store_true",
        help="add a third column: each character's probability (greedy CTC path / attention step), space-separated",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default: 64)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default: cpu)")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")

    try:
        device = resolve_device(args.device)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        model = load_recognizer(args.recognizer, map_location=device)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    files = expand(args.images)
    out = open(args.out, "w", encoding="utf-8") if args.out else None
    n_read = n_bad = 0
    try:
        for start in range(0, len(files), args.batch_size):
            names, arrays = [], []
            for f in files[start : start + args.batch_size]:
                try:
                    arrays.append(load_image(f))
                    names.append(f)
                except (DataError, OSError, ValueError) as err:
                    n_bad += 1
                    print(f"skipped {err if isinstance(err, DataError) else f'{f}: {err}'}", file=sys.stderr)
            if not arrays:
                continue
            for name, read in zip(names, read_images(model, arrays, batch_size=args.batch_size, confidence=args.confidence)):
                line = f"{name}\t{read[0]}\t{format_confidence(read[1])}" if args.confidence else f"{name}\t{read}"
                print(line, flush=False)
                if out is not None:
                    out.write(line + "\n")
                n_read += 1
    finally:
        if out is not None:
            out.close()
        sys.stdout.flush()
    if n_bad or not n_read:
        print(f"read {n_read} image(s), skipped {n_bad}", file=sys.stderr)
    if not files:
        print("error: no image files found", file=sys.stderr)
    return 0 if n_read else 1


if __name__ == "__main__":
    raise SystemExit(main())
