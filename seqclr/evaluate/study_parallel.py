"""The study's runs spread over worker processes (``python -m seqclr.evaluate.study --workers N``).

One machine, several processes: on a GPU machine a small recognizer is bound by kernel launches
on one CPU core, so N processes sharing the GPU finish N runs in about the time of one; on a CPU
they split the cores. The runs and their configs are exactly the serial study's (same names, same
results folders, same resume rule); only the order in which they finish changes.

- The coordinator renders the three splits once, with every core (``render_items``), and saves
  them to ``out``/splits-<digest>.pt; every worker loads that file, so every run sees the same images
  as in the serial study.
- Pretrainings are submitted first; a run that needs a pretrained encoder is submitted when its
  pretraining has finished; runs of "none" (random encoder, supervised baseline) start at once.
- Only the coordinator writes ``study.json`` (after every finished run), so nothing races.
- The workers die with the coordinator: a study killed by any signal leaves no worker training on,
  which would write into the run folders that the restarted study redoes.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

from seqclr.data.fonts import SPLITS
from seqclr.data.skips import Skipped, skipped_report
from seqclr.evaluate.data import build_split
from seqclr.evaluate.protocol import run_protocol
from seqclr.evaluate.results import _write_json
from seqclr.evaluate.study_jobs import MemoryWords, copy_run, pretrain_summary
from seqclr.train.loop import pretrain

_SPLITS: dict[str, dict] = {}  # per worker process: splits file -> {split: MemoryWords}


def _by_value(items: list) -> list:
    """Tensors as numpy arrays: pickled by value, not handed over as one file descriptor each
    (thousands of those exhaust the open-file limit: "received 0 items of ancdata")."""
    return [it if not isinstance(it, dict) else {k: v.numpy() if torch.is_tensor(v) else v for k, v in it.items()}
            for it in items]  # fmt: skip


def render_items(dataset, num_workers: int) -> list:
    """Every item of ``dataset`` in order, rendered by ``num_workers`` processes (0 = here); an
    item skipped under ``on_error: skip`` stays a Skipped record (MemoryWords.from_items drops
    it), and the items skipped when the source was built are appended as Skipped records."""
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=64, shuffle=False, num_workers=num_workers, collate_fn=_by_value
    )
    items = [it if not isinstance(it, dict) else {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                                                  for k, v in it.items()}
             for chunk in loader for it in chunk]  # fmt: skip
    seen = {it.where for it in items if isinstance(it, Skipped)}
    items += [Skipped(e["where"], e["reason"], -1) for e in skipped_report(dataset) if e["where"] not in seen]
    return items


def splits_file(out: Path, cfg) -> Path:
    """Where the rendered splits of ``cfg`` (a recognizer config) are saved: keyed by every field
    that decides their images, so another scale or benchmark never reuses them."""
    keys = ("data", "data_seed", "charset", "height", "width", "train_source", "val_source", "test_source",
            "train_size", "val_size", "test_size")
    d = cfg.to_dict()
    digest = hashlib.sha1(json.dumps({k: d.get(k) for k in keys}, sort_keys=True, default=str).encode()).hexdigest()
    return out / f"splits-{digest[:12]}.pt"


def render_splits(cfg, path: Path, num_workers: int, log=print) -> None:
    """Render the train, val and test splits of ``cfg`` once and save them to ``path``."""
    if path.exists():
        log(f"splits: {path} (rendered earlier)")
        return
    t = time.time()
    items = {split: render_items(build_split(cfg, split), num_workers) for split in SPLITS}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(items, tmp)
    os.replace(tmp, path)  # a killed render leaves no half file behind
    log(f"rendered {', '.join(f'{k} {len(v)}' for k, v in items.items())} with {num_workers} workers in {time.time() - t:.1f}s")


def _load_splits(path: str) -> dict:
    if path not in _SPLITS:
        items = torch.load(path, weights_only=False)
        _SPLITS[path] = {split: MemoryWords.from_items(v) for split, v in items.items()}
    return _SPLITS[path]


def exit_with_parent(parent: int, every: float = 0.5) -> threading.Thread:
    """Watch, from a daemon thread, that ``parent`` is still this process's parent; exit at once when
    it is gone (an orphan is handed to another parent). A ProcessPoolExecutor's workers otherwise
    outlive a coordinator killed by SIGTERM or SIGKILL, and finish their runs unseen."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def _init_worker(threads: int, parent: int) -> None:
    torch.set_num_threads(threads)
    exit_with_parent(parent)


def _evaluate_one(protocol: str, name: str, cfg, reference: str, splits: str) -> tuple[str, dict]:
    result = run_protocol(cfg, protocol, datasets=_load_splits(splits), log=None)
    copy_run(Path(cfg.output_dir), Path(reference) / "runs" / name)
    return name, {**result.metrics, "seconds": result.summary["seconds"]}


def _pretrain_one(method: str, cfg, reference: str) -> tuple[str, dict]:
    t = time.time()
    metrics = pretrain(cfg)
    return method, pretrain_summary(metrics, Path(cfg.output_dir), Path(reference) / "pretrain" / method, time.time() - t)


def run_parallel(pretrains: list, runs: list, out: Path, reference: Path, summary: dict, workers: int, log=print) -> None:
    """Run ``pretrains`` [(method, PretrainConfig)] and the evaluation ``runs`` [(protocol, name,
    config)] (unfinished ones only) on ``workers`` processes; updates ``summary`` and writes it
    to ``reference``/study.json after every finished job."""
    if not pretrains and not runs:
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    waiting: dict[str, list] = {}  # pretraining method -> runs that need its encoder
    ready = []
    for run in runs:
        method = run[2].method
        (waiting.setdefault(method, []) if method in dict(pretrains) else ready).append(run)
    ctx = get_context("spawn")  # CUDA cannot be used in a forked child
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(threads, os.getpid())) as pool:
        # pretrainings first (they render their own data meanwhile), then the shared splits
        jobs = {pool.submit(_pretrain_one, m, cfg, str(reference)): ("pretrain", m) for m, cfg in pretrains}
        splits = splits_file(out, runs[0][2]) if runs else None
        if runs:
            render_splits(runs[0][2], splits, num_workers=os.cpu_count() or 1, log=log)
        jobs |= {pool.submit(_evaluate_one, p, n, c, str(reference), str(splits)): ("run", n) for p, n, c in ready}
        while jobs:
            done, _ = wait(jobs, return_when=FIRST_COMPLETED)
            for fut in done:
                kind, name = jobs.pop(fut)
                key, result = fut.result()  # a failed job stops the study with its error
                if kind == "pretrain":
                    summary["pretrain"][key] = result
                    log(f"pretrained {key}: {result}")
                    for p, n, c in waiting.pop(key, []):
                        jobs[pool.submit(_evaluate_one, p, n, c, str(reference), str(splits))] = ("run", n)
                else:
                    summary["runs"][key] = result
                    log(f"{key}: " + "  ".join(f"{k} {v:.3f}" for k, v in result.items() if k != "n"))
                _write_json(reference / "study.json", summary)
