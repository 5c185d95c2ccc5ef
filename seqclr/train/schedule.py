"""Optimizer and learning-rate schedule of appendix D: AdaDelta (lr 10, rho 0.95, weight decay
1e-4) with the learning rate divided by 10 after 60% and 80% of the iterations."""

from __future__ import annotations

import torch

from seqclr.train.config import PretrainConfig


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


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: PretrainConfig) -> torch.optim.lr_scheduler.MultiStepLR:
    """MultiStepLR stepped once per iteration: iteration i (0-based) trains with
    lr * gamma ** (number of milestones <= i)."""
    return torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=milestone_steps(cfg.iterations, cfg.lr_milestones), gamma=cfg.lr_gamma
    )


def lr_at(step: int, cfg: PretrainConfig) -> float:
    """The learning rate iteration ``step`` (0-based) trains with (closed form, for checks and plots)."""
    k = sum(step >= m for m in milestone_steps(cfg.iterations, cfg.lr_milestones))
    return cfg.lr * cfg.lr_gamma**k
