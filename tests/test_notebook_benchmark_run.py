"""The benchmark notebook runs headless through papermill with parameters/benchmark/cpu_tiny.yaml,
prints its tables and renders its figure."""

from __future__ import annotations

import json

import pytest

from tests.notebook_utils import NOTEBOOKS, PARAMETERS, error_outputs, run_notebook


@pytest.mark.slow
def test_benchmark_notebook_headless(tmp_path):
    out = tmp_path / "bench.json"
    nb = run_notebook(
        NOTEBOOKS / "benchmark.ipynb",
        tmp_path / "benchmark.ipynb",
        parameters={"out": str(out), "ablations": False},
        yaml_file=PARAMETERS / "benchmark" / "cpu_tiny.yaml",
    )
    assert not error_outputs(nb)
    res = json.loads(out.read_text())
    assert res["config"]["encoder"] == "tiny" and res["config"]["batch_size"] == 4
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "full step, real packed data" in text and "real_within_5pct_of_synthetic" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images


def test_benchmark_notebook_rejects_a_typo(tmp_path):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError, match="unknown parameter 'batchsize'"):
        run_notebook(NOTEBOOKS / "benchmark.ipynb", tmp_path / "bad.ipynb", parameters={"batchsize": 4})
