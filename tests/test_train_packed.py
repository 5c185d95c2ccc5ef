"""Pretraining reads a packed folder (``data: packed``): the same images, in the same deterministic,
resumable, rank-split order, as the uint8 cache of the source it packs, and trains like it; the
config rejects a missing, incomplete or mismatched pack before any compute."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
import torch

from seqclr.cli_pack import main as pack_cli
from seqclr.config import ParameterError
from seqclr.train.checkpoint import load_checkpoint
from seqclr.train.config import PretrainConfig
from seqclr.train.data import BatchSource, PackedSource, build_batches
from seqclr.train.loop import pretrain, read_loss_csv

N, B = 64, 16  # images in the pack, global batch: 4 steps per epoch


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packed") / "hw"
    pack_cli(["synthetic-handwriting", str(root), "--size", str(N)])  # the command the README gives
    return root


def config(path, **kw) -> PretrainConfig:
    base = dict(data="packed", train_source={} if path is None else {"path": str(path)}, train_size=N, batch_size=B,
                seed=5, device="cpu", progress=False)  # fmt: skip
    return PretrainConfig(**{**base, **kw})


def _equal(xs: list[torch.Tensor], ys: list[torch.Tensor]) -> bool:
    return len(xs) == len(ys) and all(torch.equal(x, y) for x, y in zip(xs, ys))


def test_packed_batches_equal_the_source_cache(pack):
    packed = build_batches(config(pack))
    cached = build_batches(config(pack).replace(data="synthetic-handwriting", train_source={}))  # renders, cache_data
    assert isinstance(packed, PackedSource) and isinstance(cached, BatchSource) and cached.cache is not None
    assert len(packed) == len(cached) == N // B
    firsts = []
    for epoch in (0, 1):
        cached.sampler.set_position(epoch)
        assert [i.tolist() for i in packed.batches.batch_indices(epoch)] == list(cached.sampler)
        got, want = list(packed.epoch_batches(epoch)), list(cached.epoch_batches(epoch))
        assert all(x.dtype == torch.float32 and x.shape == (B, 1, 32, 100) for x in got)
        assert _equal(got, want)  # bitwise: uint8 / 255 on both paths
        assert 0.0 <= got[0].min() < 0.5 < got[0].max() <= 1.0  # real words: ink on paper
        firsts.append(got[0])
    assert not torch.equal(*firsts)  # every epoch is reshuffled


def test_resume_gives_the_tail_of_the_epoch(pack):
    src = build_batches(config(pack))
    for epoch in (0, 3):
        full = list(src.epoch_batches(epoch))
        assert len(full) == N // B
        for start in (1, 3):
            assert _equal(list(src.epoch_batches(epoch, start)), full[start:])
    restarted = build_batches(config(pack))  # a new process resuming at (3, 2)
    assert _equal(list(restarted.epoch_batches(3, 2)), full[2:])
    other_seed = build_batches(config(pack, seed=6))
    assert not torch.equal(next(iter(other_seed.epoch_batches(3))), full[0])
    with pytest.raises(ValueError, match="step 5 outside"):
        next(iter(src.epoch_batches(0, N // B + 1)))


def test_two_ranks_split_every_global_batch(pack):
    whole = build_batches(config(pack))
    ranks = [build_batches(config(pack), rank=r, world_size=2) for r in (0, 1)]
    for epoch in (0, 1):
        idx = [r.batches.batch_indices(epoch) for r in ranks]
        for step, full in enumerate(whole.batches.batch_indices(epoch)):
            a, b = set(idx[0][step].tolist()), set(idx[1][step].tolist())
            assert len(a) == len(b) == B // 2 and not a & b and a | b == set(full.tolist())
        for r, src in enumerate(ranks):  # the slices BatchSource's sampler gives that rank
            src.sampler.set_position(epoch)
            assert list(src.sampler) == [i.tolist() for i in idx[r]]
        halves = [list(src.epoch_batches(epoch)) for src in ranks]
        for step, full in enumerate(whole.epoch_batches(epoch)):
            assert halves[0][step].shape == (B // 2, 1, 32, 100)
            assert torch.equal(torch.cat([halves[0][step], halves[1][step]]), full)


def test_pretraining_on_a_pack_trains_like_the_source(pack, tmp_path):
    # train_size keeps the pack's first 32 images, as it does for the other sources
    cfg = config(pack, train_size=32, batch_size=8, iterations=3, checkpoint_every=2, log_every=1,
                 output_dir=str(tmp_path / "packed"))  # fmt: skip
    metrics = pretrain(cfg)
    out = Path(cfg.output_dir)
    assert metrics["steps"] == 3 and metrics["config"]["data"] == "packed"
    losses = read_loss_csv(out / "loss.csv")["loss"]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert load_checkpoint(out / "last.pt")["step"] == 3 and (out / "encoder.pt").stat().st_size > 0
    source = cfg.replace(data="synthetic-handwriting", train_source={}, output_dir=str(tmp_path / "rendered"))
    pretrain(source)
    assert read_loss_csv(tmp_path / "rendered" / "loss.csv")["loss"] == losses


def test_bad_packs_are_rejected_naming_folder_and_key(pack, tmp_path):
    def folder(path) -> str:
        return re.escape(repr(str(path)))

    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match=rf"train_source path {folder(missing)} .*not found.*python -m seqclr\.cli_pack"):
        config(missing)
    with pytest.raises(ValueError, match=r"data 'packed' needs train_source: \{path: "):
        config(None)
    with pytest.raises(ValueError, match=rf"train_source path {folder(pack)}: the pack's images have width 100 .*width is 64"):
        config(pack, width=64)
    with pytest.raises(ValueError, match=rf"train_source path {folder(pack)}: the pack's charset 'english95'.*'case_insensitive36'"):
        config(pack, charset="case_insensitive36")  # english95 keeps "A", "!" ... that it drops
    config(pack, charset="french")  # a superset drops nothing the pack holds
    with pytest.raises(ValueError, match=rf"train_source path {folder(pack)}: 8 images .*batch_size 16"):
        config(pack, train_size=8)
    with pytest.raises(ValueError, match=r"train_source must hold only 'path' for data 'packed'"):
        config(pack, train_source={"path": str(pack), "split": "test"})

    broken = tmp_path / "broken"
    shutil.copytree(pack, broken)
    (broken / "labels.json").unlink()
    with pytest.raises(ValueError, match=rf"train_source path {folder(broken)} is not a complete packed dataset: .*labels\.json missing"):
        config(broken)

    params = tmp_path / "run.yaml"
    params.write_text(f"data: packed\ntrain_source: {{path: {missing}}}\n")
    with pytest.raises(ParameterError, match=rf"run\.yaml: train_source path {folder(missing)}"):
        PretrainConfig.from_yaml(params)
