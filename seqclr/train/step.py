"""One contrastive step: two augmented views -> model (f, g, m) -> the loss of eq. (1) ->
backward -> the gradients' norm, clipped -> optimizer step.

:mod:`seqclr.train.loop` runs it every iteration of a pretraining run and
:class:`seqclr.benchmark.step.PretrainStep` times it, so what the benchmark measures is what
trains.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from seqclr.contrastive.loss import seqclr_nce_loss


def two_views(augment: nn.Module, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independently augmented views of float ``images`` (N, C, H, W), without gradient;
    both draw their parameters from ``generator``, view a first."""
    with torch.no_grad():
        return augment(images, generator=generator), augment(images, generator=generator)


def contrastive_loss(
    model: nn.Module,
    x_a: torch.Tensor,
    x_b: torch.Tensor,
    spans: torch.Tensor | None = None,
    *,
    tau: float,
    chunk_size: int | None = None,
    world_size: int = 1,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> torch.Tensor:
    """Eq. (1) of the two views' instances (the model under ``autocast``, the loss in float32).
    With ``world_size`` > 1 every rank's instances are negatives and the loss is this rank's share."""
    with autocast():
        z_a, z_b = model(x_a, x_b) if spans is None else model(x_a, x_b, spans=spans)
    return seqclr_nce_loss(z_a.float(), z_b.float(), tau=tau, chunk_size=chunk_size, distributed=world_size > 1)


def contrastive_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x_a: torch.Tensor,
    x_b: torch.Tensor,
    spans: torch.Tensor | None = None,
    *,
    tau: float,
    chunk_size: int | None = None,
    world_size: int = 1,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    grad_clip: float | None = None,
    parameters: Iterable[torch.Tensor] | None = None,
    foreach: bool | None = None,
    before_update: Callable[[torch.Tensor, torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on the views ``x_a``, ``x_b``; returns (loss, gradient norm), both
    detached and on the device (not synced).

    ``model`` runs forward (a DDP or compiled wrapper, or the bare model); ``parameters`` (default:
    the model's) are the ones whose gradient norm is taken and clipped to ``grad_clip`` (None: no
    clipping). Each rank holds its share of the total loss and DDP averages gradients over ranks,
    so with ``world_size`` > 1 the loss is scaled by it for backward: the gradient of the total,
    single-process loss. ``before_update(loss, norm)`` is called between the norm and the
    optimizer step; raising there (a non-finite value) leaves the weights untouched.
    """
    loss = contrastive_loss(
        model, x_a, x_b, spans, tau=tau, chunk_size=chunk_size, world_size=world_size, autocast=autocast
    )
    (loss * world_size if world_size > 1 else loss).backward()
    params = model.parameters() if parameters is None else parameters
    norm = nn.utils.clip_grad_norm_(params, grad_clip if grad_clip is not None else math.inf, foreach=foreach)
    if before_update is not None:
        before_update(loss, norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach(), norm.detach()
