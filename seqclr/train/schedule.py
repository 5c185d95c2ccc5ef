"""Optimizer and learning-rate schedule. Appendix D: AdaDelta (lr 10, rho 0.95, weight decay
1e-4) with the learning rate divided by 10 after 60% and 80% of the iterations ("multistep").
The CPU recognizer recipe uses "cosine": a linear warm-up over ``warmup_iterations``, the full
rate until ``decay_start`` (a fraction of the iterations: the decay starts once the model has
fitted), then a half-cosine down to ``lr_gamma`` times the rate at the last iteration. Configs
without ``lr_schedule`` (pretraining) are multistep."""

from __future__ import annotations

import math

import torch

from seqclr.train.config import PretrainConfig
from seqclr.train.optimization import LR_SCHEDULES  # noqa: F401  (re-exported: the schedule names)


def build_optimizer(params, cfg: PretrainConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``cfg.optimizer`` with cfg's lr / weight decay (and rho, eps, momentum)."""
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=cfg.lr, rho=cfg.rho, eps=cfg.eps, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, eps=cfg.eps, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, eps=cfg.eps, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be one of adadelta, adam, adamw, sgd; got {cfg.optimizer!r}")


def milestone_steps(iterations: int, fractions: tuple[float, ...] | list[float]) -> list[int]:
    """Optimizer steps after which the lr is multiplied by gamma: round(f * iterations), at least 1."""
    return [max(1, round(f * iterations)) for f in fractions]


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: PretrainConfig) -> torch.optim.lr_scheduler.LRScheduler:
    """Stepped once per iteration; iteration i (0-based) trains with ``lr_at(i, cfg)``. Multistep
    is torch's MultiStepLR (lr * gamma ** (number of milestones <= i)); cosine a LambdaLR."""
    if getattr(cfg, "lr_schedule", "multistep") == "multistep" and not getattr(cfg, "warmup_iterations", 0):
        return torch.optim.lr_scheduler.MultiStepLR(
            optimizer, milestones=milestone_steps(cfg.iterations, cfg.lr_milestones), gamma=cfg.lr_gamma
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, cfg))


def lr_factor(step: int, cfg: PretrainConfig) -> float:
    """The multiplier of cfg.lr at iteration ``step`` (0-based) under the config's schedule."""
    warmup = int(getattr(cfg, "warmup_iterations", 0))
    ramp = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    if getattr(cfg, "lr_schedule", "multistep") == "multistep":
        return ramp * cfg.lr_gamma ** sum(step >= m for m in milestone_steps(cfg.iterations, cfg.lr_milestones))
    start = max(warmup, round(getattr(cfg, "decay_start", 0.0) * cfg.iterations))
    if step < start:
        return ramp
    progress = min(1.0, (step - start) / max(1, cfg.iterations - 1 - start))
    return cfg.lr_gamma + (1.0 - cfg.lr_gamma) * 0.5 * (1.0 + math.cos(math.pi * progress))


def lr_at(step: int, cfg: PretrainConfig) -> float:
    """The learning rate iteration ``step`` (0-based) trains with (closed form, for checks and plots)."""
    return cfg.lr * lr_factor(step, cfg)
