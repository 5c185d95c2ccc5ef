"""Checkpoints: atomic replacement, previous one kept, truncation / corruption detected with a
fallback to the previous good file, weights_only loading, encoder export."""

from __future__ import annotations

import pickle

import pytest
import torch

from seqclr.models.encoder import SequenceEncoder, get_encoder_config
from seqclr.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_encoder,
    load_latest,
    save_checkpoint,
    save_encoder,
)
from seqclr.train.config import PretrainConfig


def _state(step: int) -> dict:
    g = torch.Generator().manual_seed(step)
    return {
        "step": step,
        "model": {"w": torch.randn(64, 64, generator=g), "b": torch.randn(64, generator=g)},
        "rng": [{"torch": torch.get_rng_state()}],
        "config": {"lr": 10.0, "lr_milestones": [0.6, 0.8], "resume": False},
    }


def test_save_keeps_previous_and_loads_weights_only(tmp_path):
    save_checkpoint(_state(1), tmp_path)
    save_checkpoint(_state(2), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.prev.pt", "last.pt"]  # no temp files left
    last, prev = load_checkpoint(tmp_path / "last.pt"), load_checkpoint(tmp_path / "last.prev.pt")
    assert last["step"] == 2 and prev["step"] == 1
    torch.testing.assert_close(last["model"]["w"], _state(2)["model"]["w"], rtol=0, atol=0)
    # plain torch.load with weights_only=True reads the file (no pickled classes inside)
    raw = torch.load(tmp_path / "last.pt", weights_only=True)
    assert raw["state"]["config"]["lr_milestones"] == [0.6, 0.8]


def test_failed_save_leaves_the_old_checkpoint_intact(tmp_path):
    save_checkpoint(_state(1), tmp_path)
    bad = _state(2)
    bad["hook"] = lambda: None  # cannot be pickled: torch.save fails mid-way
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        save_checkpoint(bad, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 1


def test_truncated_checkpoint_detected_and_previous_used(tmp_path):
    save_checkpoint(_state(1), tmp_path)
    save_checkpoint(_state(2), tmp_path)
    last = tmp_path / "last.pt"
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=rf"{last}: unreadable checkpoint"):
        load_checkpoint(last)
    with pytest.warns(RuntimeWarning, match=r"last\.pt.*falling back to the previous checkpoint .*last\.prev\.pt"):
        state, used = load_latest(tmp_path)
    assert used.name == "last.prev.pt" and state["step"] == 1
    (tmp_path / "last.prev.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"no usable checkpoint"):
        load_latest(tmp_path)


def test_save_after_a_fallback_keeps_the_good_previous_checkpoint(tmp_path):
    """Resumed from last.prev.pt because last.pt is truncated: the next save must not rotate the
    truncated file into last.prev.pt (that would discard the only good fallback)."""
    save_checkpoint(_state(1), tmp_path)
    save_checkpoint(_state(2), tmp_path)
    last = tmp_path / "last.pt"
    last.write_bytes(last.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="falling back"):
        state, _ = load_latest(tmp_path)
    with pytest.warns(RuntimeWarning, match=r"last\.pt: not a usable checkpoint; replaced, .*last\.prev\.pt kept"):
        save_checkpoint(_state(state["step"] + 1), tmp_path)
    assert load_checkpoint(tmp_path / "last.prev.pt")["step"] == 1 and load_checkpoint(last)["step"] == 2
    save_checkpoint(_state(3), tmp_path)  # a good last.pt rotates as usual
    assert load_checkpoint(tmp_path / "last.prev.pt")["step"] == 2 and load_checkpoint(last)["step"] == 3


def test_corrupt_tensor_bytes_detected(tmp_path):
    save_checkpoint(_state(3), tmp_path)
    last = tmp_path / "last.pt"
    data = bytearray(last.read_bytes())
    # flip bytes inside the stored tensor data (the zip records of tensors are stored uncompressed)
    needle = _state(3)["model"]["w"][10].numpy().tobytes()[:16]
    pos = bytes(data).find(needle)
    assert pos > 0
    data[pos : pos + 8] = bytes(b ^ 0xFF for b in data[pos : pos + 8])
    last.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=rf"{last}: (checkpoint is corrupt|unreadable)"):
        load_checkpoint(last)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt: not a seqclr pretraining checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_encoder_round_trip(tmp_path):
    torch.manual_seed(0)
    enc = SequenceEncoder(get_encoder_config("tiny")).eval()
    cfg = PretrainConfig(batch_size=8)
    path = save_encoder(tmp_path / "encoder.pt", enc, cfg)
    back = load_encoder(path)
    x = torch.rand(2, 1, 32, 64)
    with torch.no_grad():
        torch.testing.assert_close(back(x).H, enc(x).H)
    assert back.cfg == enc.cfg and back.pretrain_config["batch_size"] == 8
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(CheckpointError, match=rf"{path}"):
        load_encoder(path)
