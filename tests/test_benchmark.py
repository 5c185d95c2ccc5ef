"""The benchmark CLI runs end to end on tiny settings and writes sane results; its config
rejects bad values before any work; the shared step honours its switches."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from seqclr.benchmark.config import BenchmarkConfig
from seqclr.benchmark.step import PretrainStep, StepOptions
from seqclr.benchmark.timing import count_flops, cpu_nominal_peak
from seqclr.config import ParameterError, from_dict
from tests.notebook_utils import ROOT


def test_cli_tiny_run_writes_sane_json(tmp_path):
    out = tmp_path / "tiny.json"
    cmd = [sys.executable, "-m", "seqclr.benchmark", "--encoder", "tiny", "--batch_size", "4", "--steps", "2",
           "--device", "cpu", "--repeat", "1", "--imgaug_images", "4", "--loss_isolate", "false",
           "--loss_modes", "[stream]", "--chunk_sizes", "[16]", "--train_size", "16",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=240,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["config"]["batch_size"] == 4 and res["device"]["type"] == "cpu" and res["precision"] == "fp32"
    assert (tmp_path / res["data"]["packed"]).is_dir() and res["data"]["count"] == 16
    for key in ("augment", "input", "encoder", "step"):
        rates = [v for k, v in res[key].items() if k.endswith("images_per_s") and v is not None]
        assert rates and all(r > 0 for r in rates), key
    assert res["augment"]["imgaug_images_per_s"] is None or res["augment"]["imgaug_images"] == 4
    assert [(r["mapping"], r["instances_per_view"]) for r in res["loss"]] == [("all", 4), ("window", 20), ("frame", 104)]
    assert all(r["status"] == "measured" and r["seconds"] > 0 for r in res["loss"])
    s = res["step"]
    assert s["flops_per_step"] > 3 * 2 * 4 * res["encoder"]["forward_gflop_per_image"] * 1e9 * 0.9  # fwd + ~2x bwd, 8 views
    assert 0 < s["mfu"] < 1 and s["real_seconds"] > 0 and s["synthetic_seconds"] > 0
    assert s["real_over_synthetic"] == pytest.approx(s["real_seconds"] / s["synthetic_seconds"])
    names = {r["name"]: r for r in res["ablations"]}
    assert names["bf16 autocast"]["status"] == "skipped: no CUDA"
    assert names["cuDNN LSTM"]["status"] == "skipped: no CUDA"
    assert names["CUDA graphs (compile reduce-overhead)"]["status"] == "skipped: no CUDA"
    for name in ("channels_last", "foreach AdaDelta + clip", "streaming loss chunk 16"):
        r = names[name]
        assert r["status"] == "measured" and r["speedup"] == pytest.approx(r["before_s"] / r["after_s"])
    assert set(res["targets"]) >= {"mfu_ge_40pct", "200k_under_8h", "real_within_5pct_of_synthetic"}
    assert "full step, real packed data" in proc.stdout and "streaming loss chunk 16" in proc.stdout


def test_cli_rejects_a_typo(tmp_path):
    from seqclr.benchmark.__main__ import main

    assert main(["--batchsize", "4"]) == 2
    with pytest.raises(ParameterError, match="unknown parameter 'batchsize'.*did you mean 'batch_size'"):
        from_dict(BenchmarkConfig, {"batchsize": 4})
    with pytest.raises(ParameterError, match="encoder must be one of"):
        from_dict(BenchmarkConfig, {"encoder": "huge"})
    with pytest.raises(ParameterError, match="loss_modes: unknown mode 'sparse'"):
        from_dict(BenchmarkConfig, {"loss_modes": ["sparse"]})


def test_cli_reads_old_names_in_the_file_and_on_the_command_line(tmp_path, monkeypatch):
    import seqclr.benchmark.__main__ as cli

    seen = []
    monkeypatch.setattr(cli, "run_benchmark", lambda cfg, log: seen.append(cfg) or {"json": "x"})
    monkeypatch.setattr(cli, "format_tables", lambda res: "")
    params = tmp_path / "old.yaml"
    params.write_text("preset: small\nbatch: 8\n")
    with pytest.warns(DeprecationWarning) as caught:
        assert cli.main(["--params", str(params), "--batch_size", "16", "--data_size", "64"]) == 0
    assert (seen[0].encoder, seen[0].batch_size, seen[0].train_size) == ("small", 16, 64)  # the command line wins
    messages = {str(w.message).split(" (old names")[0] for w in caught}
    assert messages == {f"{params}: 'preset' is deprecated, use 'encoder'", f"{params}: 'batch' is deprecated, use 'batch_size'",
                        "command line: 'data_size' is deprecated, use 'train_size'"}


def test_step_switches_and_flops():
    torch.manual_seed(0)
    images = (torch.rand(4, 1, 32, 100) * 255).to(torch.uint8)
    dense = PretrainStep("tiny", "seqclr-window", "cpu", StepOptions())
    stream = PretrainStep("tiny", "seqclr-window", "cpu", StepOptions(loss_chunk=8, channels_last=True, foreach=True))
    # same seed: same weights and augmentation draws, so the loss agrees whatever the switches
    assert float(dense(images)) == pytest.approx(float(stream(images)), rel=1e-4)
    assert stream.model.encoder.feature_extraction is not None
    before = [p.detach().clone() for p in dense.model.parameters()]
    dense(images)
    assert any(not torch.equal(a, b) for a, b in zip(before, dense.model.parameters()))  # the optimizer stepped
    x_a, x_b = dense.views(images)
    fwd = count_flops(lambda: dense.loss(x_a, x_b))
    both = count_flops(lambda: dense.forward_backward(x_a, x_b))
    assert fwd > 0 and 2 * fwd < both < 4 * fwd


def test_cpu_nominal_peak_scales_with_threads():
    one, note = cpu_nominal_peak(1)
    assert one > 1e9 and cpu_nominal_peak(4)[0] == pytest.approx(4 * one) and "nominal" in note
