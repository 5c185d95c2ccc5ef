"""notebooks/pretrain.ipynb runs headless through papermill with the small CI parameters, and
rejects a bad parameter before any compute."""

from __future__ import annotations

import json

import pytest

from tests.notebook_utils import NOTEBOOKS, PARAMETERS, error_outputs, run_notebook


@pytest.mark.slow
def test_pretrain_notebook_ci_run(tmp_path):
    out = tmp_path / "run"
    nb = run_notebook(
        NOTEBOOKS / "pretrain.ipynb",
        tmp_path / "pretrain.ipynb",
        parameters={"output_dir": str(out)},
        yaml_file=PARAMETERS / "pretrain" / "ci_tiny.yaml",
    )
    assert not error_outputs(nb)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["status"] == "completed"
    assert metrics["config"]["train_size"] == 48 and metrics["config"]["output_dir"] == str(out)
    for name in ("encoder.pt", "loss.png", "loss.csv", "config.yaml", "last.pt"):
        assert (out / name).stat().st_size > 0, name
    pngs = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) >= 2  # the augmentation preview and the loss curve


@pytest.mark.parametrize(
    "bad, message",
    [({"batchsize": 8}, "unknown parameter 'batchsize'"), ({"method": "seqclr-windw"}, "seqclr-windw")],
)
def test_pretrain_notebook_rejects_bad_parameters_before_compute(tmp_path, bad, message):
    import papermill

    out = tmp_path / "never"
    with pytest.raises(papermill.PapermillExecutionError, match=message):
        run_notebook(NOTEBOOKS / "pretrain.ipynb", tmp_path / "bad.ipynb", parameters={"output_dir": str(out), **bad})
    assert not out.exists()
