"""The recipe sweep scores on the validation families only (the test split is never built),
writes its table, and skips finished candidates on a rerun."""

from __future__ import annotations

import json

import pytest

import seqclr.evaluate.recipe_sweep as sweep


def test_every_candidate_is_a_valid_config(tmp_path):
    for name in sweep.CANDIDATES:
        cfg = sweep.candidate_config(name, tmp_path, 64, 16)
        assert cfg.random_init and cfg.label_fraction == 1.0 and cfg.val_every > 0
        assert cfg.train_source == cfg.val_source == {"benchmark": "hw-v2"}


@pytest.mark.slow
def test_sweep_never_builds_the_test_split_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "CANDIDATES", {"toy": dict(encoder="tiny", iterations=3, batch_size=4)})
    monkeypatch.setattr(sweep, "COMMON", dict(sweep.COMMON, warmup_iterations=0, batch_size=4))
    built = []
    real = sweep.build_split
    monkeypatch.setattr(sweep, "build_split", lambda cfg, split: built.append(split) or real(cfg, split))
    s = sweep.run_sweep(tmp_path / "out", tmp_path / "ref", train_size=16, val_size=8, log=lambda m: None)
    assert sorted(built) == ["train", "val"]
    row = s["candidates"]["toy"]
    assert row["iterations"] == 3 and [c["step"] for c in row["curve"]] == [1, 2, 3]
    assert json.loads((tmp_path / "ref" / "sweep.json").read_text())["candidates"]["toy"]["val_cer"] == row["val_cer"]
    assert "| toy | 3 x 4 |" in (tmp_path / "ref" / "sweep.md").read_text()
    lines: list[str] = []
    sweep.run_sweep(tmp_path / "out", tmp_path / "ref", train_size=16, val_size=8, log=lines.append)
    assert "toy: done, skipped" in lines
