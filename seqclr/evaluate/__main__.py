"""Command line: ``python -m seqclr.evaluate PROTOCOL [--config file.yaml] [--key value ...]``.

PROTOCOL is decoder_eval | finetune | supervised; ``--paper`` starts from :func:`paper_recognizer_recipe`.
Example: ``python -m seqclr.evaluate decoder_eval --checkpoint outputs/pretrain/x/encoder.pt
--decoder attention``.
"""

from __future__ import annotations

import sys

from seqclr.config import load_yaml, parameters_help, parse_overrides, upgrade_keys
from seqclr.evaluate.config import DecoderEvalConfig, FinetuneConfig, paper_recognizer_recipe
from seqclr.evaluate.protocol import PROTOCOLS, run_protocol
from seqclr.train.run_logger import require_logger
from seqclr.exits import guarded


@guarded
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in PROTOCOLS:
        print(__doc__.strip(), file=sys.stdout if argv[:1] in (["-h"], ["--help"]) else sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    protocol, rest = argv[0], argv[1:]
    if "-h" in rest or "--help" in rest:
        cls = DecoderEvalConfig if protocol == "decoder_eval" else FinetuneConfig
        print(f"usage: seqclr evaluate {protocol} [--config file.yaml] [--paper] [--key value ...]\n\n{parameters_help(cls)}")
        return 0
    paper = "--paper" in rest
    rest = [a for a in rest if a != "--paper"]
    cls = DecoderEvalConfig if protocol == "decoder_eval" else FinetuneConfig
    values: dict = {}
    source = "command line"
    if "--config" in rest:
        i = rest.index("--config")
        if i + 1 >= len(rest):
            print("--config needs a file", file=sys.stderr)
            return 2
        source = rest[i + 1]
        values.update(upgrade_keys(cls, load_yaml(source), source))  # old names renamed where given
        rest = rest[:i] + rest[i + 2 :]
    values.update(upgrade_keys(cls, parse_overrides(rest), "command line"))
    if protocol == "supervised":
        values.setdefault("checkpoint", "random")
    if paper:
        cfg = paper_recognizer_recipe(protocol, **values)
    else:
        cfg = cls.from_dict(values, source=source)
    require_logger(cfg.logger)
    run_protocol(cfg, protocol)  # expected errors: one line and exit 2 (seqclr.exits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
