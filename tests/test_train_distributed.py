"""Two CPU processes (gloo) through the same code path as multi-GPU runs: the elastic launcher,
the process group from the environment, DDP, the rank-split sampler, cross-rank negatives;
only rank 0 writes files."""

from __future__ import annotations

import json
import math

import numpy as np

from seqclr.train.config import PretrainConfig
from seqclr.train.distributed import launch_local
from seqclr.train.loop import read_loss_csv
from seqclr.train.sampler import DeterministicBatchSampler


def test_sampler_is_deterministic_and_splits_global_batches():
    single = DeterministicBatchSampler(20, 8, seed=5)
    ranks = [DeterministicBatchSampler(20, 8, seed=5, rank=r, world_size=2) for r in range(2)]
    for epoch in (0, 3):
        for s in [single, *ranks]:
            s.set_position(epoch)
        whole = list(single)
        parts = [list(r) for r in ranks]
        assert len(whole) == 2 and all(len(b) == 8 for b in whole)  # 20 // 8 batches, last dropped
        for step, batch in enumerate(whole):
            assert parts[0][step] + parts[1][step] == batch  # ranks share every global batch
            assert batch == single.global_batch(epoch, step).tolist()
    single.set_position(0)
    e0 = list(single)
    single.set_position(1)
    assert list(single) != e0  # a new permutation per epoch...
    single.set_position(0, 1)
    assert list(single) == e0[1:]  # ...and the same one again from any position
    assert np.array_equal(DeterministicBatchSampler(20, 8, seed=5).permutation(1), single.permutation(1))


def test_two_process_gloo_run_writes_rank0_metrics(tmp_path):
    cfg = PretrainConfig(
        data_size=16, width=32, batch_size=8, iterations=2, checkpoint_every=2, log_every=1,
        output_dir=str(tmp_path), progress=False, device="cpu", loss_chunk_size=16,
    )
    metrics = launch_local(cfg, nprocs=2)
    assert metrics["world_size"] == 2 and metrics["steps"] == 2
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["world_size"] == 2 and saved["final_loss"] == metrics["final_loss"]
    log = read_loss_csv(tmp_path / "loss.csv")
    assert log["step"] == [1, 2] and all(math.isfinite(v) for v in log["loss"])
    # the logged loss is the total over ranks: 2 x 4 images x 5 windows = 40 instances per view,
    # so a chance-level loss is about log(79); a per-rank share would be half of it
    assert 0.8 * math.log(79) < log["loss"][0] < 1.2 * math.log(79)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "config.yaml", "encoder.pt", "last.pt", "loss.csv", "loss.png", "metrics.json",
    ]
