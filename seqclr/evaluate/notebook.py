"""Parameters of the evaluation notebooks (decoder_eval, finetune, results, embeddings_umap) and
the small helpers they share. Each class mirrors a notebook's ``parameters`` cell."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from seqclr.config import ConfigIO, to_dict
from seqclr.data.fonts import SPLITS
from seqclr.data.source_names import SYNTHETIC_SOURCES
from seqclr.evaluate.config import DecoderEvalConfig, FinetuneConfig
from seqclr.evaluate.embeddings import EMBEDDING_MAPPINGS, EMBEDDING_REPRESENTATIONS
from seqclr.evaluate.report import METRICS
from seqclr.models.encoder import ENCODER_PRESETS, SequenceEncoder, get_encoder_config
from seqclr.train.checkpoint import load_encoder


def _split_n_examples(params, cls):
    values = to_dict(params)
    n = values.pop("n_examples")
    return cls.from_dict(values, source="notebook parameters"), n


def _check_n_examples(obj) -> None:
    if obj.n_examples < 0:
        raise ValueError(f"{type(obj).__name__}: n_examples must be >= 0, got {obj.n_examples}")


@dataclass
class DecoderEvalNotebookParams(DecoderEvalConfig):
    """notebooks/decoder_eval.ipynb: a :class:`DecoderEvalConfig` plus how many test images to show."""

    n_examples: int = 8

    def validate(self) -> "DecoderEvalNotebookParams":
        _check_n_examples(self)
        super().validate()
        return self

    def split(self) -> tuple[DecoderEvalConfig, int]:
        return _split_n_examples(self, DecoderEvalConfig)


@dataclass
class FinetuneNotebookParams(FinetuneConfig):
    """notebooks/finetune.ipynb: a :class:`FinetuneConfig` plus how many test images to show
    (checkpoint "" / "random" = the supervised baseline)."""

    n_examples: int = 8

    def validate(self) -> "FinetuneNotebookParams":
        _check_n_examples(self)
        super().validate()
        return self

    def split(self) -> tuple[FinetuneConfig, int]:
        return _split_n_examples(self, FinetuneConfig)


@dataclass
class ResultsParams:
    """notebooks/results.ipynb: which runs to collect and where to save the tables and figure."""

    runs_dir: str = "outputs/reference/hw-v2/runs"  # searched recursively for metrics.json
    table2_metric: str = "acc"  # acc | ed1 | cer | wer
    output_dir: str | None = None  # tables.md and wer_vs_labels.png go here (None: not saved)

    def validate(self) -> "ResultsParams":
        if not self.runs_dir:
            raise ValueError("ResultsParams: runs_dir must be a folder")
        if self.table2_metric not in METRICS:
            raise ValueError(f"ResultsParams: table2_metric must be one of {METRICS}, got {self.table2_metric!r}")
        return self


@dataclass
class EmbeddingsParams(ConfigIO):
    """notebooks/embeddings_umap.ipynb: encoders to compare (name -> encoder.pt or "random"), the
    images, the instances and the UMAP / neighbour settings."""

    # old name -> new name, read until the next release (seqclr.config.upgrade_keys)
    RENAMED = {"kind": "mapping"}

    encoders: dict = field(default_factory=lambda: {
        "seqclr-window": "outputs/study/pretrain/seqclr-window/encoder.pt",
        "simclr": "outputs/study/pretrain/simclr/encoder.pt",
        "random init": "random",
    })
    random_encoder: str = "tiny"  # preset of the "random" encoders
    data: str = "synthetic-handwriting"  # an embedded source (it knows where each glyph is drawn)
    split: str = "test"
    n_images: int = 48
    data_seed: int = 0
    charset: str = "english95"
    mapping: str = "frame"  # the instance mapping: frame | window (seqclr.evaluate.embeddings.EMBEDDING_MAPPINGS)
    representation: str = "H"  # V | H | HV, or "pretrained": each encoder's own pretraining layer (H for random)
    n_instances: int = 5  # windows per image (mapping window)
    seed: int = 0
    n_neighbors: int = 15  # UMAP neighbourhood
    min_dist: float = 0.1
    top_chars: int = 12  # characters given their own colour
    n_queries: int = 6
    k: int = 6  # nearest neighbours shown per query
    output_dir: str | None = None  # figures and embeddings.json go here (None: not saved)

    def validate(self) -> "EmbeddingsParams":
        def bad(name: str, rule: str) -> ValueError:
            return ValueError(f"EmbeddingsParams: {name} must be {rule}, got {getattr(self, name)!r}")

        if not self.encoders or not all(isinstance(v, str) and v for v in self.encoders.values()):
            raise bad("encoders", "a non-empty mapping name -> encoder file or 'random'")
        if self.random_encoder not in ENCODER_PRESETS:
            raise bad("random_encoder", f"one of {tuple(ENCODER_PRESETS)}")
        if self.data not in SYNTHETIC_SOURCES:
            raise bad("data", f"an embedded synthetic source {SYNTHETIC_SOURCES} (only they carry char_boxes)")
        if self.split not in SPLITS:
            raise bad("split", f"one of {SPLITS}")
        if self.mapping not in EMBEDDING_MAPPINGS:
            raise bad("mapping", f"one of {EMBEDDING_MAPPINGS}")
        if self.representation not in EMBEDDING_REPRESENTATIONS:
            raise bad("representation", f"one of {EMBEDDING_REPRESENTATIONS}")
        for name in ("n_images", "n_instances", "top_chars", "k"):
            if getattr(self, name) < 1:
                raise bad(name, ">= 1")
        if self.n_neighbors < 2:
            raise bad("n_neighbors", ">= 2")
        if self.n_queries < 0 or self.seed < 0 or self.data_seed < 0:
            raise bad("n_queries / seed / data_seed", ">= 0")
        return self


def load_encoder_or_random(path: str, preset: str = "tiny", seed: int = 0):
    """The encoder of ``path`` (save_encoder format), or a seeded random ``preset`` for "random"."""
    if path == "random":
        torch.manual_seed(seed)
        return SequenceEncoder(get_encoder_config(preset)).eval()
    return load_encoder(path)
