"""The fault drill: a real pretraining run killed with SIGKILL at random moments, resumed every
time (sometimes after its newest checkpoint was truncated, as a torn write on a failing disk
would leave it), must end exactly where an uninterrupted run ends.

    .venv/bin/python -m seqclr.train.drill --kills 20 --out outputs/drill

Each attempt is a fresh ``python -m seqclr.train.pretrain`` process on the drill's tiny config
with ``resume: true``; it is killed after a random time drawn between just before the end of the
process start and the uninterrupted run's wall time (so kills land in data rendering, between
checkpoints, during checkpoint writes and in the final outputs). Every ``--truncate-every``-th kill also cuts the newest ``last.pt`` in half. After the
last kill the run is resumed to its end. The drill passes when ``loss.csv`` is byte-identical to
the uninterrupted run's and every tensor of ``encoder.pt`` is bit-identical; it prints its
figures (kills delivered, kills after which the run had progressed, truncations, resumptions
from a checkpoint, fallbacks to the previous checkpoint) as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from seqclr.train.checkpoint import LAST, CheckpointError, load_checkpoint
from seqclr.train.config import PretrainConfig
from seqclr.exits import guarded


def drill_config(out: Path, iterations: int = 120) -> PretrainConfig:
    """The drill's run: the tiny encoder on 48 rendered words of 32x32, batch 8 (6 steps per
    epoch, so kills cross epoch boundaries), a checkpoint every 7 steps, one log row per step."""
    return PretrainConfig(
        train_size=48, width=32, batch_size=8, iterations=iterations, checkpoint_every=7, log_every=1,
        output_dir=str(out), progress=False, seed=5, device="cpu", num_workers=0, resume=True,
    )


def _start(cfg_file: Path, log_file: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")  # the same threads in every attempt
    with open(log_file, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "seqclr.train.pretrain", "-f", str(cfg_file)],
                                stdout=log, stderr=subprocess.STDOUT, env=env)


def _run_to_end(cfg_file: Path, log_file: Path, timeout: float = 600) -> float:
    t = time.time()
    proc = _start(cfg_file, log_file)
    if proc.wait(timeout) != 0:
        raise RuntimeError(f"drill: the run of {cfg_file} failed (exit {proc.returncode}); see {log_file}")
    return time.time() - t


def _checkpoint_step(folder: Path) -> int | None:
    try:
        return int(load_checkpoint(folder / LAST)["step"])
    except CheckpointError:
        return None


def compare_runs(a: Path, b: Path) -> dict:
    """Whether two run folders hold the same result: loss.csv bytes, encoder.pt tensors (bits)."""
    csv_equal = (a / "loss.csv").read_bytes() == (b / "loss.csv").read_bytes()
    ea = torch.load(a / "encoder.pt", weights_only=True)["state_dict"]
    eb = torch.load(b / "encoder.pt", weights_only=True)["state_dict"]
    differing = sorted(k for k in ea if k not in eb or not torch.equal(ea[k], eb[k]))
    return {"loss_csv_identical": csv_equal, "weights_identical": not differing and ea.keys() == eb.keys(),
            "tensors_differing": differing[:5]}


def drill(out: Path, kills: int = 20, truncate_every: int = 4, seed: int = 0, iterations: int = 120, log=print) -> dict:
    """Run the drill in ``out`` (wiped first); returns its figures (see the module docstring)."""
    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    ref_dir, run_dir = out / "uninterrupted", out / "killed"
    logs = out / "logs"
    logs.mkdir(parents=True)
    for d in (ref_dir, run_dir):
        drill_config(d, iterations).to_yaml(out / f"{d.name}.yaml")
    ref_seconds = _run_to_end(out / "uninterrupted.yaml", logs / "uninterrupted.log")
    # the process start (imports) before pretrain() begins: kills are drawn mostly after it
    startup = max(0.2, ref_seconds - json.loads((ref_dir / "metrics.json").read_text())["wall_time_s"])
    log(f"uninterrupted run: {ref_seconds:.1f}s ({startup:.1f}s of it starting the process)")
    rng = random.Random(seed)
    fig = {"kills": 0, "kills_mid_run": 0, "startup_seconds": round(startup, 1), "truncations": 0, "finished_before_kill": 0,
           "uninterrupted_seconds": round(ref_seconds, 1)}
    while fig["kills"] < kills:
        before = _checkpoint_step(run_dir)
        proc = _start(out / "killed.yaml", logs / "killed.log")
        try:
            proc.wait(rng.uniform(0.8 * startup, ref_seconds))
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.returncode == 0:  # finished before the kill came: start over to keep killing
            fig["finished_before_kill"] += 1
            shutil.rmtree(run_dir)
            continue
        if proc.returncode != -signal.SIGKILL:
            raise RuntimeError(f"drill: an attempt failed by itself (exit {proc.returncode}); see {logs / 'killed.log'}")
        fig["kills"] += 1
        after = _checkpoint_step(run_dir)
        fig["kills_mid_run"] += after is not None and after != before  # the run had trained since the last kill
        # truncate only with a fallback beside it: a lone damaged checkpoint is refused, not survived
        if fig["kills"] % truncate_every == 0 and (run_dir / LAST).exists() and (run_dir / "last.prev.pt").exists():
            data = (run_dir / LAST).read_bytes()
            (run_dir / LAST).write_bytes(data[: len(data) // 2])
            fig["truncations"] += 1
        log(f"kill {fig['kills']}: checkpoint step {before} -> {after}")
    _run_to_end(out / "killed.yaml", logs / "killed.log")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    text = (logs / "killed.log").read_text()
    fig["resumed_from_checkpoint"] = sum(line.startswith("resume: ") and "(step" in line for line in text.splitlines())
    fig["fell_back_to_previous"] = text.count("falling back to the previous checkpoint")
    fig |= compare_runs(ref_dir, run_dir) | {"final_steps": metrics.get("steps")}
    fig["passed"] = fig["loss_csv_identical"] and fig["weights_identical"] and metrics.get("steps") == iterations
    return fig


@guarded
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="outputs/drill")
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--truncate-every", type=int, default=4, help="truncate last.pt after every N-th kill")
    p.add_argument("--iterations", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    fig = drill(Path(a.out), a.kills, a.truncate_every, a.seed, a.iterations)
    print(json.dumps(fig))
    return 0 if fig["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
