"""The pack command line: every image of a source preprocessed once into a packed folder
(:func:`seqclr.data.packed.pack_dataset`; the folder's format is described there).

    python -m seqclr.cli_pack synthetic-handwriting outputs/packed/hw --size 10000
    python -m seqclr.cli_pack lmdb outputs/packed/iiit5k --root data/IIIT5K_lmdb
    python -m seqclr.cli_pack tsv outputs/packed/first1000 --root data/gt.tsv --size 1000
    python -m seqclr.cli_pack parquet outputs/packed/words --root 'data/words/train-*.parquet' \
        --option text_column=label

(or ``seqclr pack ...``). ``python -m seqclr.data.packed ...`` still runs this, with a warning,
for one release.
"""

from __future__ import annotations

import argparse
import inspect

import yaml

from seqclr.data.dataset import SOURCES, build_source
from seqclr.data.packed import pack_dataset
from seqclr.exits import guarded


def _options(parser: argparse.ArgumentParser, options: list[str]) -> dict:
    """``KEY=VALUE`` strings as keyword arguments (values read as YAML: null, 3, true, text)."""
    out = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            parser.error(f"--option {option!r}: expected KEY=VALUE")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


@guarded
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Pack a dataset into a memory-mapped uint8 array (see seqclr.cli_pack).")
    p.add_argument("source", choices=sorted(SOURCES))
    p.add_argument("out", help="the packed folder to write")
    p.add_argument("--root", help="dataset file / folder (first argument of the reader)")
    p.add_argument("--size", type=_positive_int, metavar="N",
                   help="pack the first N items of the source, in reader order after the charset filter (as "
                        "pretraining's train_size keeps them); synthetic sources render N. Default: all "
                        "(synthetic: 1000)")  # fmt: skip
    p.add_argument("--split", default="train", help="synthetic: font split")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--charset", default="english95")
    p.add_argument("--height", type=int, default=32)
    p.add_argument("--width", type=int, default=100)
    p.add_argument("--keep-ratio", action="store_true")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace OUT when it exists")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="another keyword argument of the reader (a YAML value), e.g. text_column=label")  # fmt: skip
    args = p.parse_args(argv)
    if args.source.startswith("synthetic"):
        kw = {"split": args.split, "seed": args.seed, "charset": args.charset}
        if args.size:
            kw["size"] = args.size
    else:
        if not args.root:
            p.error(f"source {args.source!r} needs --root")
        kw = {next(iter(inspect.signature(SOURCES[args.source]).parameters)): args.root}
    kw.update(_options(p, args.option))
    src = build_source(args.source, **kw)
    packed = pack_dataset(src, args.out, args.height, args.width, args.keep_ratio, args.charset,
                          num_workers=args.workers, overwrite=args.overwrite, progress=True, size=args.size)  # fmt: skip
    print(packed)



if __name__ == "__main__":
    main()
