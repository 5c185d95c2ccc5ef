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


def test_sweep_table_adds_the_step_time_and_acc_per_cpu_minute():
    row = dict(fields=dict(encoder="tiny"), iterations=600, batch_size=32, train_seconds=60.0, val_acc=0.1,
               val_cer=0.5, best_val_acc=0.1, best_step=600, acc_per_minute=0.1, loss=[[600, 1.0]])
    summary = {"candidates": {"t": row, "u": dict(row, fields=dict(encoder="other"))},
               "preset_speed": {"tiny": dict(step_s=0.05, batch_size=16)}}
    table = sweep.sweep_table(summary)
    # batch 32 costs twice the timed batch of 16: 100 ms a step, 600 steps = 1 CPU-minute -> 10% per minute
    assert "| t | 600 x 32 |" in table and "| 100 ms | 10.00 |" in table
    assert table.splitlines()[-1].endswith("| | |")  # a preset without a timing gets empty cells
    assert "step (1 thread)" not in sweep.sweep_table({"candidates": {"t": row}})
