"""Results tables (paper tables 1, 2), the WER-vs-labels figure and error highlighting, from
metrics.json files written here by hand (fabricated numbers: only the layout is under test)."""

from __future__ import annotations

import json

import pytest

import math

from seqclr.contrastive.model import METHODS
from seqclr.evaluate.protocol import SUPERVISED
from seqclr.evaluate.report import (
    METHOD_ORDER,
    cell_stats,
    collect_runs,
    compare,
    error_spans,
    markdown_table,
    seed_table,
    table1,
    table2,
    wer_curves,
    wer_figure,
)
from seqclr.evaluate.study import NO_PRETRAINING


def write_run(root, name, protocol, method, decoder, acc, fraction=1.0, checkpoint="enc.pt", data="iam", wer=None,
              seed=None, benchmark=None, representation="representation"):
    out = root / name
    out.mkdir(parents=True)
    summary = {
        "protocol": protocol,
        "method": method,
        "metrics": {"acc": acc, "ed1": min(1.0, acc + 0.1), "cer": 0.2, "wer": 1 - acc if wer is None else wer, "n": 10},
        "label_fraction": fraction,
        "subset_size": int(100 * fraction),
        "checkpoint": checkpoint,
        "seconds": 1.0,
        "config": {"data": data, "decoder": decoder, representation: "H", "iterations": 5},
    }
    if seed is not None:  # old runs' configs may lack a seed: it reads as 0
        summary["config"]["seed"] = seed
    if benchmark is not None:
        summary["config"]["train_source"] = {"benchmark": benchmark}
    (out / "metrics.json").write_text(json.dumps(summary))
    return out


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    for m, base in (("seqclr-window", 0.5), ("simclr", 0.1)):
        write_run(root, f"de/{m}-ctc", "decoder_eval", m, "ctc", base)
        write_run(root, f"de/{m}-att", "decoder_eval", m, "attention", base + 0.05)
        for f in (0.05, 1.0):
            write_run(root, f"ft/{m}-{f}", "finetune", m, "ctc", base + f / 10, fraction=f)
    for f in (0.05, 1.0):
        write_run(root, f"ft/none-{f}", "supervised", "none", "ctc", 0.3, fraction=f, checkpoint="random")
    write_run(root, "de/other-ctc", "decoder_eval", "seqclr-window", "ctc", 0.9, data="rimes")
    (root / "pretrain").mkdir()
    (root / "pretrain" / "metrics.json").write_text(json.dumps({"steps": 3, "final_loss": 1.0}))  # not an evaluation
    return root


def test_collect_runs_flattens_and_names_the_supervised_baseline(runs):
    rows = collect_runs(runs)
    assert len(rows) == 4 + 4 + 2 + 1  # the pretraining metrics.json is skipped
    sup = [r for r in rows if r["method"] == "supervised"]
    assert len(sup) == 2 and all(r["protocol"] == "finetune" for r in sup)
    assert {r["dataset"] for r in rows} == {"iam", "rimes"}
    assert {r["seed"] for r in rows} == {0}  # no seed in the config: 0
    assert {r["representation"] for r in rows} == {"H"}


def test_collect_runs_reads_runs_recorded_before_the_renames(tmp_path):
    write_run(tmp_path, "old", "decoder_eval", "simclr", "ctc", 0.5, representation="feature")  # its old name
    assert [r["representation"] for r in collect_runs(tmp_path)] == ["H"]


def test_collect_runs_reads_seed_and_benchmark(tmp_path):
    write_run(tmp_path, "a-s2", "finetune", "simclr", "ctc", 0.5, seed=2, data="synthetic-handwriting", benchmark="hw-v2")
    write_run(tmp_path, "b", "finetune", "simclr", "ctc", 0.5, data="synthetic-handwriting")
    a, b = collect_runs(tmp_path)
    assert (a["seed"], a["dataset"]) == (2, "synthetic-handwriting/hw-v2")
    assert (b["seed"], b["dataset"]) == (0, "synthetic-handwriting")


def test_table1_layout(runs):
    header, body = table1(collect_runs(runs))
    assert header == ["Method", "iam CTC Acc", "iam CTC ED1", "iam Attention Acc", "iam Attention ED1", "rimes CTC Acc", "rimes CTC ED1"]
    assert [row[0] for row in body] == ["simclr", "seqclr-window"]  # the paper's row order
    window = body[1]
    assert window[1:5] == ["50.0", "60.0", "55.0", "65.0"] and window[5:7] == ["90.0", "100.0"]
    assert body[0][5:] == ["—", "—"]  # no simclr run on rimes
    header, body = table1(collect_runs(runs), ("cer",))
    assert header[1:3] == ["iam CTC CER", "iam Attention CER"] and body[1][1] == "20.0"
    with pytest.raises(ValueError, match="metrics"):
        table1([], ("bleu",))


def test_method_order_is_derived_from_the_vocabulary():
    """Every pretraining method once (from seqclr.contrastive.model.METHODS), then no pretraining
    and the supervised baseline (their owners' names), in the paper's row order."""
    assert sorted(METHOD_ORDER[: len(METHODS)]) == sorted(METHODS)
    assert all(METHOD_ORDER.count(m) == 1 for m in METHODS)
    assert METHOD_ORDER[len(METHODS):] == (NO_PRETRAINING, SUPERVISED)
    assert METHOD_ORDER == ("simclr", "simclr-contextual", "seqclr-all", "seqclr-frame", "seqclr-window", "none", "supervised")


def test_table2_layout_and_metric(runs):
    rows = collect_runs(runs)
    header, body = table2(rows)
    assert header == ["Method", "iam CTC 5%", "iam CTC 100%"]
    assert [row[0] for row in body] == ["simclr", "seqclr-window", "supervised"]
    assert body[2] == ["supervised", "30.0", "30.0"] and body[1] == ["seqclr-window", "50.5", "60.0"]
    _, wer_body = table2(rows, "wer")
    assert wer_body[1][1:] == ["49.5", "40.0"]
    with pytest.raises(ValueError, match="metric"):
        table2(rows, "accuracy")
    md = markdown_table(header, body).splitlines()
    assert md[0] == "| Method | iam CTC 5% | iam CTC 100% |" and md[1] == "|---|---|---|" and len(md) == 5


@pytest.fixture
def seeded(tmp_path):
    """Three seeds per cell (decoder evaluation and fine-tuning), one cell with only two."""
    root = tmp_path / "seeded"
    accs = {"seqclr-window": (0.50, 0.52, 0.57), "simclr": (0.40, 0.41, 0.42), "supervised": (0.49, 0.51, 0.53)}
    for m, vals in accs.items():
        ckpt = "random" if m == "supervised" else "enc.pt"
        protocol = "supervised" if m == "supervised" else "finetune"
        for seed, acc in enumerate(vals):
            if m != "supervised":
                write_run(root, f"de/{m}-ctc-s{seed}", "decoder_eval", m, "ctc", acc, seed=seed)
            for f in (0.05, 1.0):
                if (m, f, seed) == ("simclr", 1.0, 2):
                    continue  # a missing seed
                write_run(root, f"ft/{m}-ctc-{f}-s{seed}", protocol, "none" if m == "supervised" else m, "ctc", acc,
                          fraction=f, checkpoint=ckpt, seed=seed, wer=1 - acc + f / 10)
    return root


def test_three_seeds_give_mean_and_sample_std(seeded):
    rows = collect_runs(seeded)
    _, body = table1(rows)
    # seqclr-window: mean 53.0, sample std sqrt(((-3)^2 + (-1)^2 + 4^2) / 2) = 3.6
    assert body == [["simclr", "41.0 ± 1.0", "51.0 ± 1.0"], ["seqclr-window", "53.0 ± 3.6", "63.0 ± 3.6"]]
    _, body = table2(rows)
    assert body[0] == ["simclr", "41.0 ± 1.0", "40.5 ± 0.7 (n=2)"]  # the cell short of a seed shows its n
    assert body[2] == ["supervised", "51.0 ± 2.0", "51.0 ± 2.0"]
    stats = cell_stats([r for r in rows if r["protocol"] == "decoder_eval" and r["method"] == "seqclr-window"], "acc")
    assert stats["n"] == 3 and stats["values"] == [0.50, 0.52, 0.57] and stats["seeds"] == [0, 1, 2]
    assert stats["mean"] == pytest.approx(0.53) and stats["std"] == pytest.approx(math.sqrt(0.0013))
    one = cell_stats(rows[:1], "acc")
    assert one["n"] == 1 and math.isnan(one["std"])
    header, seeds = seed_table(rows)
    assert header[5:] == ["seed 0", "seed 1", "seed 2", "acc mean ± std"]
    line = next(r for r in seeds if r[:2] == ["finetune", "simclr"] and r[4] == "100%")
    assert line[5:] == ["40.0", "41.0", "—", "40.5 ± 0.7"]


def test_same_seed_twice_in_a_cell_is_an_error_naming_the_runs(seeded):
    write_run(seeded, "de/seqclr-window-ctc-again", "decoder_eval", "seqclr-window", "ctc", 0.9, seed=1)
    rows = collect_runs(seeded)
    with pytest.raises(ValueError, match=r"2 runs with seed 1 for one table cell.*seqclr-window-ctc-again"):
        table1(rows)
    with pytest.raises(ValueError, match="seed 1"):
        cell_stats([r for r in rows if r["protocol"] == "decoder_eval" and r["method"] == "seqclr-window"])
    table2(rows)  # the fine-tuning cells are fine


def test_compare_difference_against_the_spread_over_seeds(seeded):
    rows = collect_runs(seeded)
    # seqclr-window 53.0 ± 3.6 vs simclr 41.0 ± 1.0: 12 points > 3.6, held
    c = compare(rows, "seqclr-window", "simclr", "acc", protocol="decoder_eval", decoder="ctc")
    assert c["diff"] == pytest.approx(0.12) and c["std_a"] == pytest.approx(math.sqrt(0.0013)) and c["std_b"] == pytest.approx(0.01)
    assert c["exceeds"] is True and c["a_better"] is True and c["holds"] is True
    reverse = compare(rows, "simclr", "seqclr-window", "acc", protocol="decoder_eval", decoder="ctc")
    assert reverse["diff"] == pytest.approx(-0.12) and reverse["exceeds"] is True and reverse["holds"] is False
    # seqclr-window 53.0 ± 3.6 vs supervised 51.0 ± 2.0 at 5%: 2 points < 3.6, within the spread
    c = compare(rows, "seqclr-window", "supervised", "acc", protocol="finetune", label_fraction=0.05)
    assert c["diff"] == pytest.approx(0.02) and c["a_better"] is True and c["exceeds"] is False and c["holds"] is False
    # lower is better for WER
    w = compare(rows, "seqclr-window", "simclr", "wer", protocol="finetune", label_fraction=0.05)
    assert w["diff"] == pytest.approx(-0.12) and w["a_better"] is True and w["holds"] is True
    with pytest.raises(ValueError, match="label_fraction"):
        compare(rows, "seqclr-window", "simclr", "acc", protocol="finetune")  # two cells: fractions 5% and 100%
    with pytest.raises(ValueError, match="no seqclr-all runs"):
        compare(rows, "seqclr-all", "simclr", "acc", protocol="decoder_eval")


def test_compare_with_a_single_seed_is_undetermined(runs):
    c = compare(collect_runs(runs), "seqclr-window", "simclr", "acc", protocol="decoder_eval", dataset="iam", decoder="ctc")
    assert c["diff"] == pytest.approx(0.4) and c["exceeds"] is None and c["holds"] is None and c["a_better"] is True


def test_wer_figure_draws_every_seed_and_the_mean_band(seeded):
    rows = collect_runs(seeded)
    fig = wer_figure(rows)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.lines) == 3  # one mean line per (method, decoder)
    finetune = [r for r in rows if r["protocol"] == "finetune"]
    from matplotlib.collections import PathCollection, PolyCollection

    points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert points == len(finetune) == 17  # every seed's run is a dot
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3  # the sd bands
    assert "sd" in ax.get_title() and [t.get_text() for t in ax.get_legend().get_texts()] == [
        "simclr (ctc)", "seqclr-window (ctc)", "supervised (ctc)"]
    assert wer_curves(rows)[("iam", "simclr", "ctc")] == [(0.05, pytest.approx(0.595)), (1.0, pytest.approx(0.695))]
    assert "CI" in wer_figure(rows, errorbar="ci").axes[0].get_title()
    with pytest.raises(ValueError, match="errorbar"):
        wer_figure(rows, errorbar="se")


def test_duplicate_cell_and_bad_file_are_named(tmp_path, runs):
    write_run(runs, "de/again", "decoder_eval", "simclr", "ctc", 0.2)  # no seed: seed 0 twice
    with pytest.raises(ValueError, match=r"2 runs with seed 0 for one table cell.*de/again"):
        table1(collect_runs(runs))
    bad = tmp_path / "bad" / "x"
    bad.mkdir(parents=True)
    (bad / "metrics.json").write_text(json.dumps({"protocol": "finetune", "metrics": {"acc": 1.0}}))
    with pytest.raises(ValueError, match=r"bad/x/metrics.json"):
        collect_runs(tmp_path / "bad")


def test_wer_curves_and_loglog_figure(runs):
    rows = collect_runs(runs)
    curves = wer_curves(rows)
    assert curves[("iam", "supervised", "ctc")] == [(0.05, 0.7), (1.0, 0.7)]
    assert [p[0] for p in curves[("iam", "seqclr-window", "ctc")]] == [0.05, 1.0]
    fig = wer_figure(rows)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.lines) == 3


@pytest.mark.parametrize(
    "label, pred, spans",
    [
        ("hello", "hello", [("hello", False)]),
        ("hello", "hallo", [("h", False), ("a", True), ("llo", False)]),
        ("hello", "helo", [("hel", False), ("_", True), ("o", False)]),
        ("ab", "", [("__", True)]),
    ],
)
def test_error_spans(label, pred, spans):
    got = error_spans(label, pred)
    merged = []
    for text, wrong in got:
        if merged and merged[-1][1] == wrong:
            merged[-1] = (merged[-1][0] + text, wrong)
        else:
            merged.append((text, wrong))
    assert merged == spans
