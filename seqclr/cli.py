"""The ``seqclr`` console command: ``seqclr SUBCOMMAND [ARGS...]``, each subcommand the existing
``python -m ...`` entry point (which keeps working)."""

from __future__ import annotations

import importlib
import sys

from seqclr import __version__

# name -> (module with a main(argv) function, the python -m equivalent, one-line meaning)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "pretrain": ("seqclr.train.pretrain", "python -m seqclr.train.pretrain", "self-supervised pretraining of an encoder"),
    "evaluate": ("seqclr.evaluate.__main__", "python -m seqclr.evaluate",
                 "decoder_eval | finetune | supervised: train and test a recognizer (writes recognizer.pt)"),
    "study": ("seqclr.evaluate.study", "python -m seqclr.evaluate.study", "the replication study on the embedded hw-v2 benchmark (tables 1, 2)"),
    "pack": ("seqclr.cli_pack", "python -m seqclr.cli_pack", "pack a dataset into a memory-mapped uint8 array"),
    "read": ("seqclr.evaluate.read", "python -m seqclr.evaluate.read",
             "read images with a saved recognizer.pt (path<TAB>text)"),
    "export": ("seqclr.evaluate.export", "python -m seqclr.evaluate.export",
               "export a saved CTC recognizer.pt to ONNX and check it with onnxruntime (extra: onnx)"),
    "benchmark": ("seqclr.benchmark.__main__", "python -m seqclr.benchmark", "the pretraining benchmark suite (throughput, FLOPs, ablations)"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: seqclr SUBCOMMAND [ARGS...]   (seqclr SUBCOMMAND --help for its options)", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {meaning}  [{equiv}]" for name, (_, equiv, meaning) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"seqclr {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"seqclr: unknown subcommand {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    saved = sys.argv
    sys.argv = [f"seqclr {name}", *rest]  # argparse-based entry points name themselves after argv[0]
    try:
        rc = module.main(rest)
    finally:
        sys.argv = saved
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
