"""Pretraining configuration: one typed, validated dataclass whose defaults ARE the CPU demo.

The defaults train the ``tiny`` encoder on embedded synthetic handwriting on a 2-core CPU in a few
minutes (the loss falls visibly). The paper's recipe (appendix D) is :func:`paper_pretrain_recipe`:
AdaDelta lr 10, rho 0.95, clip 5, weight decay 1e-4, lr / 10 at 60% and 80% of training,
batch 1024 (256 for frame-to-instance), 200K iterations for handwriting, 400K for scene text
(300K / 600K for frame-to-instance).

Configs come from plain dicts (YAML files, notebook widgets, CLI overrides) through
:meth:`PretrainConfig.from_dict`, which rejects unknown keys (suggesting the closest valid name)
and wrong types, then :meth:`PretrainConfig.validate` checks values. Every error names the key,
the value and, when given, the source (file) it came from.

Data speak the recognizers' dialect (:mod:`seqclr.train.config_fields`): ``data`` names the
source, ``train_source`` holds the reader's arguments (its file or folder included:
``{root: data/iam, split_file: ...}``, ``{path: outputs/packed/x}`` for a pack) and
``train_size`` the number of images. The old data_root / data_options / data_split / data_size
are read until the next release (``PretrainConfig.RENAMED``), as is a checkpoint's config that
still has them.

A method preset carries its whole recipe: ``augmentation=None`` (the default) means the method's
own augmentation (``METHOD_AUGMENTATION`` next to ``METHOD_PRESETS``: SimCLR's augmentations for
``simclr`` / ``simclr-contextual``, the SeqCLR pipeline for ``seqclr-*``); an explicit preset
overrides it, and so does an augmentation spec file (a path ending in ``.yaml`` / ``.yml``, as the
explorer's "save spec" writes), loaded and validated with the config.
:attr:`PretrainConfig.resolved_augmentation` is the preset or file a run uses, and what
``to_dict()`` (config.yaml, metrics.json, checkpoints) records; :attr:`augmentation_spec` is the
spec itself (read when the config is validated), whose content and SHA-256 metrics.json records
and checkpoints compare on resume (:meth:`augmentation_record`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from seqclr.augment.spec import AUGMENTATION_PRESETS, check_augmentation, spec_record
from seqclr.config import ConfigIO, from_dict, to_dict, upgrade_keys
from seqclr.contrastive.model import METHOD_AUGMENTATION, METHOD_PRESETS, METHODS, MODEL_MAPPINGS
from seqclr.contrastive.projection_heads import HEADS
from seqclr.data.charset import get_charset
from seqclr.data.dataset import SOURCES, path_argument
from seqclr.data.packed import LABELS, read_manifest
from seqclr.data.readers.base import DataError
from seqclr.data.source_names import SOURCE_NAMES, SYNTHETIC_SOURCES
from seqclr.devices import PRECISIONS
from seqclr.models.encoder import ENCODER_PRESETS, REPRESENTATIONS, frames_for_width
from seqclr.train.config_fields import DataFields, HardwareFields, OptimizationFields, RunFields, one_of

# The closed sets of names are defined by the modules that own them; "packed" is seqclr.data.packed
DATA_SOURCES = (*SOURCE_NAMES, "packed")
AUGMENTATIONS = AUGMENTATION_PRESETS  # or a spec file; None = the method's (METHOD_AUGMENTATION)


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


# --------------------------------------------------------------------------------------------
# Packed data: checked from the manifest when the config is validated, before any compute.
# --------------------------------------------------------------------------------------------


def check_pack(cfg: "PretrainConfig", where: str = "") -> None:
    """ValueError naming train_source and the key unless train_source's path is a complete pack
    whose images are cfg.height x cfg.width, whose charset keeps no image that cfg.charset would
    drop, and which holds at least one batch (of min(count, train_size) images)."""
    root = cfg.train_source.get("path")
    if not root:
        raise ValueError(
            f"{where}data 'packed' needs train_source: {{path: <the folder written by `python -m seqclr.cli_pack`>}}"
        )
    try:
        manifest = read_manifest(root)
    except DataError as err:
        file = "" if Path(err.path) == Path(root) else f"{err.path}: "
        hint = f" (write it with `python -m seqclr.cli_pack SOURCE {root}`)" if not Path(root).is_dir() else ""
        raise ValueError(f"{where}train_source path {root!r} is not a complete packed dataset: {file}{err.reason}{hint}") from None
    for key in ("height", "width"):
        if manifest[key] != getattr(cfg, key):
            raise ValueError(
                f"{where}train_source path {root!r}: the pack's images have {key} {manifest[key]} "
                f"(manifest.json), but {key} is {getattr(cfg, key)}; repack with --{key} {getattr(cfg, key)}"
            )
    try:
        charset = get_charset(cfg.charset)
    except ValueError as err:
        raise ValueError(f"{where}charset: {err}") from None
    packed_charset = manifest["charset"]
    try:
        symbols = get_charset(packed_charset).symbols
    except ValueError:  # a custom charset: check the labels themselves
        symbols = None
    if symbols is not None:
        uncovered = [c for c in symbols if not charset.covers(c)]
    else:
        labels = json.loads((Path(root) / LABELS).read_text(encoding="utf-8"))
        uncovered = sorted({c for label in labels for c in charset.unknown_chars(label)})
    if uncovered:
        raise ValueError(
            f"{where}train_source path {root!r}: the pack's charset {packed_charset!r} (manifest.json) is not "
            f"compatible with charset {cfg.charset!r}: it keeps characters {''.join(uncovered[:20])!r} that "
            f"{cfg.charset!r} drops; repack with --charset {cfg.charset}"
        )
    extra = sorted(set(cfg.train_source) - {"path"})
    if extra:
        raise ValueError(f"{where}train_source must hold only 'path' for data 'packed' (the pack fixed its source), got {cfg.train_source!r}")
    n = min(manifest["count"], cfg.train_size or manifest["count"])
    if n < cfg.batch_size:
        raise ValueError(
            f"{where}train_source path {root!r}: {n} images (count {manifest['count']}, train_size {cfg.train_size}), "
            f"fewer than one batch of batch_size {cfg.batch_size}"
        )


# --------------------------------------------------------------------------------------------
# Renamed parameters (read for one release): the recognizers' data dialect.
# --------------------------------------------------------------------------------------------


def legacy_train_source(data: str, moved: Mapping[str, Any]) -> Any:
    """``train_source`` of the old data_root / data_options / data_split: data_options' arguments,
    the reader's path argument set to data_root (a real source or a pack; ignored by the
    synthetic sources, as before), the split set to data_split (read by the synthetic sources
    only, as before; "train", the old default, is the default)."""
    source = moved.get("data_options") or {}
    if not isinstance(source, Mapping):
        return source  # its type error names train_source
    source = dict(source)
    root, split = moved.get("data_root"), moved.get("data_split", "train")
    if data in SYNTHETIC_SOURCES:
        if split != "train":
            source.setdefault("split", split)
    elif root is not None:
        source.setdefault(path_argument(data) if data in SOURCES else "path", root)
    return source


# --------------------------------------------------------------------------------------------
# The pretraining config.
# --------------------------------------------------------------------------------------------


@dataclass
class PretrainConfig(RunFields, HardwareFields, OptimizationFields, DataFields, ConfigIO):
    """Everything one SeqCLR pretraining run needs. Defaults = the embedded CPU demo. The shared
    data, optimization, hardware and run fields are in seqclr.train.config_fields."""

    # old name -> new name, read until the next release (seqclr.config.upgrade_keys)
    RENAMED = {"data_size": "train_size", "data_options": "train_source", "data_root": "train_source",
               "data_split": "train_source"}
    RENAMED_HINTS = {
        "data_root": "the reader's path argument in it: {root: ...} for iam / cvl, {path: ...} for lmdb / tsv / "
                     "parquet / packed, {gt_file: ...} for rimes",
        "data_split": "{split: ...} in it, for the synthetic sources",
    }

    # data: build_source(data, **train_source) (synthetic: + split "train", size train_size,
    # seed data_seed, charset); "packed": train_source {path: <folder written by `python -m seqclr.cli_pack`>}
    data: Literal[DATA_SOURCES] = "synthetic-handwriting"  # seqclr.data.source_names, and "packed"
    train_size: int | None = 1024  # number of images (None = the whole source; synthetic: its default size)
    cache_data: bool = True  # render / decode all images once into memory (uint8; small datasets); packed: ignored
    # model: encoder preset (seqclr.models.encoder.ENCODER_PRESETS) + method preset (table 1)
    encoder: str = "tiny"
    method: Literal[METHODS] = "seqclr-window"
    representation: str | None = None  # None = the method's ("H" for SeqCLR, "V" for simclr)
    head: str | None = None  # None = the method's
    mapping: str | None = None  # None = the method's
    n_instances: int = 5  # window-to-instance
    proj_dim: int = 128
    proj_hidden: int | None = None
    tau: float = 0.1
    # augmentation preset (seqclr.augment.spec.PRESETS) or spec file (path ending .yaml/.yml); None = the method's own
    # (seqclr.contrastive.model.METHOD_AUGMENTATION: "seqclr" for seqclr-*, "simclr" for simclr*)
    augmentation: Literal[AUGMENTATIONS] | str | None = None
    # remedies for what the pretext may learn instead of characters (beyond the paper; off = paper):
    view_shift: int = 0  # window mapping: the views' content shifted apart by up to this many frames
    # per-image standardisation inside the encoder (kept with the encoder); None = the encoder preset's
    input_norm: bool | None = None
    # optimization (appendix D)
    batch_size: int = 32  # global: split evenly over ranks
    iterations: int = 150
    lr: float = 10.0
    weight_decay: float = 1e-4
    loss_chunk_size: int | None = None  # None = dense similarity matrix
    # hardware
    precision: Literal[PRECISIONS] = "auto"  # auto = bf16 on CUDA (if supported), fp32 on CPU
    channels_last: bool = True  # CUDA only
    compile: bool = False
    sync_batchnorm: bool = False  # multi-GPU only
    # bookkeeping
    output_dir: str = "outputs/pretrain/default"
    checkpoint_every: int = 50
    log_every: int = 10
    resume: bool | str = False  # True = output_dir/last.pt; a str = that checkpoint
    overwrite: bool = False  # a new run into a folder holding a run: move that run aside first (else refused)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.validate()

    @classmethod
    def merge_renamed(cls, moved: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
        """The new fields of the old data fields in ``moved`` (seqclr.config.upgrade_keys)."""
        out = {"train_size": moved["data_size"]} if "data_size" in moved else {}
        if moved.keys() & {"data_options", "data_root", "data_split"}:
            out["train_source"] = legacy_train_source(values.get("data", cls.data), moved)
        return out

    # -- validation ------------------------------------------------------------------------

    def validate(self, source: str | None = None) -> "PretrainConfig":
        """Raise ValueError naming the field and value for any bad value; returns self."""
        where = _where(source)

        def bad(name: str, rule: str) -> ValueError:
            return ValueError(f"{where}{name} must be {rule}, got {getattr(self, name)!r}")

        self.check_data_fields(bad, DATA_SOURCES)
        one_of(self, bad, "encoder", tuple(ENCODER_PRESETS))
        one_of(self, bad, "method", METHODS)
        one_of(self, bad, "representation", REPRESENTATIONS, allow_none=True)
        one_of(self, bad, "head", HEADS, allow_none=True)
        one_of(self, bad, "mapping", MODEL_MAPPINGS, allow_none=True)
        for name in ("n_instances", "proj_dim"):
            if getattr(self, name) < 1:
                raise bad(name, ">= 1")
        self._check_instances(bad)
        if self.proj_hidden is not None and self.proj_hidden < 1:
            raise bad("proj_hidden", ">= 1 or None")
        if not self.tau > 0:
            raise bad("tau", "> 0")
        self._check_augmentation(where)
        if self.view_shift:
            half = frames_for_width(self.width) // 2
            if not 0 < self.view_shift < half:
                raise bad("view_shift", f"in [0, {half}) frames (half the {2 * half} frames of width {self.width})")
            if (self.mapping or METHOD_PRESETS[self.method]["mapping"]) != "window":
                raise bad("view_shift", f"0 unless the mapping is window-to-instance (method {self.method!r})")
        if self.batch_size < 2:
            raise bad("batch_size", ">= 2 (the contrastive loss needs negatives)")
        self.check_optimization(bad)
        if self.loss_chunk_size is not None and self.loss_chunk_size < 1:
            raise bad("loss_chunk_size", ">= 1 or None")
        self.check_hardware(bad)
        one_of(self, bad, "precision", PRECISIONS)
        self.check_run(bad)
        if self.checkpoint_every < 1:
            raise bad("checkpoint_every", ">= 1")
        if isinstance(self.resume, str) and not self.resume:
            raise bad("resume", "a bool or a non-empty checkpoint path")
        if self.data == "packed":
            check_pack(self, where)  # reads the manifest only
        return self

    def _check_instances(self, bad) -> None:
        """Window-to-instance needs at least one frame per window: more windows than frames would
        repeat frames, and the repeats would act as each other's negatives."""
        if (self.mapping or METHOD_PRESETS[self.method]["mapping"]) != "window":
            return
        frames = frames_for_width(self.width, ENCODER_PRESETS[self.encoder].feature_extractor)
        if self.n_instances > frames:
            raise bad("n_instances", f"<= {frames}, the frames the {self.encoder!r} encoder makes of width {self.width}")

    # -- the method's own augmentation ------------------------------------------------------

    def _check_augmentation(self, where: str) -> None:
        """Load the preset or spec file ``augmentation`` resolves to (the run's spec from now on);
        a ValueError naming the key and the file otherwise."""
        if self.augmentation is not None and not isinstance(self.augmentation, str):
            raise ValueError(f"{where}augmentation must be a preset name, a spec file or None, got {self.augmentation!r}")
        name = self.resolved_augmentation
        try:
            self._augmentation = (name, check_augmentation(name, AUGMENTATIONS))
        except ValueError as err:
            own = f" (method {self.method!r}'s own)" if self.augmentation is None else ""
            raise ValueError(f"{where}augmentation{own}: {err}") from None

    @property
    def augmentation_spec(self):
        """The AugmentSpec this run pretrains with: the preset, or the spec file as read when the
        config was last validated (``pretrain`` validates at its start)."""
        cached = getattr(self, "_augmentation", None)
        if cached is None or cached[0] != self.resolved_augmentation:
            self._check_augmentation("")
            cached = self._augmentation
        return cached[1]

    def augmentation_record(self) -> dict[str, Any]:
        """``augmentation_spec`` (its dict) and ``augmentation_sha256``: what metrics.json records
        beside the config (which names a spec file only by its path)."""
        return spec_record(self.augmentation_spec)

    @property
    def resolved_augmentation(self) -> str:
        """The augmentation preset or spec file this run pretrains with: ``augmentation`` when given, else the
        method's own (METHOD_AUGMENTATION: SimCLR's augmentations for simclr / simclr-contextual,
        SeqCLR's pipeline for seqclr-*)."""
        if self.augmentation is not None:
            return self.augmentation
        return METHOD_AUGMENTATION[self.method]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields with ``augmentation`` resolved: config.yaml, metrics.json and
        checkpoints record the pipeline the run used, not "the method's"."""
        out = super().to_dict()
        out["augmentation"] = self.resolved_augmentation
        return out

    def __eq__(self, other: object) -> bool:
        """Equal when they describe the same run: ``augmentation=None`` equals the method's own
        preset named explicitly (so a config read back from config.yaml equals the original)."""
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def replace(self, **changes: Any) -> "PretrainConfig":
        """A checked copy with ``changes``. An unset ``augmentation`` stays unset, so it follows a
        changed ``method`` (``replace(method="simclr")`` pretrains with SimCLR's augmentations)."""
        source = f"{type(self).__name__}.replace()"
        return from_dict(type(self), {**to_dict(self), **upgrade_keys(type(self), changes, source)}, source=source)

    # -- model arguments -------------------------------------------------------------------

    def model_kwargs(self) -> dict:
        """Keyword arguments of SeqCLRModel: the method preset with this config's overrides."""
        kw = dict(METHOD_PRESETS[self.method])
        for name in ("representation", "head", "mapping"):
            if getattr(self, name) is not None:
                kw[name] = getattr(self, name)
        kw.update(n_instances=self.n_instances, proj_dim=self.proj_dim, proj_hidden=self.proj_hidden, input_width=self.width)
        return kw


def paper_pretrain_recipe(domain: str = "handwriting", method: str = "seqclr-window", **overrides: Any) -> PretrainConfig:
    """Appendix D's pretraining recipe for ``domain`` ("handwriting" | "scene") and ``method``:
    the paper encoder, batch 1024 (256 for frame-to-instance) and 200K/400K iterations
    (300K/600K for frame-to-instance). Data fields are left to ``overrides``."""
    if domain not in ("handwriting", "scene"):
        raise ValueError(f"domain must be 'handwriting' or 'scene', got {domain!r}")
    overrides = upgrade_keys(PretrainConfig, overrides, "paper_pretrain_recipe()")
    frame = method == "seqclr-frame" or overrides.get("mapping") == "frame"
    iterations = {("handwriting", False): 200_000, ("scene", False): 400_000, ("handwriting", True): 300_000, ("scene", True): 600_000}
    base = dict(
        encoder="paper" if domain == "handwriting" else "paper-tps",
        method=method,
        data="synthetic-handwriting" if domain == "handwriting" else "synthetic-print",
        train_size=100_000,  # rendered once into memory (~320 MB); pass data="lmdb", train_source={"path": ...} for real data
        batch_size=256 if frame else 1024,
        iterations=iterations[(domain, frame)],
        optimizer="adadelta",
        lr=10.0,
        rho=0.95,
        weight_decay=1e-4,
        grad_clip=5.0,
        lr_milestones=[0.6, 0.8],
        lr_gamma=0.1,
        checkpoint_every=5000,
        log_every=100,
        num_workers=8,
    )
    return PretrainConfig.from_dict({**base, **overrides}, source="paper_pretrain_recipe()")
