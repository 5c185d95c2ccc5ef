"""Results tables (paper tables 1, 2), the WER-vs-labels figure and error highlighting, from
metrics.json files written here by hand (fabricated numbers: only the layout is under test)."""

from __future__ import annotations

import json

import pytest

from seqclr.evaluate.report import collect_runs, error_spans, markdown_table, table1, table2, wer_curves, wer_figure


def write_run(root, name, protocol, method, decoder, acc, fraction=1.0, checkpoint="enc.pt", data="iam", wer=None):
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
        "config": {"data": data, "decoder": decoder, "feature": "H", "iterations": 5},
    }
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


def test_duplicate_cell_and_bad_file_are_named(tmp_path, runs):
    write_run(runs, "de/again", "decoder_eval", "simclr", "ctc", 0.2)
    with pytest.raises(ValueError, match="2 runs for one table cell"):
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
