"""Decoder evaluation (section 5.1), the analog of linear evaluation for encoder-decoder
recognizers: freeze the (pretrained or random) encoder, train only a CTC or attention decoder on
the labeled data with the light augmentations, report Acc / ED1 / CER / WER on the test split."""

from __future__ import annotations

from typing import Callable

from seqclr.evaluate.config import DecoderEvalConfig
from seqclr.evaluate.protocol import ProtocolResult, run_protocol


def run_decoder_eval(
    cfg: DecoderEvalConfig | None = None,
    datasets: dict | None = None,
    log: Callable[[str], None] | None = print,
    write: bool = True,
) -> ProtocolResult:
    """Run the protocol; writes metrics.json / predictions.json to cfg.output_dir."""
    return run_protocol(cfg or DecoderEvalConfig(), "decoder_eval", datasets, log, write)
