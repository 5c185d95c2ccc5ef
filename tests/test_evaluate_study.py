"""The replication study's run list and its resume: every method (and no pretraining) gets CTC and
attention decoder evaluation, CTC fine-tuning at 5/10/100% and attention at 10%, each with 3
seeds, on the same hw-v2 data, selected on the validation families; the quick subset is the same
runs; a finished run is never redone, a different config is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seqclr.evaluate.study import (
    ATTENTION_FRACTIONS, FRACTIONS, METHODS, QUICK, REMEDIES, SCALES, SEEDS, finished, pretrain_config, run_study, select_runs,
    study_configs,
)  # fmt: skip


def test_study_run_list(tmp_path: Path):
    runs = study_configs(tmp_path, SCALES["smoke"])
    names = [name for _, name, _ in runs]
    per_seed = 2 + len(FRACTIONS) + len(ATTENTION_FRACTIONS)
    assert len(names) == len(set(names)) == (len(METHODS) + len(REMEDIES) + 1) * len(SEEDS) * per_seed
    by_name = {name: (protocol, cfg) for protocol, name, cfg in runs}
    protocol, cfg = by_name["finetune/none-ctc-0.05-s1"]
    assert protocol == "supervised" and cfg.random_init and cfg.label_fraction == 0.05 and cfg.seed == 1
    protocol, cfg = by_name["decoder_eval/simclr-attention-s2"]
    assert protocol == "decoder_eval" and cfg.representation == "V" and cfg.checkpoint == str(tmp_path / "pretrain" / "simclr" / "encoder.pt")
    assert by_name["decoder_eval/seqclr-window-ctc-s0"][1].representation == "H"
    assert by_name["finetune/seqclr-frame-attention-0.1-s0"][1].decoder == "attention"
    # one data definition for every run (the hw-v2 benchmark), model selection on validation
    assert len({(c.data, c.train_size, c.test_size, c.data_seed, c.subset_seed, json.dumps(c.test_source)) for _, _, c in runs}) == 1
    assert {c.train_source["benchmark"] for _, _, c in runs} == {"hw-v2"}
    assert all(c.val_every > 0 and c.val_source == c.train_source for _, _, c in runs)
    # the seeds share the labeled subset and change the seed only
    a, b = by_name["finetune/seqclr-window-ctc-0.1-s0"][1], by_name["finetune/seqclr-window-ctc-0.1-s2"][1]
    assert {k for k in a.to_dict() if a.to_dict()[k] != b.to_dict()[k]} == {"seed", "output_dir"}
    for name, (base, fields) in REMEDIES.items():  # remedy rows: their method with the remedy's fields
        pre = pretrain_config(name, tmp_path, SCALES["smoke"])
        factor = fields.get("iterations_factor", 1)  # "longer pretraining": the scale's steps times the factor
        assert pre.iterations == SCALES["smoke"]["pre_iterations"] * factor
        assert pre.method == base and all(getattr(pre, k) == v for k, v in fields.items() if k != "iterations_factor")
        assert pre.output_dir == str(tmp_path / "pretrain" / name)
        assert by_name[f"decoder_eval/{name}-ctc-s0"][1].checkpoint == str(tmp_path / "pretrain" / name / "encoder.pt")
    pre = pretrain_config("seqclr-frame", tmp_path, SCALES["smoke"])
    assert pre.train_size == runs[0][2].train_size and pre.method == "seqclr-frame"
    assert pre.train_source == runs[0][2].train_source == {"benchmark": "hw-v2"} and pre.resume is True


def test_quick_is_a_subset_of_the_full_study(tmp_path: Path):
    full = {name: cfg.to_dict() for _, name, cfg in study_configs(tmp_path, SCALES["cpu"])}
    quick_kw = {k: v for k, v in QUICK.items() if k != "methods"}
    quick = select_runs(study_configs(tmp_path, SCALES["cpu"], **quick_kw), list(QUICK["methods"]), None)
    assert {cfg.method for _, _, cfg in quick} == {"seqclr-window", "simclr", "none"}
    assert {cfg.label_fraction for _, n, cfg in quick if n.startswith("finetune")} == {0.05, 1.0}
    for _, name, cfg in quick:
        assert full[name] == cfg.to_dict()  # the same run: a later full study reuses it


def test_select_runs_by_method_and_pattern(tmp_path: Path):
    runs = study_configs(tmp_path, SCALES["smoke"])
    picked = select_runs(runs, ["seqclr-window", "simclr"], ["decoder_eval/*-ctc-s0", "finetune/*-ctc-0.1-s0"])
    assert sorted(name for _, name, _ in picked) == [
        "decoder_eval/none-ctc-s0", "decoder_eval/seqclr-window-ctc-s0", "decoder_eval/simclr-ctc-s0",
        "finetune/none-ctc-0.1-s0", "finetune/seqclr-window-ctc-0.1-s0", "finetune/simclr-ctc-0.1-s0",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="seqclr-windwo"):
        select_runs(runs, ["seqclr-windwo"], None)
    with pytest.raises(ValueError, match="no run"):
        select_runs(runs, None, ["decoder_eval/nothing*"])


def test_finished_refuses_a_different_config(tmp_path: Path):
    _, name, cfg = study_configs(tmp_path, SCALES["smoke"])[0]
    assert not finished(tmp_path, name, cfg)
    run = tmp_path / "runs" / name
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"config": cfg.to_dict()}))
    assert finished(tmp_path, name, cfg)
    (run / "metrics.json").write_text(json.dumps({"config": {**cfg.to_dict(), "lr": 0.5}}))
    with pytest.raises(ValueError, match=rf"lr: 0.5 -> {cfg.lr}"):
        finished(tmp_path, name, cfg)
    old = {("feature" if k == "representation" else k): v for k, v in cfg.to_dict().items()}  # before the rename
    (run / "metrics.json").write_text(json.dumps({"config": old}))
    assert finished(tmp_path, name, cfg)
    (run / "metrics.json").write_text(json.dumps({"config": {**old, "feature": "HV"}}))
    with pytest.raises(ValueError, match=rf"representation: 'HV' -> '{cfg.representation}'"):
        finished(tmp_path, name, cfg)


@pytest.mark.slow
def test_smoke_study_runs_and_resumes(tmp_path: Path):
    out, ref = tmp_path / "out", tmp_path / "ref"
    only = ["decoder_eval/*-ctc-s0", "finetune/*-ctc-0.05-s0"]
    s = run_study(out, ref, "smoke", methods=["seqclr-window"], only=only, log=lambda m: None)
    assert sorted(s["runs"]) == ["decoder_eval/none-ctc-s0", "decoder_eval/seqclr-window-ctc-s0",
                                 "finetune/none-ctc-0.05-s0", "finetune/seqclr-window-ctc-0.05-s0"]
    assert (ref / "pretrain" / "seqclr-window" / "loss.csv").exists()
    stamp = (ref / "runs" / "finetune/none-ctc-0.05-s0" / "metrics.json").stat().st_mtime_ns
    lines: list[str] = []
    shutil.rmtree(ref / "runs" / "finetune/seqclr-window-ctc-0.05-s0")  # killed before this run finished
    s2 = run_study(out, ref, "smoke", methods=["seqclr-window"], only=only, log=lines.append)
    assert (ref / "runs" / "finetune/none-ctc-0.05-s0" / "metrics.json").stat().st_mtime_ns == stamp  # not redone
    assert any("3 of 4 evaluation runs already finished" in m for m in lines)
    assert any("seqclr-window: done, skipped" in m for m in lines)  # its encoder is kept, not pretrained again
    assert (ref / "runs" / "finetune/seqclr-window-ctc-0.05-s0" / "metrics.json").exists()
    assert len(s2["sittings"]) == 2 and s2["wall_time_s"] >= s["wall_time_s"]


@pytest.mark.slow
def test_study_pretrains_only_the_encoders_its_selected_runs_read(tmp_path: Path):
    out, ref = tmp_path / "out", tmp_path / "ref"
    s = run_study(out, ref, "smoke", methods=["seqclr-window"], only=["finetune/none-ctc-0.05-s0"], log=lambda m: None)
    assert list(s["runs"]) == ["finetune/none-ctc-0.05-s0"] and s["pretrain"] == {}
    assert not (out / "pretrain").exists() and not (ref / "pretrain").exists()


@pytest.mark.slow
def test_parallel_study_matches_the_serial_one(tmp_path: Path):
    """--workers 2: the same runs from the same images (rendered once, by several processes),
    pretraining first and its runs after it; the same predictions as the serial study; resumable."""
    only = ["decoder_eval/*-ctc-s0", "finetune/*-ctc-0.05-s0"]
    serial = run_study(tmp_path / "o1", tmp_path / "r1", "smoke", methods=["seqclr-window"], only=only, log=lambda m: None)
    lines: list[str] = []
    par = run_study(tmp_path / "o2", tmp_path / "r2", "smoke", methods=["seqclr-window"], only=only, log=lines.append,
                    workers=2)
    assert sorted(par["runs"]) == sorted(serial["runs"]) and list(par["pretrain"]) == ["seqclr-window"]
    assert par["sittings"][-1]["workers"] == 2 and any("with 2 workers" in m or "rendered" in m for m in lines)
    # the window runs were submitted only once the window pretraining had finished
    order = [m.split(":")[0] for m in lines if m.startswith(("pretrained", "decoder_eval/", "finetune/"))]
    assert order.index("pretrained seqclr-window") < order.index("decoder_eval/seqclr-window-ctc-s0")
    for name in serial["runs"]:
        a = json.loads((tmp_path / "r1" / "runs" / name / "predictions.json").read_text())
        b = json.loads((tmp_path / "r2" / "runs" / name / "predictions.json").read_text())
        assert a == b, name
    again = run_study(tmp_path / "o2", tmp_path / "r2", "smoke", methods=["seqclr-window"], only=only,
                      log=lines.append, workers=2)
    assert len(again["sittings"]) == 2 and any("4 of 4 evaluation runs already finished" in m for m in lines)
    # a fresh clone of a finished study: the committed runs, no encoders (git-ignored); nothing is pretrained
    shutil.rmtree(tmp_path / "o2" / "pretrain")
    n = len(lines)
    run_study(tmp_path / "o2", tmp_path / "r2", "smoke", methods=["seqclr-window"], only=only, log=lines.append, workers=2)
    assert not (tmp_path / "o2" / "pretrain").exists() and not any("pretrain" in m for m in lines[n:])


@pytest.mark.parametrize(("scale", "changed"), [("cpu-wide", {"encoder"}),
                                                 ("cpu-wide-long", {"encoder", "iterations", "log_every"}),
                                                 ("cpu-wide-24k", {"encoder", "iterations", "log_every"})])
def test_cpu_variants_keep_the_main_study_data_split_and_recipe(tmp_path: Path, scale: str, changed: set):
    # the wide rows are reported beside the main study's supervised 100% row: same data, split, subset and recipe
    base = {name: cfg.to_dict() for _, name, cfg in study_configs(tmp_path, SCALES["cpu"])}
    variant = {name: cfg.to_dict() for _, name, cfg in study_configs(tmp_path, SCALES[scale])}
    old, new = base["finetune/none-ctc-1-s0"], variant["finetune/none-ctc-1-s0"]
    assert {k for k in old if old[k] != new[k]} == changed
    assert new["val_every"] * SCALES[scale]["val_points"] == new["iterations"]
