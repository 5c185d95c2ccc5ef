"""The fields the pretraining config (:class:`seqclr.train.config.PretrainConfig`) and the
recognizer configs (:class:`seqclr.evaluate.config.RecognizerTrainConfig`) share, one concept per
base, each with its checks (one place, so both recipes accept and reject the same values):

- :class:`DataFields`: which data (``data``, ``train_source``, ``train_size``, ``data_seed``) and
  its images (``charset``, ``height``, ``width``);
- :class:`OptimizationFields`: the optimizer and its schedule (``batch_size``, ``iterations``,
  ``optimizer``, ``lr`` ...);
- :class:`HardwareFields`: where it runs (``device``, ``num_workers``);
- :class:`RunFields`: the run's bookkeeping (``seed``, ``output_dir``, ``log_every``,
  ``progress``, ``logger``).

A field whose default differs between the recipes (the pretraining lr 10, the recognizers' 1) has
no default here: each config states its own. Every check takes ``bad(field, rule)``, the config's
own error (its messages name the source or the config class).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from seqclr.data.charset import CHARSET_NAMES
from seqclr.devices import DEVICES
from seqclr.train.optimization import OPTIMIZERS
from seqclr.train.run_logger import LOGGERS

Bad = Callable[[str, str], Exception]


def one_of(cfg, bad: Bad, name: str, choices: tuple, allow_none: bool = False) -> None:
    """``bad(name, "one of ...")`` unless ``cfg.name`` is in ``choices`` (or None when allowed)."""
    v = getattr(cfg, name)
    if not (v in choices or (allow_none and v is None)):
        raise bad(name, "one of " + ", ".join(repr(c) for c in choices) + (" or None" if allow_none else ""))


@dataclass(kw_only=True)
class DataFields:
    """The data a run reads: ``build_source(data, **train_source)`` (a synthetic source also gets
    its split, size, seed and charset), its first ``train_size`` images, as ``height`` x ``width``
    images over ``charset``."""

    data: str  # a source name (seqclr.data.source_names); each config states its own set and default
    data_seed: int = 0  # seeds a synthetic source (its words and renderings)
    train_source: dict = field(default_factory=dict)  # build_source arguments (a real source: its path / root)
    train_size: int | None  # synthetic: images rendered; real data: first n (None = all)
    charset: str = "english95"
    height: int = 32
    width: int = 100

    def check_data_fields(self, bad: Bad, sources: tuple) -> None:
        one_of(self, bad, "data", sources)
        if self.data_seed < 0:
            raise bad("data_seed", ">= 0")
        if not isinstance(self.train_source, dict):
            raise bad("train_source", "a dict of build_source arguments")
        if self.train_size is not None and self.train_size < 1:
            raise bad("train_size", ">= 1 or None")
        one_of(self, bad, "charset", tuple(CHARSET_NAMES))
        if self.height != 32:
            raise bad("height", "32 (the encoders are built for 32-pixel-high images)")
        if self.width < 8:
            raise bad("width", ">= 8")


@dataclass(kw_only=True)
class OptimizationFields:
    """The optimizer (appendix D: AdaDelta, rho 0.95, gradient clip 5) and its multistep schedule."""

    batch_size: int
    iterations: int
    optimizer: Literal[OPTIMIZERS] = "adadelta"
    lr: float
    rho: float = 0.95  # AdaDelta decay rate
    eps: float = 1e-8
    momentum: float = 0.9  # sgd only
    weight_decay: float
    grad_clip: float | None = 5.0
    lr_milestones: tuple[float, ...] = (0.6, 0.8)  # fractions of `iterations`: lr * lr_gamma after each
    lr_gamma: float = 0.1  # the factor at each milestone (a recognizer's cosine schedule: the final factor)

    def __post_init__(self) -> None:
        if isinstance(self.lr_milestones, list):
            self.lr_milestones = tuple(self.lr_milestones)

    def check_optimization(self, bad: Bad) -> None:
        """The first bad value among batch_size, iterations, optimizer, lr, rho, eps, momentum,
        weight_decay, grad_clip, lr_milestones, lr_gamma."""
        if self.batch_size < 1:
            raise bad("batch_size", ">= 1")
        if self.iterations < 1:
            raise bad("iterations", ">= 1")
        one_of(self, bad, "optimizer", OPTIMIZERS)
        if not self.lr > 0:
            raise bad("lr", "> 0")
        if not 0 <= self.rho < 1:
            raise bad("rho", "in [0, 1)")
        if not self.eps > 0:
            raise bad("eps", "> 0")
        if not 0 <= self.momentum < 1:
            raise bad("momentum", "in [0, 1)")
        if self.weight_decay < 0:
            raise bad("weight_decay", ">= 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise bad("grad_clip", "> 0 or None")
        ms = self.lr_milestones
        if any(not 0 < m < 1 for m in ms) or list(ms) != sorted(ms):
            raise bad("lr_milestones", "increasing fractions of the iterations in (0, 1)")
        if not 0 < self.lr_gamma <= 1:
            raise bad("lr_gamma", "in (0, 1]")


@dataclass(kw_only=True)
class HardwareFields:
    """Where a run computes and how many processes load its data."""

    device: Literal[DEVICES] = "auto"
    num_workers: int = 0

    def check_hardware(self, bad: Bad) -> None:
        one_of(self, bad, "device", DEVICES)
        if self.num_workers < 0:
            raise bad("num_workers", ">= 0")


@dataclass(kw_only=True)
class RunFields:
    """A run's seed and bookkeeping: its folder, how often it logs, how it reports."""

    seed: int = 0
    output_dir: str
    log_every: int
    progress: bool = True  # tqdm bars with ETA (never when a run is quiet)
    logger: str = "csv"  # csv | tensorboard | none (seqclr.train.run_logger); the CSV log is written in every mode

    def check_run(self, bad: Bad) -> None:
        if self.seed < 0:
            raise bad("seed", ">= 0")
        if not self.output_dir:
            raise bad("output_dir", "a non-empty path")
        if self.log_every < 1:
            raise bad("log_every", ">= 1")
        one_of(self, bad, "logger", LOGGERS)  # the tensorboard package is checked when the run starts
