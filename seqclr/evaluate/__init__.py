"""Evaluation protocols (section 5): decoder evaluation, fine-tuning, the supervised baseline."""

from seqclr.evaluate.config import (
    DecoderEvalConfig,
    FinetuneConfig,
    RecognizerTrainConfig,
    paper_recognizer_recipe,
)
from seqclr.evaluate.decoder_eval import run_decoder_eval
from seqclr.evaluate.finetune import run_finetune, run_supervised_baseline
from seqclr.evaluate.protocol import ProtocolResult, build_model, run_protocol
from seqclr.evaluate.results import read_results, write_results

__all__ = [
    "DecoderEvalConfig",
    "FinetuneConfig",
    "ProtocolResult",
    "RecognizerTrainConfig",
    "build_model",
    "paper_recognizer_recipe",
    "read_results",
    "run_decoder_eval",
    "run_finetune",
    "run_protocol",
    "run_supervised_baseline",
    "write_results",
]
