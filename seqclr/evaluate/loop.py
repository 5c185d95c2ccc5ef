"""A small, plain training loop for recognizers and the test-set evaluation.

One iteration = one batch of the labeled subset (reshuffled every epoch with a seeded
permutation), augmented on the device, one optimizer step (AdaDelta + multistep schedule from
seqclr.train.schedule, gradient clipping). With ``val_every`` > 0 the model is validated every
``val_every`` iterations and at the end, and the best one (validation accuracy) is kept, as the
paper selects its model on a validation set.

Progress: with ``cfg.progress`` and a ``log`` callable, a tqdm bar with ETA (loss, lr, images/s and
the last validation accuracy in its postfix) replaces the per-``log_every`` lines; ``log=None``
(the study, tests) is quiet. Curves go to a :class:`seqclr.train.run_logger.RunLogger` when one is
given (``run_protocol`` opens one per ``cfg.logger``): ``train/loss`` (mean since the last log step),
``train/lr``, ``train/images_per_s`` every ``log_every`` iterations, ``val/acc`` / ``val/ed1`` /
``val/cer`` / ``val/wer`` at each validation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from seqclr.augment.pipeline import BatchAugment
from seqclr.data.dataset import collate_words
from seqclr.data.readers import DataError
from seqclr.data.skips import note_skipped
from seqclr.evaluate.config import RecognizerTrainConfig
from seqclr.metrics import METRIC_NAMES, evaluate_predictions
from seqclr.models.prediction import Recognizer
from seqclr.train.run_logger import RunLogger
from seqclr.train.sampler import DeterministicBatchSampler, endless
from seqclr.train.schedule import build_optimizer, build_scheduler

VAL_METRICS = METRIC_NAMES  # the validation scores logged: all of evaluate_predictions'
# The scalars a recognizer run logs (the columns of its train_log.csv): run_protocol adds test/*.
TRAIN_SCALARS = ("train/loss", "train/lr", "train/images_per_s") + tuple(f"val/{k}" for k in VAL_METRICS)


def _collate(batch: list[dict]) -> dict:
    return collate_words(batch)


class EpochBatches(DeterministicBatchSampler):
    """Batches of ``indices`` for one epoch (``epoch``, advanced by the caller): the seeded order of
    seqclr.train.sampler over ``len(indices)`` items, ``np.random.default_rng([seed, epoch])
    .permutation``, cut into batches of ``batch_size`` (an incomplete last batch is dropped unless it
    is the only one)."""

    def __init__(self, indices: Sequence[int], batch_size: int, seed: int = 0) -> None:
        if len(indices) == 0:
            raise ValueError("EpochBatches: no training images")
        self.indices = np.asarray(indices, dtype=np.int64)
        super().__init__(len(self.indices), batch_size, seed, partial=True)

    def __iter__(self):
        for batch in self.batches(self.epoch, self.start):
            yield self.indices[batch].tolist()


def _batches(dataset, sampler: EpochBatches, num_workers: int):
    """Endless stream of collated batches, epoch after epoch. Items skipped under ``on_error:
    skip`` are left out (the batch shrinks; a batch of none is passed over) and noted in
    ``dataset`` (seqclr.data.skips.skipped_report)."""
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, collate_fn=_collate, num_workers=num_workers, persistent_workers=False
    )

    def epoch(e: int):
        sampler.epoch, read = e, 0
        for batch in loader:
            note_skipped(dataset, batch["skipped"])
            if len(batch["label"]):
                read += 1
                yield batch
        if not read:
            name = getattr(dataset, "name", type(dataset).__name__)
            raise DataError(name, "no readable training image (every one was skipped)")

    return endless(epoch)


def _augment_fn(spec, seed: int) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """Per-batch augmentation with ``spec`` (an AugmentSpec, a preset name or spec file; None or
    "none": no augmentation)."""
    if spec is None or spec == "none":
        return None

    aug = BatchAugment(spec)
    gen = torch.Generator().manual_seed(seed)

    def run(x: torch.Tensor) -> torch.Tensor:
        return aug.apply(x, aug.sample_params(x.size(0), gen))  # apply reads the parameters on the CPU

    return run


def build_optimization(model: torch.nn.Module, cfg: RecognizerTrainConfig):
    """(optimizer, scheduler) over the trainable parameters, via seqclr.train.schedule (which
    reads cfg.optimizer / lr / rho / eps / momentum / weight_decay / iterations / lr_milestones /
    lr_gamma)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: every parameter is frozen")
    optimizer = build_optimizer(params, cfg)
    return optimizer, build_scheduler(optimizer, cfg)


def recognizer_step(
    model: Recognizer, optimizer: torch.optim.Optimizer, images: torch.Tensor, labels: Sequence[str],
    trainable: Sequence[torch.Tensor], grad_clip: float | None, step: int | None = None,
) -> float:
    """One recognizer training step: loss -> finite check -> backward -> gradient clip -> optimizer
    step; returns the loss value. A non-finite loss raises FloatingPointError (naming ``step``)
    before any weight changes. :func:`train_recognizer` runs it every iteration and
    :mod:`seqclr.benchmark.presets` times it."""
    loss = model.loss(images, labels)
    value = loss.detach().item()
    if not math.isfinite(value):
        raise FloatingPointError(f"training loss is {value}" + (f" at iteration {step}" if step is not None else ""))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(trainable, grad_clip)
    optimizer.step()
    return value


class _Monitor:
    """The history, text log, progress bar and run logger of one :func:`train_recognizer` call."""

    def __init__(self, cfg: RecognizerTrainConfig, log: Callable[[str], None] | None, run_log: RunLogger | None) -> None:
        self.cfg, self.log, self.run_log = cfg, log, run_log or RunLogger("none")
        self.history: dict = {"step": [], "loss": [], "lr": [], "val": [], "best_step": None, "best_val_acc": None}
        self.running, self.count, self.images = 0.0, 0, 0
        self.start = self.window = time.time()
        self.bar = None
        if cfg.progress and log is not None:
            self.bar = tqdm(total=cfg.iterations, desc="train", unit="it", dynamic_ncols=True)

    def _say(self, message: str) -> None:
        if self.log is None:
            return
        if self.bar is None:
            self.log(message)
        else:
            with self.bar.external_write_mode():
                self.log(message)

    def step(self, step: int, loss: float, lr: float, images: int) -> None:
        """One optimizer step done: ``loss`` (its value), the ``lr`` it trained with, ``images`` in its batch."""
        self.running, self.count, self.images = self.running + loss, self.count + 1, self.images + images
        if self.bar is not None:
            self.bar.update()
        if step % self.cfg.log_every and step != self.cfg.iterations:
            return
        mean, elapsed = self.running / self.count, time.time() - self.window
        ips = self.images / elapsed if elapsed > 0 else None
        self.history["step"].append(step)
        self.history["loss"].append(mean)
        self.history["lr"].append(lr)
        self.run_log.log_scalars(step, {"train/loss": mean, "train/lr": lr, "train/images_per_s": ips})
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{mean:.4f}", lr=f"{lr:.3g}", img_s=f"{ips or 0:.1f}", refresh=False)
        else:
            self._say(f"iter {step}/{self.cfg.iterations}  loss {mean:.4f}  lr {lr:.3g}  {time.time() - self.start:.1f}s")
        self.running, self.count, self.images, self.window = 0.0, 0, 0, time.time()

    def validated(self, step: int, metrics: dict) -> None:
        self.history["val"].append({"step": step, "seconds": round(time.time() - self.start, 2), **metrics})
        self.run_log.log_scalars(step, {f"val/{k}": metrics[k] for k in VAL_METRICS})
        self._say(f"iter {step}: val acc {metrics['acc']:.4f}  ed1 {metrics['ed1']:.4f}")
        if self.bar is not None:
            self.bar.set_postfix(val_acc=f"{metrics['acc']:.4f}", refresh=False)
        self.window = time.time()  # images/s counts training time only

    def close(self) -> dict:
        if self.bar is not None:
            self.bar.close()
        self.history["train_seconds"] = round(time.time() - self.start, 2)
        return self.history


def train_recognizer(
    model: Recognizer,
    train_set,
    indices: Sequence[int],
    cfg: RecognizerTrainConfig,
    device: torch.device,
    val_set=None,
    log: Callable[[str], None] | None = print,
    run_log: RunLogger | None = None,
) -> dict:
    """Train ``model`` on ``train_set[indices]`` for cfg.iterations; returns a history dict
    (per-log-step loss and lr, validation accuracies, best step). ``log=None``: quiet (no bar);
    ``run_log``: where the curves go (see the module docstring)."""
    model.to(device)
    optimizer, scheduler = build_optimization(model, cfg)
    trainable = [p for p in model.parameters() if p.requires_grad]
    augment = _augment_fn(cfg.augmentation_spec, cfg.seed)  # the preset's or spec file's, read at validation
    batches = _batches(train_set, EpochBatches(indices, cfg.batch_size, cfg.seed), cfg.num_workers)
    monitor = _Monitor(cfg, log, run_log)
    history = monitor.history
    best_state, best_acc = None, -math.inf
    validate = cfg.val_every > 0 and val_set is not None and len(val_set) > 0
    try:
        for step in range(1, cfg.iterations + 1):
            model.train()
            batch = next(batches)
            images = batch["image"].to(device, non_blocking=True)
            if augment is not None:
                images = augment(images)
            lr = optimizer.param_groups[0]["lr"]  # the rate this iteration trains with
            value = recognizer_step(model, optimizer, images, batch["label"], trainable, cfg.grad_clip, step)
            scheduler.step()
            monitor.step(step, value, lr, images.size(0))
            if validate and (step % cfg.val_every == 0 or step == cfg.iterations):
                metrics, _ = evaluate_recognizer(model, val_set, cfg.eval_batch_size, device, cfg.case_sensitive, cfg.num_workers)
                monitor.validated(step, metrics)
                if metrics["acc"] > best_acc:
                    best_acc, history["best_step"], history["best_val_acc"] = metrics["acc"], step, metrics["acc"]
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    finally:
        monitor.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


@torch.no_grad()
def evaluate_recognizer(
    model: Recognizer,
    dataset,
    batch_size: int,
    device: torch.device,
    case_sensitive: bool = True,
    num_workers: int = 0,
    progress: bool = False,
) -> tuple[dict, list[dict]]:
    """(metrics, predictions) on ``dataset``: metrics = evaluate_predictions(...); predictions =
    [{"index", "label", "prediction"}] in dataset order (index = the item's index in the dataset).
    Items skipped under ``on_error: skip`` are not scored (noted in ``dataset``, see
    seqclr.data.skips). ``progress``: a tqdm bar (batches, with ETA)."""
    if len(dataset) == 0:
        raise ValueError("evaluate_recognizer: the evaluation set is empty")
    was_training = model.training
    model.eval()
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, collate_fn=_collate, num_workers=num_workers
    )
    rows: list[dict] = []
    if progress:
        loader = tqdm(loader, desc="evaluate", unit="batch", dynamic_ncols=True)
    for batch in loader:
        note_skipped(dataset, batch["skipped"])
        if not len(batch["label"]):
            continue
        preds = model.predict(batch["image"].to(device))
        for i, label, pred in zip(batch["index"].tolist(), batch["label"], preds):
            rows.append({"index": int(i), "label": label, "prediction": pred})
    model.train(was_training)
    if not rows:
        raise ValueError("evaluate_recognizer: every image of the evaluation set was skipped (unreadable)")
    metrics = evaluate_predictions([r["prediction"] for r in rows], [r["label"] for r in rows], case_sensitive)
    return metrics, rows
