"""A pretraining run's folder: what a new run may do to it, and what a resumed run must match.

- **A new run never clobbers a run.** With ``resume: false``, a folder that holds a run (a
  checkpoint, ``encoder.pt`` or ``metrics.json``) is refused, naming the folder, what it holds and
  the two ways on: ``resume: true`` continues it, ``overwrite: true`` first moves it aside whole to
  ``<folder>.replaced-<UTC time>`` (nothing is deleted, no files of two runs are mixed).
- **Resume is strict.** The checkpoint's config is compared with the new one: every field that
  changes what the run computes (model, method, data, batch, optimizer, lr, schedule,
  iterations, seed, augmentation) must match, or the run stops before any compute with one message
  listing each differing field (old -> new); a checkpoint written before a parameter was renamed
  is read under the new names (the config's RENAMED table). Bookkeeping fields (``BOOKKEEPING_KEYS``: logging,
  progress, workers, device, checkpoint cadence, the folder itself) may change; the new values
  are what config.yaml and metrics.json record.
"""

from __future__ import annotations

import time
from pathlib import Path

from seqclr.config import ParameterError, upgrade_keys
from seqclr.train.checkpoint import LAST, PREVIOUS
from seqclr.train.config import PretrainConfig

# Config keys that may change between a run and its resumption without changing what it computes.
BOOKKEEPING_KEYS = frozenset({
    "resume", "overwrite", "output_dir", "progress", "logger", "num_workers", "device", "checkpoint_every", "log_every",
    "cache_data",
})
RUN_FILES = (LAST, PREVIOUS, "encoder.pt", "metrics.json")


class RunFolderError(ParameterError):
    """A run folder that a new run would clobber, or a resume with another config."""


def run_files(folder: Path) -> list[str]:
    """The files of ``folder`` that make it hold a (finished or resumable) run."""
    return [name for name in RUN_FILES if (folder / name).is_file()]


def move_aside(folder: Path) -> Path:
    """Rename ``folder`` to ``<folder>.replaced-<UTC time>`` (a free name); returns the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = folder.with_name(f"{folder.name}.replaced-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{folder.name}.replaced-{stamp}-{n}")
    folder.rename(target)
    return target


def new_run_folder(cfg: PretrainConfig, log) -> None:
    """Make ``cfg.output_dir`` ready for a run from scratch: refuse a folder holding a run, or
    move it aside with ``overwrite: true``."""
    out = Path(cfg.output_dir)
    held = run_files(out)
    if not held:
        return
    if not cfg.overwrite:
        raise RunFolderError(
            f"output_dir {out} holds a run ({', '.join(held)}); resume: true continues it, overwrite: true "
            "moves it aside and starts a new one (or choose another output_dir)"
        )
    log(f"overwrite: the run in {out} moved aside to {move_aside(out)}")


def config_record(cfg: PretrainConfig) -> dict:
    """What a checkpoint stores as its config: the fields plus the SHA-256 of the augmentation spec
    they resolve to, so resuming after a spec file was edited names ``augmentation_sha256``."""
    return {**cfg.to_dict(), "augmentation_sha256": cfg.augmentation_record()["augmentation_sha256"]}


def config_diff(saved: dict, cfg: PretrainConfig) -> list[tuple[str, object, object]]:
    """(key, saved value, new value) of every computing field that differs (a key the checkpoint
    predates counts as equal; a checkpoint's old parameter names count under their new names)."""
    saved = upgrade_keys(type(cfg), saved, warn=False)
    now = config_record(cfg)
    return [(k, saved.get(k), v) for k, v in now.items() if k not in BOOKKEEPING_KEYS and saved.get(k, v) != v]


def check_resume(saved: dict, cfg: PretrainConfig, checkpoint: Path) -> None:
    """RunFolderError listing every differing computing field, before any compute."""
    diff = config_diff(saved, cfg)
    if diff:
        raise RunFolderError(
            f"resume: {checkpoint} was trained with another config ("
            + "; ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in diff)
            + "). Resume continues the same run only; for the new settings start a new run "
            "(another output_dir, or overwrite: true to move this one aside)"
        )
