"""One pretraining step built from toggles, for timing and ablations.

Each call runs :func:`seqclr.train.step.contrastive_step`, the step seqclr.train.loop runs per
iteration (uint8 batch on the device -> two augmented views on the device -> encoder, head,
instance mapping -> eq. (1) loss -> backward -> clip -> AdaDelta step), with each optimization a
switch so it can be measured before and after.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

import torch
from torch import nn

from seqclr.augment.pipeline import BatchAugment
from seqclr.benchmark.timing import time_interleaved
from seqclr.contrastive.model import SeqCLRModel
from seqclr.models.encoder import ENCODER_PRESETS, SequenceEncoder, count_parameters
from seqclr.train.step import contrastive_loss, contrastive_step, two_views


@dataclass(frozen=True)
class StepOptions:
    """The switches the ablations flip."""

    bf16: bool = False  # autocast of the model to bfloat16 (loss in fp32)
    channels_last: bool = False  # NHWC views and weights
    cudnn_lstm: bool = True  # CUDA: the BiLSTM through cuDNN (off: torch's native LSTM)
    foreach: bool = False  # AdaDelta's multi-tensor (foreach) update
    loss_chunk: int | None = None  # None = dense similarity matrix; int = streaming chunks
    compile: str | None = None  # None | "default" | "reduce-overhead" (CUDA graphs) for the encoder

    def but(self, **changes) -> "StepOptions":
        return replace(self, **changes)


def _no_cudnn_hooks(module: nn.Module) -> None:
    """Run ``module`` (forward; its backward follows the kernel chosen) without cuDNN."""
    state: dict = {}

    def pre(_m, _args):
        state["was"] = torch.backends.cudnn.enabled
        torch.backends.cudnn.enabled = False

    def post(_m, _args, _out):
        torch.backends.cudnn.enabled = state.pop("was", True)

    module.register_forward_pre_hook(pre)
    module.register_forward_hook(post)


class PretrainStep:
    """``step(images)`` runs one optimizer step on a uint8 (N, 1, H, W) batch on the device and
    returns the loss (on the device, not synced)."""

    def __init__(self, preset: str, method: str, device: torch.device | str, opts: StepOptions, seed: int = 0,
                 width: int = 100, tau: float = 0.1) -> None:  # fmt: skip
        self.device, self.opts, self.tau = torch.device(device), opts, tau
        torch.manual_seed(seed)
        model = SeqCLRModel.from_preset(method, preset, input_width=width)
        if opts.channels_last:
            model = model.to(self.device, memory_format=torch.channels_last)
        else:
            model = model.to(self.device)
        if self.device.type == "cuda" and not opts.cudnn_lstm:
            for m in model.modules():  # the encoder's BiLSTM and the projection head's
                if isinstance(m, nn.LSTM):
                    _no_cudnn_hooks(m)
        self.model = model.train()
        if opts.compile:
            model.encoder = torch.compile(model.encoder, mode=opts.compile, dynamic=False)
        self.augment = BatchAugment("seqclr").to(self.device)
        self.generator = torch.Generator().manual_seed(seed)
        # appendix D: AdaDelta rho 0.95, weight decay 1e-4, gradient clipping at 5
        self.optimizer = torch.optim.Adadelta(
            [p for p in model.parameters() if p.requires_grad], lr=1.0, rho=0.95, eps=1e-8, weight_decay=1e-4,
            foreach=opts.foreach,
        )  # fmt: skip

    def autocast(self):
        if self.opts.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def views(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = images.to(torch.float32).div_(255.0) if images.dtype == torch.uint8 else images
        x_a, x_b = two_views(self.augment, x, self.generator)
        if self.opts.channels_last:
            x_a = x_a.contiguous(memory_format=torch.channels_last)
            x_b = x_b.contiguous(memory_format=torch.channels_last)
        return x_a, x_b

    def loss(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        return contrastive_loss(self.model, x_a, x_b, tau=self.tau, chunk_size=self.opts.loss_chunk, autocast=self.autocast)

    def forward_backward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        loss = self.loss(x_a, x_b)
        loss.backward()
        return loss

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x_a, x_b = self.views(images)
        loss, _ = contrastive_step(
            self.model, self.optimizer, x_a, x_b, tau=self.tau, chunk_size=self.opts.loss_chunk, autocast=self.autocast,
            grad_clip=5.0, foreach=self.opts.foreach or None,
        )  # fmt: skip
        return loss


def encoder_throughput(preset: str, batch: int, width: int, iters: int, device: str, channels_last: bool = False,
                       bf16: bool = False, repeat: int = 1) -> tuple[int, float]:  # fmt: skip
    """(parameter count, images/s) of the bare encoder's forward + backward in train mode; the
    loss is a stand-in (mean squares of H and V). One warm-up iteration is not timed."""
    enc = SequenceEncoder(ENCODER_PRESETS[preset])
    enc = enc.to(device, memory_format=torch.channels_last) if channels_last else enc.to(device)
    enc.train()
    x = torch.rand(batch, 1, 32, width, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ctx = (lambda: torch.autocast(torch.device(device).type, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext

    def step() -> None:
        enc.zero_grad(set_to_none=True)
        with ctx():
            out = enc(x)
            loss = out.H.float().pow(2).mean() + out.V.float().pow(2).mean()
        loss.backward()

    sec = time_interleaved({"enc": step}, iters, repeat, device)["enc"]
    return count_parameters(enc), batch / sec
