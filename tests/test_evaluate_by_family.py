"""Word accuracy per font family (writer) of a synthetic split, from a run's predictions."""

import json

import pytest

from seqclr.evaluate.by_family import family_accuracy, main, split_items, split_source

CONFIG = {"data": "synthetic-handwriting", "data_seed": 0, "charset": "english95", "test_size": 24,
          "test_source": {"benchmark": "hw-v2"}}


def _predictions(source, n):
    return [{"index": i, "label": source.label_and_face(i)[0], "prediction": "", "correct": i % 3 == 0} for i in range(n)]


def test_counts_each_item_under_its_own_family():
    source = split_source(CONFIG)
    preds = _predictions(source, 24)
    fam = family_accuracy(preds, split_items(CONFIG))
    expected: dict[str, list[int]] = {}
    for p in preds:
        expected.setdefault(source.label_and_face(p["index"])[1].family, []).append(int(p["correct"]))
    assert {f: (v["n"], v["correct"]) for f, v in fam.items()} == {f: (len(v), sum(v)) for f, v in expected.items()}
    assert sum(v["n"] for v in fam.values()) == 24 and len(fam) >= 2  # several test writers in 24 words
    assert set(fam) <= {"kalam", "shadows-into-light", "dancing-script", "pacifico"}  # hw-v2's fixed test families


def test_refuses_predictions_of_other_data_and_real_sources():
    source = split_source(CONFIG)
    preds = _predictions(source, 4)
    preds[2]["label"] += "x"
    with pytest.raises(ValueError, match="item 2"):
        family_accuracy(preds, split_items(CONFIG))
    with pytest.raises(ValueError, match="no font families"):
        split_source({**CONFIG, "data": "lmdb"})


def test_cli_writes_every_run_and_a_table_over_seeds(tmp_path):
    source = split_source(CONFIG)
    for seed in (0, 1):
        run = tmp_path / "runs" / "finetune" / f"none-ctc-1-s{seed}"
        run.mkdir(parents=True)
        (run / "metrics.json").write_text(json.dumps({"config": CONFIG}))
        (run / "predictions.json").write_text(json.dumps(_predictions(source, 12)))
    assert main(["--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "fam.json")]) == 0
    saved = json.loads((tmp_path / "fam.json").read_text())
    assert set(saved["runs"]) == {"finetune/none-ctc-1-s0", "finetune/none-ctc-1-s1"}
    table = (tmp_path / "fam.md").read_text()
    assert "| finetune/none-ctc-1 (n=2) |" in table and "± 0.0" in table
