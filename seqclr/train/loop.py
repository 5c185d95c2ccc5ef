"""The SeqCLR pretraining loop (section 4, appendix D).

``pretrain(cfg)`` builds the data (deterministic sampler), two augmented views per image with the
batched torch pipeline on the training device, the model f -> g -> m, AdaDelta with the
multi-step lr schedule, and trains for ``cfg.iterations`` steps on the loss of eq. (1).

Resumable exactly: a checkpoint holds the model, optimizer, scheduler, every RNG (python, numpy,
torch CPU / CUDA and the augmentation generator, per rank) and the data position
(epoch, step in epoch), so a run resumed from it produces the same per-step losses as an
uninterrupted one. A non-finite loss stops the run (:class:`NonFiniteLossError`, naming the step)
before any checkpoint is written after it.

Under torchrun each rank trains on its slice of every global batch, instances of all ranks are
negatives (gather_with_grad) and only rank 0 writes files.

Outputs in ``cfg.output_dir``: ``config.yaml``, ``last.pt`` / ``last.prev.pt``, ``encoder.pt``,
``loss.csv`` (step, loss, lr), ``loss.png`` and ``metrics.json``; with ``logger: tensorboard``
also TensorBoard event files in ``tensorboard/`` (train/loss and train/lr of every step,
train/images_per_s every ``log_every`` steps; seqclr.train.run_logger).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from seqclr.augment.pipeline import BatchAugment
from seqclr.augment.view_shift import shift_views
from seqclr.contrastive.model import SeqCLRModel
from seqclr.data.skips import skipped_report
from seqclr.models.encoder import frames_for_width, get_encoder_config
from seqclr.train import distributed as D
from seqclr.train.checkpoint import has_checkpoint, load_latest, save_checkpoint, save_encoder
from seqclr.train.config import PretrainConfig
from seqclr.train.data import build_batches
from seqclr.train.run_folder import RunFolderError, check_resume, config_record, new_run_folder
from seqclr.train.run_logger import RunLogger, require_logger
from seqclr.train.schedule import build_optimizer, build_scheduler
from seqclr.train.step import contrastive_step, two_views

class NonFiniteLossError(RuntimeError):
    """The loss or the gradients became NaN or infinite; the message names the step and the last
    checkpoint (always a finite one: none is written after a non-finite value)."""

    exit_code = 3  # seqclr.exits: one line and this exit status on the command line

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


@dataclass
class StepInfo:
    """What ``on_step`` callbacks see after each optimizer step (loss may still be on device)."""

    step: int  # steps done so far (1-based index of the step just finished)
    epoch: int
    step_in_epoch: int
    loss: torch.Tensor
    model: nn.Module  # the bare SeqCLRModel (not the DDP / compiled wrapper)
    optimizer: torch.optim.Optimizer
    output_dir: Path


# ------------------------------------------------------------------------------------------
# RNG state <-> tensors (checkpoints hold tensors and plain types only).
# ------------------------------------------------------------------------------------------


def rng_state(aug_generator: torch.Generator, device: torch.device) -> dict:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": torch.tensor(internal, dtype=torch.int64),
        "python_meta": torch.tensor([version, math.nan if gauss is None else gauss], dtype=torch.float64),
        "numpy": torch.from_numpy(keys.astype(np.int64)),
        "numpy_meta": torch.tensor([pos, has_gauss, cached], dtype=torch.float64),
        "torch": torch.get_rng_state(),
        "augment": aug_generator.get_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, aug_generator: torch.Generator, device: torch.device) -> None:
    version, gauss = state["python_meta"].tolist()
    random.setstate((int(version), tuple(int(v) for v in state["python"].tolist()), None if math.isnan(gauss) else gauss))
    pos, has_gauss, cached = state["numpy_meta"].tolist()
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), int(pos), int(has_gauss), float(cached)))
    torch.set_rng_state(state["torch"].cpu())
    aug_generator.set_state(state["augment"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def seed_everything(seed: int, rank: int) -> None:
    """Per-rank python / numpy / torch seeds derived from (seed, rank)."""
    s = int(np.random.SeedSequence([seed, rank, 7]).generate_state(1)[0])
    random.seed(s)
    np.random.seed(s)
    torch.manual_seed(s)


def augment_generator(seed: int, rank: int) -> torch.Generator:
    """The CPU generator the augmentation pipeline draws its parameters from (per rank)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, rank, 11]).generate_state(1)[0]))


# ------------------------------------------------------------------------------------------
# Building blocks.
# ------------------------------------------------------------------------------------------


def build_seqclr_model(cfg: PretrainConfig) -> nn.Module:
    """SeqCLRModel for cfg's encoder preset and method (with overrides)."""
    return SeqCLRModel(get_encoder_config(cfg.encoder, input_norm=cfg.input_norm), **cfg.model_kwargs())


def build_augment(cfg: PretrainConfig) -> nn.Module:
    """The two-view augmenter: the config's preset, by default the method's own (SimCLR's
    augmentations for simclr / simclr-contextual, SeqCLR's pipeline for seqclr-*)."""
    return BatchAugment(cfg.augmentation_spec)  # a preset's or the spec file's, read at validation


def make_views(augment: nn.Module, images: torch.Tensor, cfg: PretrainConfig, generator: torch.Generator):
    """(x_a, x_b, spans): two augmented views, content-shifted apart when ``view_shift`` > 0
    (seqclr.augment.view_shift; spans None otherwise)."""
    x_a, x_b = two_views(augment, images, generator)
    if not cfg.view_shift:
        return x_a, x_b, None

    return shift_views(x_a, x_b, cfg.view_shift, frames_for_width(images.size(3)), generator)


def use_bf16(cfg: PretrainConfig, device: torch.device) -> bool:
    if cfg.precision == "bf16":
        return True
    if cfg.precision == "auto":
        return device.type == "cuda" and torch.cuda.is_bf16_supported()
    return False


def nonfinite_message(what: str, step: int, ckpt: str | None, cfg: PretrainConfig, stopped: str = "stopped") -> str:
    """The stop message: the value, the last checkpoint (finite: none is written after a
    non-finite value), and advice a user can follow (resume repeats the same settings, so other
    settings mean a new run)."""
    where = f"{ckpt}, finite; resume: true retries from it with the same settings" if ckpt else "none written yet"
    return (
        f"pretrain: {what} at step {step}; {stopped}. Last checkpoint: {where}. For other settings (a lower lr "
        f"than {cfg.lr}, precision 'fp32', a larger tau than {cfg.tau}) start a new run: another output_dir, "
        "or overwrite: true"
    )


def _nonfinite(loss: float, norm: float) -> str | None:
    """What is non-finite about one step (its loss first), or None."""
    if not math.isfinite(loss):
        return f"non-finite loss {loss}"
    if not math.isfinite(norm):
        return f"non-finite gradient (norm {norm}) with a finite loss ({loss:.6g})"
    return None


class _Progress:
    """tqdm.auto bar on rank 0 (works in terminals and notebooks); silent elsewhere."""

    def __init__(self, cfg: PretrainConfig, ctx: D.DistContext, initial: int) -> None:
        self.bar = None
        if ctx.is_main and cfg.progress:
            self.bar = tqdm(total=cfg.iterations, initial=initial, desc="pretrain", unit="step", dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def postfix(self, **kw: Any) -> None:
        if self.bar is not None:
            self.bar.set_postfix(**kw, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _resume_target(cfg: PretrainConfig, ctx: D.DistContext) -> Path | RunFolderError | None:
    """The checkpoint (folder or file) to resume from, None for a run from scratch (the folder
    checked, or moved aside with overwrite), or the RunFolderError every rank must raise."""
    try:
        if not cfg.resume:
            new_run_folder(cfg, lambda m: _log(ctx, m))
            return None
        target = Path(cfg.output_dir if cfg.resume is True else cfg.resume)
        if cfg.resume is True and not has_checkpoint(target):
            _log(ctx, f"resume: no checkpoint in {target}; starting from scratch")
            return None
        return target
    except RunFolderError as err:
        return err


def _log(ctx: D.DistContext, msg: str) -> None:
    if ctx.is_main:
        print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Outputs.
# ------------------------------------------------------------------------------------------


def write_loss_csv(path: Path, losses: list[float], lrs: list[float]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "loss", "lr"])
        for i, (l, lr) in enumerate(zip(losses, lrs), start=1):
            w.writerow([i, repr(float(l)), repr(float(lr))])


def read_loss_csv(path: str | Path) -> dict[str, list]:
    """{"step": [...], "loss": [...], "lr": [...]} from a loss.csv."""
    out: dict[str, list] = {"step": [], "loss": [], "lr": []}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out["step"].append(int(row["step"]))
            out["loss"].append(float(row["loss"]))
            out["lr"].append(float(row["lr"]))
    return out


def plot_loss(path: Path, losses: list[float], title: str = "") -> None:
    """Loss curve (raw and smoothed) as PNG, with the Agg canvas (no pyplot / display needed)."""
    # lazy: matplotlib only for this plot, keeps `import seqclr.train.loop` (every training run) light
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # lazy: as above

    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, lw=0.8, alpha=0.4, label="loss")
    if len(losses) >= 5:
        k = max(2, len(losses) // 20)
        smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], smooth, lw=1.6, label=f"mean of {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("contrastive loss")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


# ------------------------------------------------------------------------------------------
# The loop.
# ------------------------------------------------------------------------------------------


def pretrain(cfg: PretrainConfig, on_step: Callable[[StepInfo], None] | None = None) -> dict:
    """Train per ``cfg``; returns the metrics also written to ``output_dir/metrics.json``.

    ``on_step(info)`` is called after every optimizer step (and after that step's checkpoint);
    notebooks use it for live plots, tests to interrupt or corrupt a run."""
    cfg.validate()
    require_logger(cfg.logger)  # a missing tensorboard package fails here, before any compute
    ctx = D.setup(cfg.device)
    try:
        return _pretrain(cfg, ctx, on_step)
    finally:
        D.cleanup(ctx)


def _pretrain(cfg: PretrainConfig, ctx: D.DistContext, on_step: Callable[[StepInfo], None] | None) -> dict:
    t_setup = time.perf_counter()
    if cfg.batch_size % ctx.world_size:
        raise ValueError(f"batch_size {cfg.batch_size} must be a multiple of the number of processes {ctx.world_size}")
    state = _resume_state(cfg, ctx)
    run = _Run(cfg, ctx)
    if state is not None:
        run.restore(state)
    del state
    run.start()
    try:
        run.train(on_step)
    finally:
        run.close()
    return run.finish(t_setup)


def _resume_state(cfg: PretrainConfig, ctx: D.DistContext) -> dict | None:
    """The folder and the resume checkpoint: rank 0 decides, every rank loads the same file
    (None: a run from scratch). Another config stops here, before any compute."""
    resume_path = D.broadcast_object(_resume_target(cfg, ctx) if ctx.is_main else None, ctx)
    if isinstance(resume_path, RunFolderError):
        raise resume_path
    if resume_path is None:
        return None
    state, used = load_latest(resume_path)
    check_resume(state["config"], cfg, used)
    _log(ctx, f"resume: {used} (step {state['step']})")
    return state


def _build_model(cfg: PretrainConfig, ctx: D.DistContext) -> tuple[nn.Module, bool]:
    """(the model on the device, same initial weights on every rank; whether it is channels-last)."""
    torch.manual_seed(cfg.seed)
    model = build_seqclr_model(cfg)
    if ctx.distributed and cfg.sync_batchnorm:
        if ctx.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        else:
            _log(ctx, "sync_batchnorm: SyncBatchNorm needs CUDA; keeping per-process BatchNorm on CPU")
    channels_last = cfg.channels_last and ctx.device.type == "cuda"
    model = model.to(ctx.device, memory_format=torch.channels_last) if channels_last else model.to(ctx.device)
    return model, channels_last


def _wrap_model(cfg: PretrainConfig, ctx: D.DistContext, model: nn.Module) -> nn.Module:
    """What runs forward: DDP across ranks, torch.compile'd with ``cfg.compile``."""
    train_model: nn.Module = model
    if ctx.distributed:
        # SimCLR on V leaves the BiLSTM unused: DDP must then not wait for its gradients.
        unused = cfg.model_kwargs()["representation"] == "V"
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None, find_unused_parameters=unused
        )
    if cfg.compile:
        train_model = torch.compile(train_model)
    return train_model


class _Run:
    """One process's pretraining run: the model, data and optimizer, the position in the data,
    the loss history, and the step loop that reads and updates them."""

    def __init__(self, cfg: PretrainConfig, ctx: D.DistContext) -> None:
        self.cfg, self.ctx, self.out = cfg, ctx, Path(cfg.output_dir)
        self.device, self.world = ctx.device, ctx.world_size
        self.model, self.channels_last = _build_model(cfg, ctx)
        seed_everything(cfg.seed, ctx.rank)
        try:
            self.batches = build_batches(cfg, ctx.rank, self.world, pin=self.device.type == "cuda", device=self.device)
        except ValueError as err:
            raise ValueError(f"data {cfg.data!r} (train_size={cfg.train_size}, batch_size={cfg.batch_size}): {err}") from err
        self.steps_per_epoch = self.batches.sampler.steps_per_epoch
        if ctx.is_main:  # written once the config, the folder and the data have passed their checks
            self.out.mkdir(parents=True, exist_ok=True)
            cfg.to_yaml(self.out / "config.yaml")
        self.augment = build_augment(cfg).to(self.device)
        self.aug_gen = augment_generator(cfg.seed, ctx.rank)
        self.optimizer = build_optimizer(self.model.parameters(), cfg)
        self.scheduler = build_scheduler(self.optimizer, cfg)
        self.step, self.epoch, self.step_in_epoch = 0, 0, 0
        self.losses: list[float] = []
        self.lrs: list[float] = []

    def restore(self, state: dict) -> None:
        """Weights, optimizer, schedule, data position, history and (same world size) every RNG."""
        cfg, ctx = self.cfg, self.ctx
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch, self.step_in_epoch = int(state["step"]), int(state["epoch"]), int(state["step_in_epoch"])
        self.losses = state["history"]["loss"].tolist()[: self.step]
        self.lrs = state["history"]["lr"].tolist()[: self.step]
        if int(state["world_size"]) == self.world:
            set_rng_state(state["rng"][ctx.rank], self.aug_gen, self.device)
        else:
            _log(ctx, f"resume: saved with {state['world_size']} processes, now {self.world}: RNG streams re-seeded")
            seed_everything(cfg.seed + self.step, ctx.rank)
            self.aug_gen = augment_generator(cfg.seed + self.step, ctx.rank)

    def start(self) -> None:
        """The wrapped model, precision, the progress bar and the run logger; the clock starts."""
        cfg, ctx = self.cfg, self.ctx
        self.resumed_from = self.step
        self.train_model = _wrap_model(cfg, ctx, self.model)
        self.bf16 = use_bf16(cfg, self.device)
        self.autocast = (lambda: torch.autocast(self.device.type, dtype=torch.bfloat16)) if self.bf16 else contextlib.nullcontext
        self.sync_every = 1 if self.device.type == "cpu" else cfg.log_every
        self.pending: list[torch.Tensor] = []  # this rank's loss shares not yet checked / logged
        self.norms: list[torch.Tensor] = []  # the gradient norms of the same steps (equal on every rank)
        self.ckpt_step = self.resumed_from if self.resumed_from else None
        self.progress = _Progress(cfg, ctx, initial=self.step)
        self.run_log = RunLogger(cfg.logger if ctx.is_main else "none", self.out, resume_step=self.resumed_from or None)
        self.t_start = time.perf_counter()
        self.t_first: float | None = None
        self.steps_this_run = 0

    def _ckpt_path(self) -> str | None:
        return None if self.ckpt_step is None else f"{self.out / 'last.pt'} (step {self.ckpt_step})"

    def train(self, on_step: Callable[[StepInfo], None] | None) -> None:
        self.train_model.train()
        while self.step < self.cfg.iterations:
            if self.step_in_epoch >= self.steps_per_epoch:
                self.epoch, self.step_in_epoch = self.epoch + 1, 0
            for images in self.batches.epoch_batches(self.epoch, self.step_in_epoch):
                loss = self._train_step(images)
                if self._after_step(loss, on_step):
                    return

    def _train_step(self, images: torch.Tensor) -> torch.Tensor:
        """One contrastive step (seqclr.train.step) on a batch; returns its loss (on the device)."""
        cfg = self.cfg
        images = images.to(self.device, non_blocking=True)
        with torch.no_grad():
            x_a, x_b, spans = make_views(self.augment, images, cfg, self.aug_gen)
        if self.channels_last:
            x_a = x_a.contiguous(memory_format=torch.channels_last)
            x_b = x_b.contiguous(memory_format=torch.channels_last)
        self.lrs.append(self.optimizer.param_groups[0]["lr"])
        # the gradients' norm (clipped to grad_clip, if any): a non-finite one stops the run
        # before the step on the CPU; on a GPU it is checked with the losses, before any checkpoint
        loss, norm = contrastive_step(
            self.train_model, self.optimizer, x_a, x_b, spans, tau=cfg.tau, chunk_size=cfg.loss_chunk_size,
            world_size=self.world, autocast=self.autocast, grad_clip=cfg.grad_clip,
            parameters=self.model.parameters(), before_update=self._check_now if self.sync_every == 1 else None,
        )  # fmt: skip
        self.norms.append(norm)
        self.scheduler.step()
        self.step += 1
        self.step_in_epoch += 1
        self.steps_this_run += 1
        self.pending.append(loss)
        self.progress.update()
        return loss

    def _check_now(self, loss: torch.Tensor, norm: torch.Tensor) -> None:
        """Stop before the optimizer step on a non-finite loss or gradient (CPU: synced anyway)."""
        if what := _nonfinite(loss.item() * self.world, norm.item()):
            stop = "stopped before the optimizer step"
            step = self.step + 1
            raise NonFiniteLossError(nonfinite_message(what, step, self._ckpt_path(), self.cfg, stop), step)

    def _after_step(self, loss: torch.Tensor, on_step: Callable[[StepInfo], None] | None) -> bool:
        """Check / log / checkpoint as due, call ``on_step``; True after the last step."""
        cfg, step = self.cfg, self.step
        last = step >= cfg.iterations
        if step % self.sync_every == 0 or step % cfg.checkpoint_every == 0 or last or self.t_first is None:
            self.flush()
        if self.t_first is None:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.t_first = time.perf_counter()
        if step % cfg.log_every == 0 or last:
            elapsed = time.perf_counter() - self.t_first
            n = self.steps_this_run
            ips = (n - 1) * cfg.batch_size / elapsed if n > 1 and elapsed > 0 else float("nan")
            self.progress.postfix(loss=f"{self.losses[-1]:.4f}", img_s=f"{ips:.1f}", lr=f"{self.lrs[-1]:.3g}")
            self.run_log.log_scalars(step, {"train/images_per_s": ips if math.isfinite(ips) else None})
        if step % cfg.checkpoint_every == 0 or last:
            self.checkpoint()
        if on_step is not None:
            on_step(StepInfo(step, self.epoch, self.step_in_epoch, loss, self.model, self.optimizer, self.out))
        return last

    def flush(self) -> None:
        """Move pending losses to the host (summed over ranks), check them, update the log."""
        if not self.pending:
            return
        vals = torch.stack(self.pending).float()
        if self.ctx.distributed:
            torch.distributed.all_reduce(vals)
        vals_list = vals.tolist()
        norm_list = torch.stack(self.norms).float().tolist()
        first = len(self.losses) + 1
        self.pending.clear()
        self.norms.clear()
        for i, (v, g) in enumerate(zip(vals_list, norm_list)):
            if what := _nonfinite(v, g):
                self.losses.extend(vals_list[:i])
                raise NonFiniteLossError(nonfinite_message(what, first + i, self._ckpt_path(), self.cfg), first + i)
            self.run_log.log_scalars(first + i, {"train/loss": v, "train/lr": self.lrs[first + i - 1]})
        self.losses.extend(vals_list)

    def checkpoint(self) -> None:
        finite = torch.stack([torch.isfinite(p).all() for p in self.model.parameters()]).all()
        if not bool(finite):  # last guard, one host sync: never save non-finite weights
            raise NonFiniteLossError(nonfinite_message("non-finite weights", self.step, self._ckpt_path(), self.cfg), self.step)
        rngs = D.all_gather_objects(rng_state(self.aug_gen, self.device), self.ctx)
        if self.ctx.is_main:
            history = {"loss": torch.tensor(self.losses, dtype=torch.float64), "lr": torch.tensor(self.lrs, dtype=torch.float64)}
            save_checkpoint(
                {
                    "step": self.step,
                    "epoch": self.epoch,
                    "step_in_epoch": self.step_in_epoch,
                    "world_size": self.world,
                    "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                    "rng": rngs,
                    "history": history,
                    "config": config_record(self.cfg),
                },
                self.out,
            )
        self.ckpt_step = self.step

    def close(self) -> None:
        """The bar and the logger closed, loss.csv and loss.png written (also after an error)."""
        self.progress.close()
        self.run_log.close()
        with contextlib.suppress(Exception):
            self.lrs = self.lrs[: len(self.losses)]
            if self.ctx.is_main and self.losses:
                cfg = self.cfg
                write_loss_csv(self.out / "loss.csv", self.losses, self.lrs)
                plot_loss(self.out / "loss.png", self.losses, f"{cfg.method}, {cfg.encoder} encoder, batch {cfg.batch_size}")

    def finish(self, t_setup: float) -> dict:
        """The metrics, written with the encoder by rank 0."""
        cfg, ctx, losses = self.cfg, self.ctx, self.losses
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        t_end = time.perf_counter()
        timed = t_end - (self.t_first or self.t_start)
        n = self.steps_this_run
        ips = (n - 1) * cfg.batch_size / timed if n > 1 and timed > 0 else float("nan")
        tail = losses[-10:]
        metrics = {
            "status": "completed",
            "steps": self.step,
            "steps_this_run": n,
            "resumed_from_step": self.resumed_from,
            "initial_loss": losses[0] if losses else None,
            "final_loss": losses[-1] if losses else None,
            "final_loss_mean10": float(np.mean(tail)) if tail else None,
            "images_per_s": ips if math.isfinite(ips) else None,  # None: fewer than 2 steps timed
            "train_time_s": t_end - self.t_start,
            "wall_time_s": t_end - t_setup,
            "setup_time_s": self.t_start - t_setup,
            "device": str(self.device),
            "world_size": self.world,
            "precision": "bf16" if self.bf16 else "fp32",
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
            "encoder_parameters": sum(p.numel() for p in self.model.encoder.parameters()),
            "skipped": skipped_report(self.batches),  # items dropped under on_error: skip: [{"where", "reason"}]
            "config": cfg.to_dict(),
            **cfg.augmentation_record(),  # the spec's content and digest (config names a spec file by path)
        }
        if ctx.is_main:
            save_encoder(self.out / "encoder.pt", self.model.encoder, cfg)
            (self.out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
            _log(
                ctx,
                f"pretrain: {self.step} steps, loss {metrics['initial_loss']:.4f} -> {metrics['final_loss']:.4f}, "
                f"{ips:.1f} images/s, {metrics['wall_time_s']:.1f} s end to end; outputs in {self.out}",
            )
        return metrics


__all__ = ["NonFiniteLossError", "StepInfo", "pretrain", "read_loss_csv"]
