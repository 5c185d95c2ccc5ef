"""seqclr.benchmark.presets: the sweep candidates' presets timed side by side."""

from __future__ import annotations

import json

import pytest

import seqclr.benchmark.presets as presets
import seqclr.evaluate.recipe_sweep as sweep


def test_preset_speed_times_each_preset_once_and_restores_threads(monkeypatch):
    toy = {"a": dict(encoder="tiny", iterations=300), "b": dict(encoder="tiny", iterations=600),
           "c": dict(encoder="cpu-vgg", iterations=300)}
    monkeypatch.setattr(presets, "CANDIDATES", toy)
    monkeypatch.setattr(sweep, "CANDIDATES", toy)
    threads = presets.torch.get_num_threads()
    speed = presets.preset_speed(["a", "b", "c"], batch_size=2, steps=1, repeat=1)
    assert sorted(speed) == ["cpu-vgg", "tiny"]  # one timing per preset, not per candidate
    assert all(v["step_s"] > 0 and v["images_per_s"] == pytest.approx(2 / v["step_s"]) for v in speed.values())
    assert presets.torch.get_num_threads() == threads



def test_main_writes_the_timing_into_sweep_json_and_the_table(tmp_path, monkeypatch):
    row = dict(fields=dict(encoder="tiny"), iterations=600, batch_size=32, train_seconds=60.0, val_acc=0.1,
               val_cer=0.5, best_val_acc=0.1, best_step=600, acc_per_minute=0.1, loss=[[600, 1.0]])
    (tmp_path / "sweep.json").write_text(json.dumps({"candidates": {"tiny-b32": row}}))
    monkeypatch.setattr(presets, "preset_speed", lambda names, threads: {"tiny": dict(step_s=0.1, batch_size=32)})
    assert presets.main(["--reference", str(tmp_path), "--only", "tiny-b64-cosine-2400"]) == 0
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["preset_speed"]["tiny"]["step_s"] == 0.1 and saved["candidates"]["tiny-b32"] == row
    assert "| 100 ms | 10.00 |" in (tmp_path / "sweep.md").read_text()
