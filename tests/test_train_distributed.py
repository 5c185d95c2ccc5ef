"""Two CPU processes (gloo) through the same code path as multi-GPU runs: the elastic launcher,
the process group from the environment, DDP, the rank-split sampler, cross-rank negatives;
only rank 0 writes files."""

from __future__ import annotations

import itertools
import json
import math
import os
import socket
import types
import zlib

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from seqclr.train.checkpoint import load_checkpoint
from seqclr.train.config import PretrainConfig
from seqclr.train.distributed import launch_local
from seqclr.train.loop import read_loss_csv
from seqclr.train.sampler import DeterministicBatchSampler


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


# ------------------------------------------------------------------------------------------
# Two ranks train exactly like one process on the same global batches.
# ------------------------------------------------------------------------------------------

_STEPS = 6  # 16 images, global batch 8: 2 steps per epoch, so the run crosses two epoch boundaries


def _equivalence_config(out) -> PretrainConfig:
    """tests/test_train_loop.py's tiny() run (16 images 32 px wide, global batch 8, seed 3), for
    6 steps, with plain SGD and no clipping: SGD's update is linear in the gradient, so a
    gradient summed instead of averaged over ranks (or averaged without the loop's
    ``loss * world``) changes the weights; AdaDelta / Adam normalise the gradient's scale away
    and clipping caps it, which would hide such an error."""
    return PretrainConfig(
        data_size=16, width=32, batch_size=8, iterations=_STEPS, checkpoint_every=_STEPS, log_every=1,
        output_dir=str(out), progress=False, seed=3, device="cpu",
        optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, grad_clip=None,
    )


def _batch_independent_model(build):
    """build_model, with every BatchNorm frozen in eval mode after one calibration pass: its running
    statistics set to those of the 16 training images (the same in every process), so it stays a
    fixed per-channel affine map with trainable weight and bias, and the network keeps the
    activation scale train-mode BatchNorm gives (with the initial mean 0 / var 1 the encoder would
    barely learn). On CPU BatchNorm is per process (SyncBatchNorm needs CUDA; the loop keeps plain
    BatchNorm there), so in train mode two ranks normalise over 4 images each where one process
    normalises over 8: by design not the same training, and nothing this test can compare."""
    from seqclr.train.data import build_dataset, render_cache

    def wrapped(cfg):
        model = build(cfg)
        norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        images = render_cache(build_dataset(cfg)).float().div_(255.0)
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch, that batch's statistics
        with torch.no_grad():
            model.train()
            model.encoder(images)
        for m in norms:
            m.train = types.MethodType(lambda self, mode=True: torch.nn.Module.train(self, False), m)
            m.eval()
        return model

    return wrapped


def _per_image_views():
    """make_views drawing each image's two views from its own generator, seeded by the image's
    pixels and the step. The loop's augmentation generator is per rank (seeded by (seed, rank)) and
    draws the whole local batch at once, so one process and two ranks give an image different
    augmentations by design; per image, each image gets the same views whichever rank holds it,
    through the configured (random) SeqCLR pipeline. One image per call also keeps batch-wide
    choices (the blur kernel size follows the batch's largest sigma) out of the comparison."""
    calls = itertools.count()

    def views(augment, images, cfg, generator):
        step = next(calls)  # one call per step on every rank
        xs_a, xs_b = [], []
        for image in images.unbind(0):
            seed = zlib.crc32(image.numpy().tobytes()) * 1000 + step
            g = torch.Generator().manual_seed(seed)
            xs_a.append(augment(image[None], generator=g))
            xs_b.append(augment(image[None], generator=g))
        return torch.cat(xs_a), torch.cat(xs_b), None

    return views


def _train(rank: int, world: int, port: int, cfg_dict: dict, weights: str) -> None:
    """One process of the comparison (mp.spawn entry, or called in-line for world 1): pretrain
    with the environment torchrun would give (D.setup starts a gloo group from it), the two
    patches above, and this rank's final weights saved to ``weights.format(rank)``."""
    from seqclr.train import loop

    if world > 1:
        os.environ.update(
            RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
        )
        torch.set_num_threads(1)
    cfg = PretrainConfig.from_dict(cfg_dict)
    build, make_views = loop.build_model, loop.make_views
    loop.build_model, loop.make_views = _batch_independent_model(build), _per_image_views()
    try:

        def keep_final(info):
            if info.step == cfg.iterations:
                torch.save({k: v.clone() for k, v in info.model.state_dict().items()}, weights.format(rank))

        loop.pretrain(cfg, on_step=keep_final)
    finally:
        loop.build_model, loop.make_views = build, make_views


def _initial_weights(cfg: PretrainConfig) -> dict:
    from seqclr.train.loop import build_model

    torch.manual_seed(cfg.seed)  # as pretrain does before building the model
    return build_model(cfg).state_dict()


@pytest.mark.slow
def test_two_gloo_ranks_train_like_one_process(tmp_path):
    """Two gloo processes with 4 images each reproduce, step for step, one process training on the
    same global batches of 8: the logged loss curve and the final weights (of both ranks) agree
    to float32 reduction order.

    Mathematically the two runs are the same computation: each rank's loss is its share of the
    global loss over all ranks' instances (gather_with_grad), the loop scales it by the world size
    and DDP averages the gradients, which gives the gradient of the global loss; the sampler puts
    the same 8 images in every global step. What differs is the order of float32 sums (the
    similarity rows, the batch sum of every weight gradient split in two halves, the all-reduce),
    about 1e-7 relative per step, which SGD with momentum carries over 6 steps to ~1e-6. The
    tolerance, 1e-5 relative (plus 1e-7 absolute for weights near zero), leaves that margin and is
    orders below what a real error gives: a missing optimizer step leaves the weights at their
    initial values (checked: they move by far more than the tolerance), gradients not all-reduced
    make the ranks' weights diverge from each other and from the reference after the first step,
    a rank-local loss (negatives of this rank only) changes the loss at step 1 (~log(39) instead of
    ~log(79)), and a gradient off by the world size halves or doubles every SGD update.

    Made equal on purpose (see the helpers): BatchNorm kept in eval mode (per-process statistics
    on CPU) and each image's augmentation drawn from its own generator (per-rank generators)."""
    cfg = _equivalence_config(tmp_path / "one")
    _train(0, 1, 0, cfg.to_dict(), str(tmp_path / "one_rank{}.pt"))
    two = cfg.replace(output_dir=str(tmp_path / "two"))
    mp.spawn(
        _train, args=(2, _free_port(), two.to_dict(), str(tmp_path / "two_rank{}.pt")), nprocs=2, join=True
    )

    log1, log2 = read_loss_csv(tmp_path / "one" / "loss.csv"), read_loss_csv(tmp_path / "two" / "loss.csv")
    assert log1["step"] == log2["step"] == list(range(1, _STEPS + 1))
    assert log2["lr"] == log1["lr"]
    assert 0.8 * math.log(79) < log1["loss"][0] < 1.2 * math.log(79)  # global negatives: 2 x 40 instances
    np.testing.assert_allclose(log2["loss"], log1["loss"], rtol=1e-5, atol=0)

    initial = _initial_weights(cfg)
    ref = torch.load(tmp_path / "one_rank0.pt")
    ranks = [torch.load(tmp_path / f"two_rank{r}.pt") for r in range(2)]
    assert ref.keys() == initial.keys() == ranks[0].keys() == ranks[1].keys()
    moved = max(float((ref[k] - initial[k]).abs().max()) for k in ref if ref[k].is_floating_point())
    assert moved > 1e-2  # the optimizer stepped: far beyond the tolerance below
    for r, weights in enumerate(ranks):
        for k in ref:
            torch.testing.assert_close(weights[k], ref[k], rtol=1e-5, atol=1e-7, msg=lambda m: f"rank {r}, {k}: {m}")
    # rank 0's files hold the same weights: encoder.pt / last.pt are written from them
    saved = load_checkpoint(tmp_path / "two" / "last.pt")["model"]
    for k in ref:
        torch.testing.assert_close(saved[k], ranks[0][k], rtol=0, atol=0)
