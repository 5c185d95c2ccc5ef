"""The optimization fields shared by the pretraining and the evaluation configs, and their
checks (one place, so both recipes accept and reject the same values)."""

from __future__ import annotations

from typing import Any, Callable

OPTIMIZERS = ("adadelta", "adam", "adamw", "sgd")
LR_SCHEDULES = ("multistep", "cosine")  # seqclr.train.schedule


def check_optimization(cfg: Any, bad: Callable[[str, str], Exception]) -> None:
    """Raise ``bad(field, rule)`` for the first bad value among the optimizer / schedule fields
    (iterations, optimizer, lr, rho, eps, momentum, weight_decay, grad_clip, lr_milestones, lr_gamma)."""
    if cfg.iterations < 1:
        raise bad("iterations", ">= 1")
    if cfg.optimizer not in OPTIMIZERS:
        raise bad("optimizer", "one of " + ", ".join(repr(o) for o in OPTIMIZERS))
    if not cfg.lr > 0:
        raise bad("lr", "> 0")
    if not 0 <= cfg.rho < 1:
        raise bad("rho", "in [0, 1)")
    if not cfg.eps > 0:
        raise bad("eps", "> 0")
    if not 0 <= cfg.momentum < 1:
        raise bad("momentum", "in [0, 1)")
    if cfg.weight_decay < 0:
        raise bad("weight_decay", ">= 0")
    if cfg.grad_clip is not None and not cfg.grad_clip > 0:
        raise bad("grad_clip", "> 0 or None")
    ms = cfg.lr_milestones
    if any(not 0 < m < 1 for m in ms) or list(ms) != sorted(ms):
        raise bad("lr_milestones", "increasing fractions of the iterations in (0, 1)")
    if not 0 < cfg.lr_gamma <= 1:
        raise bad("lr_gamma", "in (0, 1]")
    schedule = getattr(cfg, "lr_schedule", "multistep")
    if schedule not in LR_SCHEDULES:
        raise bad("lr_schedule", "one of " + ", ".join(repr(s) for s in LR_SCHEDULES))
    if not 0 <= getattr(cfg, "warmup_iterations", 0) < cfg.iterations:
        raise bad("warmup_iterations", f">= 0 and below iterations ({cfg.iterations})")
    if not 0 <= getattr(cfg, "decay_start", 0.0) < 1:
        raise bad("decay_start", "a fraction of the iterations in [0, 1)")
