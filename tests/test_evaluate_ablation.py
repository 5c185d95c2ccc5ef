"""The diagnosis ablation end to end at a toy size: every variant pretrains, keeps its checkpoints
at the probe points, gets a probe curve and the retrieval figures; a rerun skips finished ones."""

from __future__ import annotations

import json

import pytest

from seqclr.evaluate.ablation import VARIANTS, run_ablation, variant_config

TOY = dict(encoder="tiny", train_size=16, probe_train=8, val_size=8, iterations=4, batch_size=4, probe_points=2, probe_steps=3)


def test_variants_change_only_their_remedy(tmp_path):
    base = variant_config("paper", tmp_path, dict(TOY, encoder="tiny")).to_dict()
    for name in VARIANTS:
        cfg = variant_config(name, tmp_path, dict(TOY, encoder="tiny")).to_dict()
        changed = {k for k in cfg if cfg[k] != base[k]} - {"output_dir", "checkpoint_every", "log_every"}
        expected = {k if k != "iterations_factor" else "iterations" for k in VARIANTS[name]}
        assert changed == {k for k in expected if VARIANTS[name][k] != base.get(k)}, name
    assert base["view_shift"] == 0 and base["input_norm"] is None and base["method"] == "seqclr-window"


@pytest.mark.slow
def test_ablation_runs_and_resumes(tmp_path):
    lines: list[str] = []
    s = run_ablation(tmp_path / "out", tmp_path / "ref", ["paper", "adam-view-shift-4"], TOY, log=lines.append)
    assert set(s["variants"]) == {"paper", "adam-view-shift-4"}
    for v in s["variants"].values():
        assert [r["step"] for r in v["probe_curve"]] == [2, 4] and 0 <= v["probe_curve"][-1]["cer"]
        assert "probe_acc" in v["final"] and "frame_nn_same_character" in v["final"]
    assert json.loads((tmp_path / "ref" / "ablation.json").read_text())["variants"].keys() == s["variants"].keys()
    assert "| adam-view-shift-4 | 4 |" in (tmp_path / "ref" / "ablation.md").read_text()
    run_ablation(tmp_path / "out", tmp_path / "ref", ["paper"], TOY, log=lines.append)
    assert "paper: done, skipped" in lines
