"""The evaluation notebooks run headless through papermill with their small CI parameters:
decoder_eval and finetune on a saved random tiny encoder, results on the runs they wrote,
embeddings_umap on that encoder beside a random one."""

from __future__ import annotations

import json

import pytest

from tests.notebook_utils import NOTEBOOKS, PARAMETERS, error_outputs, run_notebook


def _pngs(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def encoder_file(tmp_path_factory):
    import torch

    from seqclr.models.encoder import SequenceEncoder, get_encoder_config
    from seqclr.train.checkpoint import save_encoder

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("enc") / "encoder.pt"
    save_encoder(path, SequenceEncoder(get_encoder_config("tiny")), {"method": "seqclr-window"})
    return str(path)


@pytest.mark.slow
def test_decoder_eval_finetune_and_results_notebooks(tmp_path, encoder_file):
    runs = tmp_path / "runs"
    for stem, extra in (("decoder_eval", {"method": "seqclr-window"}), ("finetune", {"method": "seqclr-window"})):
        out = runs / stem
        nb = run_notebook(
            NOTEBOOKS / f"{stem}.ipynb", tmp_path / f"{stem}.ipynb",
            parameters={"output_dir": str(out), "checkpoint": encoder_file, **extra},
            yaml_file=PARAMETERS / stem / "ci_tiny.yaml",
        )
        assert not error_outputs(nb), stem
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["checkpoint"] == encoder_file and metrics["config"]["iterations"] == 3
        assert metrics["encoder_frozen"] == (stem == "decoder_eval")
        assert metrics["subset_size"] == (12 if stem == "decoder_eval" else 6)
        assert (out / "predictions.png").stat().st_size > 0 and _pngs(nb) >= 1
        if stem == "finetune":  # its last cell reads 4 raw test images with the saved recognizer.pt
            read = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))
            assert read.count(" -> ") == 4, read
    # the supervised baseline through the finetune notebook (checkpoint "")
    nb = run_notebook(NOTEBOOKS / "finetune.ipynb", tmp_path / "sup.ipynb",
                      parameters={"output_dir": str(runs / "sup"), "checkpoint": ""}, yaml_file=PARAMETERS / "finetune" / "ci_tiny.yaml")
    assert not error_outputs(nb)
    assert json.loads((runs / "sup" / "metrics.json").read_text())["protocol"] == "supervised"

    report = tmp_path / "report"
    nb = run_notebook(NOTEBOOKS / "results.ipynb", tmp_path / "results.ipynb",
                      parameters={"runs_dir": str(runs), "output_dir": str(report)}, yaml_file=PARAMETERS / "results" / "ci.yaml")
    assert not error_outputs(nb)
    tables = (report / "tables.md").read_text()
    assert "| seqclr-window |" in tables and "| supervised |" in tables and "synthetic-handwriting CTC 50%" in tables
    assert (report / "wer_vs_labels.png").stat().st_size > 0 and _pngs(nb) == 1


@pytest.mark.slow
def test_embeddings_umap_notebook(tmp_path, encoder_file):
    from seqclr.train.checkpoint import load_encoder, save_encoder

    # a SimCLR encoder file: with representation "pretrained" it is read at V, the others at H
    simclr_file = save_encoder(tmp_path / "simclr.pt", load_encoder(encoder_file), {"method": "simclr"})
    out = tmp_path / "emb"
    encoders = {"saved": encoder_file, "simclr": str(simclr_file), "random init": "random"}
    nb = run_notebook(NOTEBOOKS / "embeddings_umap.ipynb", tmp_path / "emb.ipynb",
                      parameters={"output_dir": str(out), "encoders": encoders, "representation": "pretrained"},
                      yaml_file=PARAMETERS / "embeddings_umap" / "ci_tiny.yaml")
    assert not error_outputs(nb)
    summary = json.loads((out / "embeddings.json").read_text())
    assert set(summary["agreement"]) == set(encoders) and summary["images"] == 3
    assert summary["representations"] == {"saved": "H", "simclr": "V", "random init": "H"}
    assert set(summary["position_agreement"]) == set(encoders)
    assert summary["position_agreement"]["random init"] > 0.5  # random frames are found by their position
    assert (out / "umap.png").stat().st_size > 0 and _pngs(nb) == 4  # umap + one neighbour figure per encoder


@pytest.mark.parametrize("stem, bad, message", [
    ("decoder_eval", {"decoder": "transformer"}, "transformer"),
    ("finetune", {"label_fraction": 1.5}, "label_fraction"),
    ("embeddings_umap", {"mapping": "pixel"}, "mapping"),
    ("embeddings_umap", {"kind": "pixel"}, r"mapping must be one of .*got 'pixel'"),  # an old name from papermill -p is read
])
def test_evaluation_notebooks_reject_bad_parameters_before_compute(tmp_path, stem, bad, message):
    import papermill

    out = tmp_path / "never"
    with pytest.raises(papermill.PapermillExecutionError, match=message):
        run_notebook(NOTEBOOKS / f"{stem}.ipynb", tmp_path / "bad.ipynb", parameters={"output_dir": str(out), **bad})
    assert not out.exists()
