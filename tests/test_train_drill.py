"""The fault drill: real SIGKILLs of `python -m seqclr.train.pretrain`, a truncated checkpoint, and
an end result identical (bytes, bits) to an uninterrupted run. The full drill (20+ kills) is
`python -m seqclr.train.drill`; this runs it with a few kills."""

from __future__ import annotations

import json

import pytest
import torch

from seqclr.train.drill import compare_runs, drill, drill_config


@pytest.mark.slow
def test_drill_survives_kills_and_a_truncated_checkpoint(tmp_path):
    fig = drill(tmp_path / "drill", kills=4, truncate_every=1, seed=1, iterations=40, log=lambda m: None)
    # a truncation needs two checkpoints on disk at the kill, which the random timing may not give
    assert fig["kills"] == 4 and fig["fell_back_to_previous"] >= min(1, fig["truncations"]), fig
    assert fig["passed"] and fig["loss_csv_identical"] and fig["weights_identical"] and fig["final_steps"] == 40, fig


def test_compare_runs_sees_one_flipped_bit_and_one_changed_byte(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "loss.csv").write_text("step,loss,lr\n1,4.5,10.0\n")
        torch.save({"state_dict": {"w": torch.ones(3)}}, d / "encoder.pt")
    assert compare_runs(a, b)["loss_csv_identical"] and compare_runs(a, b)["weights_identical"]
    w = torch.ones(3)
    w[1] = torch.nextafter(torch.tensor(1.0), torch.tensor(2.0))
    torch.save({"state_dict": {"w": w}}, b / "encoder.pt")
    (b / "loss.csv").write_text("step,loss,lr\n1,4.50,10.0\n")
    got = compare_runs(a, b)
    assert not got["weights_identical"] and got["tensors_differing"] == ["w"] and not got["loss_csv_identical"]


def test_drill_config_resumes_and_crosses_epochs(tmp_path):
    cfg = drill_config(tmp_path, iterations=120)
    assert cfg.resume is True and cfg.train_size // cfg.batch_size < cfg.checkpoint_every < cfg.iterations
    assert json.loads(json.dumps(cfg.to_dict()))["device"] == "cpu"
