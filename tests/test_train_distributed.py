"""Two CPU processes (gloo) through the same code path as multi-GPU runs: the elastic launcher,
the process group from the environment, DDP, the rank-split sampler, cross-rank negatives;
only rank 0 writes files."""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import socket
import zlib

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from seqclr.train.checkpoint import load_encoder
from seqclr.train.config import PretrainConfig
from seqclr.train.launch import launch_local
from seqclr.train.loop import build_seqclr_model, read_loss_csv
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
        train_size=16, width=32, batch_size=8, iterations=2, checkpoint_every=2, log_every=1,
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
# Two ranks train like one process on the same global batches.
# ------------------------------------------------------------------------------------------

_STEPS = 6  # 16 images, global batch 8: 2 steps per epoch, so the run crosses two epoch boundaries


def _equivalence_config(out) -> PretrainConfig:
    """tests/test_train_loop.py's tiny() run (16 images 32 px wide, global batch 8, seed 3) for 6
    steps, with plain SGD and no clipping: SGD's update is linear in the gradient, so a gradient
    summed instead of averaged over ranks (or averaged without the loop's ``loss * world``)
    changes the weights, where AdaDelta / Adam normalise the gradient's scale away and clipping
    caps it. lr 0.05 trains visibly (the loss falls from 4.28 to 3.85) while staying below the
    step sizes at which float32 rounding grows chaotically from step to step (at lr 0.1, one
    process on 1 vs 2 threads already differs by 1e-3 in the loss at step 5)."""
    return PretrainConfig(
        train_size=16, width=32, batch_size=8, iterations=_STEPS, checkpoint_every=_STEPS, log_every=1,
        output_dir=str(out), progress=False, seed=3, device="cpu",
        optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-4, grad_clip=None,
    )


def _instance_norm(bn: torch.nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.instance_norm(x, weight=bn.weight, bias=bn.bias, eps=bn.eps)


def _batch_independent_model(build):
    """build_seqclr_model, with every BatchNorm2d normalising each image on its own (instance norm with
    the layer's trainable weight and bias; running statistics untouched). On CPU, BatchNorm is per
    process (SyncBatchNorm needs CUDA, and the loop keeps plain BatchNorm there), so in train
    mode two ranks normalise over 4 images (x 2 views) each where one process normalises over 8:
    by design not the same training, so nothing this test can compare. (Freezing BatchNorm in
    eval mode instead leaves the 29-layer encoder without normalisation: with the initial running
    statistics it barely learns, with calibrated ones float32 rounding grows chaotically.)"""

    def wrapped(cfg):
        model = build(cfg)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.forward = functools.partial(_instance_norm, m)
        return model

    return wrapped


def _per_image_views():
    """make_views drawing each image's two views from its own generator, seeded by the image's
    pixels and the step. The loop's augmentation generator is per rank (seeded from (seed, rank))
    and draws parameters for the whole local batch at once, so one process and two ranks give an
    image different augmentations by design. Here every image gets the same views whichever rank
    holds it, through the configured (random) SeqCLR pipeline; one image per call also keeps
    batch-wide choices (the blur kernel size follows the batch's largest sigma) out of it."""
    calls = itertools.count()

    def views(augment, images, cfg, generator):
        step = next(calls)  # one call per step on every rank
        xs_a, xs_b = [], []
        for image in images.unbind(0):
            g = torch.Generator().manual_seed(zlib.crc32(image.numpy().tobytes()) * 1000 + step)
            xs_a.append(augment(image[None], generator=g))
            xs_b.append(augment(image[None], generator=g))
        return torch.cat(xs_a), torch.cat(xs_b), None

    return views


def _train(rank: int, world: int, port: int, cfg_dict: dict, weights: str) -> None:
    """One process of the comparison (mp.spawn's entry, or called in-line for world 1): pretrain in
    the environment torchrun would give (D.setup starts the gloo group from it) with the two
    patches above; this rank's weights after the last step go to ``weights.format(rank)``."""
    from seqclr.train import loop

    if world > 1:
        os.environ.update(
            RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
        )
    cfg = PretrainConfig.from_dict(cfg_dict)

    def keep_final(info):
        if info.step == cfg.iterations:
            torch.save({k: v.detach().clone() for k, v in info.model.state_dict().items()}, weights.format(rank))

    build, make_views, threads = loop.build_seqclr_model, loop.make_views, torch.get_num_threads()
    loop.build_seqclr_model, loop.make_views = _batch_independent_model(build), _per_image_views()
    torch.set_num_threads(1)  # the same kernels' reduction order on any machine
    try:
        loop.pretrain(cfg, on_step=keep_final)
    finally:
        loop.build_seqclr_model, loop.make_views = build, make_views
        torch.set_num_threads(threads)


def _flat(state: dict, prefix: str = "") -> torch.Tensor:
    """The floating-point entries of a state dict whose names start with ``prefix``, as one vector."""
    keys = sorted(k for k, v in state.items() if k.startswith(prefix) and v.is_floating_point())
    return torch.cat([state[k].double().flatten() for k in keys])


@pytest.mark.slow
def test_two_gloo_ranks_train_like_one_process(tmp_path):
    """Two gloo processes with 4 images each reproduce one process training on the same global
    batches of 8: the logged loss curve and the final weights (of both ranks, and encoder.pt).

    The two runs compute the same thing: each rank's loss is its share of the global loss over
    all ranks' instances (gather_with_grad), the loop scales it by the world size and DDP averages
    the gradients, which gives the gradient of the global loss; the sampler gives the same 8
    images at every step. Only the order of float32 sums differs (batch sums of the weight
    gradients split in halves, the all-reduce, the gathered similarity rows). Measured: the losses
    agree to ~1e-6 relative (1-2e-7 at most steps), so rtol 1e-5. Weight gradients are sums with
    heavy cancellation (convolutions followed by a normalisation are scale-invariant), so their
    rounding is large relative to the gradient: the final weights differ by ~7e-6 of their norm,
    1e-3 (whole model) to 3.4e-3 (encoder) of how far training moved them, as much as one process
    differs from itself on 1 vs 2 threads. So the weights must agree to 2e-2 of that movement.
    Real errors are of the order of the movement itself (measured with each injected into the
    loop: 0.3 to 1.6 of it) and change the loss curve by 5e-2 to 0.7 relative: no optimizer step
    (the weights must move: > 5e-4 of their norm; measured 6.6e-3, encoder 2.3e-3), gradients not
    all-reduced (each rank steps on its half of the batch), a gradient off by the world size (SGD
    steps twice or half as far), a rank-local loss (negatives of this rank only: ~log(39) instead
    of ~log(79) at step 1), cross-rank negatives gathered without their gradient.

    Made equal on purpose (see the helpers): BatchNorm2d normalises per image (BatchNorm is per
    process on CPU), and each image's augmentation comes from its own generator (the loop's is
    per rank)."""
    cfg = _equivalence_config(tmp_path / "one")
    _train(0, 1, 0, cfg.to_dict(), str(tmp_path / "one_rank{}.pt"))
    two = cfg.replace(output_dir=str(tmp_path / "two"))
    mp.spawn(_train, args=(2, _free_port(), two.to_dict(), str(tmp_path / "two_rank{}.pt")), nprocs=2, join=True)

    one_log, two_log = read_loss_csv(tmp_path / "one" / "loss.csv"), read_loss_csv(tmp_path / "two" / "loss.csv")
    assert one_log["step"] == two_log["step"] == list(range(1, _STEPS + 1))
    assert two_log["lr"] == one_log["lr"]
    assert 0.8 * math.log(79) < one_log["loss"][0] < 1.2 * math.log(79)  # 2 views x 8 images x 5 windows
    assert one_log["loss"][-1] < one_log["loss"][0] - 0.2  # it trains
    np.testing.assert_allclose(two_log["loss"], one_log["loss"], rtol=1e-5, atol=0)

    torch.manual_seed(cfg.seed)  # the initial weights, as pretrain builds them
    initial = build_seqclr_model(cfg).state_dict()
    ref = torch.load(tmp_path / "one_rank0.pt")
    ranks = [torch.load(tmp_path / f"two_rank{r}.pt") for r in range(2)]
    encoders = [{f"encoder.{k}": v for k, v in load_encoder(tmp_path / run / "encoder.pt").state_dict().items()}
                for run in ("one", "two")]
    assert encoders[0].keys() == {k for k in ref if k.startswith("encoder.")}
    for prefix in ("", "encoder."):  # the whole model, and the encoder alone
        moved = (_flat(ref, prefix) - _flat(initial, prefix)).norm()
        assert moved > 5e-4 * _flat(initial, prefix).norm(), prefix  # the optimizer stepped
        for name, state in [("rank 0", ranks[0]), ("rank 1", ranks[1]), ("encoder.pt", encoders[1])]:
            if prefix or name != "encoder.pt":
                drift = (_flat(state, prefix) - _flat(ref, prefix)).norm()
                where = f"{name} {prefix or 'model'}"
                assert drift < 2e-2 * moved, f"{where}: {drift:.3g} from one process's, which moved {moved:.3g}"
    assert torch.equal(_flat(encoders[0], "encoder."), _flat(ref, "encoder."))  # encoder.pt: the final weights
    for state in (ranks[1], encoders[1]):  # non-float entries (num_batches_tracked) untouched alike
        assert all(torch.equal(v, ref[k]) for k, v in state.items() if not v.is_floating_point())
