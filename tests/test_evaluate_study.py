"""The replication study's run list: every method (and no pretraining) gets CTC and attention
decoder evaluation and fine-tuning at 5/10/100%, on the same data, the baseline from random init."""

from __future__ import annotations

from pathlib import Path

from seqclr.evaluate.study import FRACTIONS, METHODS, SCALES, pretrain_config, study_configs


def test_study_run_list(tmp_path: Path):
    runs = study_configs(tmp_path, SCALES["smoke"])
    names = [name for _, name, _ in runs]
    assert len(names) == len(set(names)) == (len(METHODS) + 1) * (2 + len(FRACTIONS))
    by_name = {name: (protocol, cfg) for protocol, name, cfg in runs}
    protocol, cfg = by_name["finetune/none-ctc-0.05"]
    assert protocol == "supervised" and cfg.random_init and cfg.label_fraction == 0.05
    protocol, cfg = by_name["decoder_eval/simclr-attention"]
    assert protocol == "decoder_eval" and cfg.feature == "V" and cfg.checkpoint == str(tmp_path / "pretrain" / "simclr" / "encoder.pt")
    assert by_name["decoder_eval/seqclr-window-ctc"][1].feature == "H"
    # one data definition for every run: same sizes, seed, source
    assert len({(c.data, c.train_size, c.test_size, c.data_seed, c.subset_seed) for _, _, c in runs}) == 1
    pre = pretrain_config("seqclr-frame", tmp_path, SCALES["smoke"])
    assert pre.data_split == "train" and pre.data_size == runs[0][2].train_size and pre.method == "seqclr-frame"


def test_select_runs_by_method_and_pattern(tmp_path: Path):
    import pytest

    from seqclr.evaluate.study import select_runs

    runs = study_configs(tmp_path, SCALES["smoke"])
    picked = select_runs(runs, ["seqclr-window", "simclr"], ["decoder_eval/*-ctc", "finetune/*-0.1"])
    assert sorted(name for _, name, _ in picked) == [
        "decoder_eval/none-ctc", "decoder_eval/seqclr-window-ctc", "decoder_eval/simclr-ctc",
        "finetune/none-ctc-0.1", "finetune/seqclr-window-ctc-0.1", "finetune/simclr-ctc-0.1",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="seqclr-windwo"):
        select_runs(runs, ["seqclr-windwo"], None)
    with pytest.raises(ValueError, match="no run"):
        select_runs(runs, None, ["decoder_eval/nothing*"])
