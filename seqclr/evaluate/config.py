"""Configurations of the evaluation protocols (section 5.1 decoder evaluation, 5.2 fine-tuning and
the supervised baseline). Defaults ARE a tiny CPU run (tiny encoder, embedded synthetic words, a
few hundred images, 100 iterations); :func:`paper_recognizer_recipe` gives appendix D's settings.

Data. ``data`` names a source of :func:`seqclr.data.dataset.build_source`. For the embedded
synthetic sources each split is built as ``build_source(data, split=<split>, size=<split>_size,
seed=data_seed, charset=charset, **<split>_source)``; for real datasets each split's arguments
(its path) are given in ``train_source`` / ``val_source`` / ``test_source`` (e.g.
``{"path": "data/iam/train.lmdb"}``) and ``<split>_size`` keeps the first n items (None = all).
A source with a ``path`` argument (lmdb, tsv, parquet) may instead take ``paths``, a list: the split is then
the union (concatenation, in order) of one source per path, built with the split's other arguments.

Model selection never sees a test set: ``val_source`` is refused when any of its strings looks like
a test set: a path component such as ``IC13_857``, ``IC13_1015``, ``IIIT5K_3000``, ``IC03_860`` /
``IC03_867``, ``IC15_1811`` / ``IC15_2077``, ``SVT_647``, ``SVTP_645``, ``CUTE80_288``,
deep-text-recognition-benchmark's ``evaluation`` folder (it holds only test sets), a name like
``test``, ``test.lmdb``, ``IIIT5K_test``, ``test_gt.txt``, or a bare benchmark name (``IC13``,
``IIIT5K``, ``SVT``, ``CUTE80`` ...) in a path that says neither train nor val anywhere. Scene
text (appendix D, "as done in [3]") validates on the union of the IC13 and IIIT5K *training*
images: :data:`SCENE_TEXT_VAL_SOURCE`; scene-text recognizers use the 95-class ``english95``
charset (:data:`SCENE_TEXT_CHARSET`) that appendix D states for IIIT5K, IC03 and IC13, scored
case-insensitively (``case_sensitive: false``).

Configs are built from plain dicts with ``from_dict`` (unknown keys, wrong types and bad values
raise :class:`seqclr.config.ParameterError`, a ValueError naming the key and value); direct
construction validates too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from seqclr.augment.spec import AUGMENTATION_PRESETS, NO_AUGMENTATION, check_augmentation, spec_record
from seqclr.config import ConfigIO, upgrade_keys
from seqclr.data.fonts import SPLITS
from seqclr.data.source_names import SOURCE_NAMES
from seqclr.models.encoder import ENCODER_PRESETS, REPRESENTATIONS
from seqclr.models.prediction import DECODERS
from seqclr.train.config_fields import DataFields, HardwareFields, OptimizationFields, RunFields, one_of
from seqclr.train.optimization import LR_SCHEDULES

# The closed sets of names are defined by the modules that own them.
DATA_SOURCES = SOURCE_NAMES
AUGMENTATIONS = (*sorted(AUGMENTATION_PRESETS), NO_AUGMENTATION)  # or a spec file
RANDOM_INIT = ("", "random")

# Scene text (appendix D): 95 symbol classes, validation on the IC13 + IIIT5K training images.
SCENE_TEXT_CHARSET = "english95"
SCENE_TEXT_VAL_SOURCE = {"paths": ["data/validation/IC13_train", "data/validation/IIIT5K_train"]}

# Names that mark a test set (case-insensitive, on one path component with its extension stripped):
# the scene-text test sets under deep-text-recognition-benchmark's names (with their sizes), its
# ``evaluation`` folder (which holds only test sets), and generic test-split names.
_TEST_SET_NAMES = re.compile(
    r"^(?:ic13[_-]?(?:857|1015)|ic03[_-]?(?:860|867)|ic15[_-]?(?:1811|2077)|iiit5k[_-]?3000"
    r"|svt[_-]?647|svtp[_-]?645|cute80[_-]?288|evaluation|test|testing|test[_-]?set)$"
)
_TEST_WORD = re.compile(r"(?:^|[_.-])(?:test|testing)(?:$|[_.-])")
# Benchmark names without a split: a test set unless the path says train / validation somewhere
# (``data/IIIT5K/train.lmdb``, ``data/validation/IC13`` are fine; ``data/SVT`` is not).
_BENCHMARK_NAMES = re.compile(r"^(?:ic13|ic03|ic15|iiit5k|svt|svtp|cute|cute80)$")
_TRAIN_OR_VAL_WORD = re.compile(r"(?:^|[_.-])(?:train|training|trainval|val|valid|validation)(?:$|[_.-])")
_PYTEST_TMP = re.compile(r"test_\w*\d+")  # pytest's per-test temporary folders: test_<name><n>


def _test_set_component(value: str) -> str | None:
    """The path component of ``value`` that names a test set, or None (see the module docstring)."""
    parts = [part for part in re.split(r"[/\\]+", value) if part]
    stems = [part.lower().split(".", 1)[0] if not part.startswith(".") else part.lower() for part in parts]
    says_train = any(_TRAIN_OR_VAL_WORD.search(stem) for stem in stems)
    for part, stem in zip(parts, stems):
        if _TEST_SET_NAMES.match(stem):
            return part
        if _TEST_WORD.search(stem) and not _TRAIN_OR_VAL_WORD.search(stem) and not _PYTEST_TMP.fullmatch(stem):
            return part
        if _BENCHMARK_NAMES.match(stem) and not says_train:
            return part
    return None


def _strings(value, key: str):
    """(key path, string) for every string in a nested dict / list / tuple value."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{key}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, f"{key}[{i}]")


C = TypeVar("C", bound="RecognizerTrainConfig")


@dataclass
class RecognizerTrainConfig(RunFields, HardwareFields, OptimizationFields, DataFields, ConfigIO):
    """Fields shared by the protocols: data, model, the decoder-training recipe, bookkeeping. The
    data, optimization, hardware and run fields shared with pretraining are in
    seqclr.train.config_fields."""

    # old name -> new name, read until the next release (seqclr.config.upgrade_keys)
    RENAMED = {"feature": "representation"}

    # data: build_source(data, **<split>_source) per split (synthetic: + the split, <split>_size, data_seed, charset)
    data: Literal[DATA_SOURCES] = "synthetic-handwriting"  # seqclr.data.source_names
    val_source: dict = field(default_factory=dict)
    test_source: dict = field(default_factory=dict)
    train_size: int | None = 256  # synthetic: images rendered; real data: first n (None = all)
    val_size: int | None = 64
    test_size: int | None = 64
    case_sensitive: bool = True  # metrics (scene text is usually scored case-insensitively)
    # labels: the training subset is labeled_subset(len(train), label_fraction, subset_seed)
    label_fraction: float = 1.0
    subset_seed: int = 0
    # model
    checkpoint: str = ""  # encoder file of seqclr.train.checkpoint.save_encoder; "" / "random" = random init
    encoder: str = "tiny"  # ENCODER_PRESETS name, used for random init only
    decoder: Literal[DECODERS] = "ctc"
    representation: Literal[REPRESENTATIONS] = "H"  # the encoder's representation the decoder reads: V | H | HV
    attention_hidden: int = 256
    max_len: int = 25  # attention decoding length
    # decoder-training recipe (appendix D: batch 256, 50K iterations, lr / 10 at 60/80%; the lr value
    # is not in the paper: AdaDelta lr 1 is our choice, deep-text-recognition-benchmark's default)
    augmentation: Literal[AUGMENTATIONS] | str = "light"  # or a spec file (.yaml / .yml)
    batch_size: int = 16
    iterations: int = 100
    lr: float = 1.0
    weight_decay: float = 0.0
    lr_schedule: Literal[LR_SCHEDULES] = "multistep"  # see seqclr.train.schedule
    warmup_iterations: int = 0  # linear warm-up from lr / warmup_iterations
    decay_start: float = 0.0  # cosine: the fraction of the iterations trained at the full lr
    val_every: int = 0  # > 0: validate every n iterations and keep the best model (by val accuracy)
    eval_batch_size: int = 64
    # bookkeeping
    method: str = ""  # a name for tables ("seqclr-window", "simclr", "supervised", ...)
    log_every: int = 25
    output_dir: str = "outputs/evaluate/default"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.validate()

    @property
    def random_init(self) -> bool:
        return self.checkpoint in RANDOM_INIT

    def _check_augmentation(self, where: str) -> None:
        """Load the preset or spec file ``augmentation`` names (the spec training uses from now
        on); a ValueError naming the key and the file otherwise."""
        if not isinstance(self.augmentation, str):
            raise ValueError(f"{where}: augmentation must be a preset name or a spec file, got {self.augmentation!r}")
        try:
            self._augmentation = (self.augmentation, check_augmentation(self.augmentation, AUGMENTATIONS))
        except ValueError as err:
            raise ValueError(f"{where}: augmentation: {err}") from None

    @property
    def augmentation_spec(self):
        """The AugmentSpec the decoder trains with (None for ``"none"``): the preset, or the spec
        file as read when the config was last validated."""
        cached = getattr(self, "_augmentation", None)
        if cached is None or cached[0] != self.augmentation:
            self._check_augmentation(type(self).__name__)
            cached = self._augmentation
        return cached[1]

    def augmentation_record(self) -> dict[str, Any]:
        """``augmentation_spec`` (its dict) and ``augmentation_sha256`` (None for "none"): what
        metrics.json records beside the config (which names a spec file only by its path)."""
        return spec_record(self.augmentation_spec)

    def validate(self) -> "RecognizerTrainConfig":
        """Raise ValueError naming the field and the value for any bad value; returns self."""
        name_ = type(self).__name__

        def bad(name: str, rule: str) -> ValueError:
            return ValueError(f"{name_}: {name} must be {rule}, got {getattr(self, name)!r}")

        self.check_data_fields(bad, DATA_SOURCES)
        self._check_data(bad)
        if not 0 < self.label_fraction <= 1:
            raise bad("label_fraction", "in (0, 1]")
        if self.subset_seed < 0:
            raise bad("subset_seed", ">= 0")
        if not self.random_init and not self.checkpoint.strip():
            raise bad("checkpoint", "an encoder file, '' or 'random'")
        one_of(self, bad, "encoder", tuple(ENCODER_PRESETS))
        one_of(self, bad, "decoder", DECODERS)
        one_of(self, bad, "representation", REPRESENTATIONS)
        if self.attention_hidden < 1:
            raise bad("attention_hidden", ">= 1")
        if self.max_len < 1:
            raise bad("max_len", ">= 1")
        self._check_augmentation(name_)
        self.check_optimization(bad)
        self._check_schedule(bad)
        if self.val_every < 0:
            raise bad("val_every", ">= 0 (0 = no validation)")
        if self.eval_batch_size < 1:
            raise bad("eval_batch_size", ">= 1")
        self.check_hardware(bad)
        self.check_run(bad)
        return self

    def _check_schedule(self, bad) -> None:
        """The recognizers' schedule beyond the shared multistep one: cosine, warm-up."""
        one_of(self, bad, "lr_schedule", LR_SCHEDULES)
        if not 0 <= self.warmup_iterations < self.iterations:
            raise bad("warmup_iterations", f">= 0 and below iterations ({self.iterations})")
        if not 0 <= self.decay_start < 1:
            raise bad("decay_start", "a fraction of the iterations in [0, 1)")

    def _check_data(self, bad) -> None:
        """The validation and test splits' sizes, each split's source (a union of ``paths``
        allowed) and a validation source built from training data only."""
        name_ = type(self).__name__
        for split in SPLITS:
            size = getattr(self, f"{split}_size")
            if size is not None and size < 1:
                raise bad(f"{split}_size", ">= 1 or None")
            source = getattr(self, f"{split}_source")
            if not isinstance(source, dict):
                raise bad(f"{split}_source", "a dict of build_source arguments")
            if "paths" in source:
                paths = source["paths"]
                if "path" in source:
                    raise bad(f"{split}_source", "either 'path' or 'paths' (a union), not both")
                if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(q, str) and q for q in paths):
                    raise bad(f"{split}_source", "a dict whose 'paths' is a non-empty list of paths")
        for key, value in _strings(self.val_source, "val_source"):
            part = _test_set_component(value)
            if part is not None:
                raise ValueError(
                    f"{name_}: val_source must be built from training data only (selecting the model on a "
                    f"test set leaks it), got {key} = {value!r}: {part!r} looks like a test set; for scene "
                    f"text validate on the IC13 + IIIT5K training images, e.g. {SCENE_TEXT_VAL_SOURCE!r}"
                )
        if self.data.startswith("synthetic-"):
            for split in SPLITS:
                if getattr(self, f"{split}_size") is None:
                    raise bad(f"{split}_size", "an integer for the synthetic sources (they have no natural size)")


@dataclass
class DecoderEvalConfig(RecognizerTrainConfig):
    """Decoder evaluation (section 5.1): the encoder is frozen, only the decoder trains, on all
    the labeled data (label_fraction 1.0)."""

    output_dir: str = "outputs/evaluate/decoder_eval"


@dataclass
class FinetuneConfig(RecognizerTrainConfig):
    """Fine-tuning (section 5.2): encoder + decoder train on ``label_fraction`` of the labels
    (5%, 10%, 100% in the paper); with ``checkpoint`` "" / "random" this is the supervised
    baseline."""

    label_fraction: float = 0.1
    output_dir: str = "outputs/evaluate/finetune"


_PAPER = dict(
    encoder="paper",
    batch_size=256,
    iterations=50_000,
    optimizer="adadelta",
    lr=1.0,
    rho=0.95,
    eps=1e-8,
    weight_decay=0.0,
    grad_clip=5.0,
    lr_milestones=[0.6, 0.8],
    lr_gamma=0.1,
    augmentation="light",
    attention_hidden=256,
    max_len=25,
    val_every=2000,
    eval_batch_size=256,
    log_every=100,
    num_workers=8,
    device="auto",
    train_size=None,
    val_size=None,
    test_size=None,
)


def paper_recognizer_recipe(protocol: str = "decoder_eval", **overrides: Any) -> RecognizerTrainConfig:
    """Appendix D's decoder-evaluation / fine-tuning recipe: batch 256, 50K iterations, lr / 10 at
    60% and 80% of the iterations ("a similar learning rate scheduling as in the self-supervised
    phase"), light augmentation, best model on the validation set (checked every 2000
    iterations), the paper encoder for random init.

    Learning rate: appendix D gives no value for these stages. We use AdaDelta with lr 1 (rho
    0.95, eps 1e-8, gradient clip 5, no weight decay): our choice, the default of
    deep-text-recognition-benchmark [3] (whose recognizer setup appendix D follows); it is not
    the pretraining lr 10 of appendix D.

    ``protocol``: "decoder_eval" | "finetune" | "supervised". Data fields come from ``overrides``
    (real datasets need their paths; scene text: ``charset=SCENE_TEXT_CHARSET``,
    ``val_source=SCENE_TEXT_VAL_SOURCE``); synthetic sources need explicit sizes."""
    classes = {"decoder_eval": DecoderEvalConfig, "finetune": FinetuneConfig, "supervised": FinetuneConfig}
    if protocol not in classes:
        raise ValueError(f"paper_recognizer_recipe: protocol must be one of {sorted(classes)}, got {protocol!r}")
    overrides = upgrade_keys(classes[protocol], overrides, f"paper_recognizer_recipe({protocol!r})")
    base = dict(_PAPER)
    data = overrides.get("data", RecognizerTrainConfig.data)
    if str(data).startswith("synthetic-"):
        base.update(train_size=100_000, val_size=5_000, test_size=5_000)
    if protocol == "supervised":
        base.update(checkpoint="random", method="supervised")
    return classes[protocol].from_dict({**base, **overrides}, source=f"paper_recognizer_recipe({protocol!r})")
