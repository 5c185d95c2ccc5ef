"""Each recipe-sweep candidate's encoder preset, timed side by side on the CPU: the step-time half of
"accuracy per CPU-minute" (seqclr.evaluate.recipe_sweep measures the accuracy half).

Wall times of sweep runs that shared the machine with other jobs do not compare; steps timed in one
process, in interleaved rounds (best kept), do. The result goes into the sweep's sweep.json
("preset_speed") and its table gains the step time and the accuracy per CPU-minute it implies.

    .venv/bin/python -m seqclr.benchmark.presets --reference outputs/reference/hw-v2/sweep
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import torch

from seqclr.benchmark.timing import time_interleaved
from seqclr.evaluate.loop import build_optimization, recognizer_step
from seqclr.evaluate.protocol import build_model
from seqclr.evaluate.recipe_sweep import CANDIDATES, candidate_config, sweep_table
from seqclr.evaluate.results import _write_json, read_json
from seqclr.evaluate.study import hardware
from seqclr.exits import guarded


def preset_speed(names: list[str], batch_size: int = 32, threads: int = 1, steps: int = 5, repeat: int = 3) -> dict:
    """Seconds per supervised CTC training step (seqclr.evaluate.loop.recognizer_step, the step the
    recognizers train with, with the candidate's optimizer) of each candidate's encoder preset on ``threads`` CPU threads, timed side by side (interleaved rounds, best
    kept), so a busy machine slows every preset alike and the ratios hold where wall times do not."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        first = {}  # preset -> the first candidate using it (one timing per preset)
        for name in names:
            first.setdefault(CANDIDATES[name]["encoder"], name)
        fns = {}
        for preset, name in first.items():
            cfg = candidate_config(name, Path("unused"), 1, 1)
            model = build_model(cfg, freeze_encoder=False).train()
            optimizer, _ = build_optimization(model, cfg)
            trainable = [p for p in model.parameters() if p.requires_grad]
            images, labels = torch.rand(batch_size, 1, cfg.height, cfg.width), ["Word,"] * batch_size
            fns[preset] = functools.partial(recognizer_step, model, optimizer, images, labels, trainable, cfg.grad_clip)
        seconds = time_interleaved(fns, steps, repeat, "cpu")
    finally:
        torch.set_num_threads(previous)
    return {k: {"step_s": v, "images_per_s": batch_size / v, "batch_size": batch_size, "threads": threads}
            for k, v in seconds.items()}



@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", default="outputs/reference/hw-v2/sweep", help="the sweep's folder (sweep.json)")
    parser.add_argument("--only", nargs="+", default=None, choices=sorted(CANDIDATES), help="candidates whose presets to time")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    path = Path(args.reference) / "sweep.json"
    summary = read_json(path)
    summary["preset_speed"] = preset_speed(list(args.only or CANDIDATES), threads=args.threads)
    summary["preset_speed_hardware"] = hardware()
    _write_json(path, summary)
    (Path(args.reference) / "sweep.md").write_text(sweep_table(summary))
    print(json.dumps(summary["preset_speed"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
