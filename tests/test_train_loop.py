"""The pretraining loop: outputs, exact resumption after a real SIGKILL, non-finite loss stop."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest
import torch

from seqclr.train.checkpoint import load_checkpoint, save_checkpoint
from seqclr.train.config import PretrainConfig
from seqclr.train.loop import NonFiniteLossError, pretrain, read_loss_csv
from seqclr.train.run_folder import RunFolderError
from seqclr.train.schedule import lr_at

REPO = Path(__file__).resolve().parents[1]


def tiny(out: Path, **kw) -> PretrainConfig:
    """16 images of 32x32, batch 8 (2 steps per epoch): runs cross epoch boundaries quickly."""
    base = dict(
        train_size=16, width=32, batch_size=8, iterations=5, checkpoint_every=3, log_every=2,
        output_dir=str(out), progress=False, seed=3, device="cpu",
    )
    return PretrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[PretrainConfig, dict]:
    cfg = tiny(tmp_path_factory.mktemp("uninterrupted"))
    return cfg, pretrain(cfg)


def test_outputs_and_schedule(uninterrupted):
    cfg, metrics = uninterrupted
    out = Path(cfg.output_dir)
    for name in ("metrics.json", "loss.csv", "loss.png", "config.yaml", "last.pt", "last.prev.pt", "encoder.pt"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["steps"] == 5 and saved["config"]["batch_size"] == 8
    assert saved["images_per_s"] > 0 and saved["wall_time_s"] >= saved["train_time_s"] > 0
    assert saved["skipped"] == []  # the items on_error: skip dropped (none here)
    log = read_loss_csv(out / "loss.csv")
    assert log["step"] == list(range(1, 6))
    assert all(math.isfinite(v) for v in log["loss"]) and log["loss"][-1] == pytest.approx(saved["final_loss"])
    # lr / 10 after 60% and 80% of the 5 iterations
    assert log["lr"] == pytest.approx([lr_at(i, cfg) for i in range(5)])
    assert log["lr"] == pytest.approx([10, 10, 10, 1, 0.1])
    state = load_checkpoint(out / "last.pt")
    assert (state["step"], state["epoch"], state["step_in_epoch"]) == (5, 2, 1)
    assert load_checkpoint(out / "last.prev.pt")["step"] == 3
    assert PretrainConfig.from_yaml(out / "config.yaml") == cfg


_KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from seqclr.train.config import PretrainConfig
    from seqclr.train.loop import pretrain

    cfg = PretrainConfig.from_yaml(sys.argv[1])

    def pause(info):
        if info.step == 4:  # between the checkpoints of steps 3 and 5: wait to be killed
            (info.output_dir / "paused").write_text("4")
            time.sleep(600)

    pretrain(cfg, on_step=pause)
    """
)


def test_resume_after_sigkill_equals_uninterrupted(uninterrupted, tmp_path):
    ref_cfg, _ = uninterrupted
    out = tmp_path / "killed"
    cfg = tiny(out)
    out.mkdir()
    cfg.to_yaml(tmp_path / "cfg.yaml")
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, str(tmp_path / "cfg.yaml")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 60
        while not (out / "paused").exists():
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.time() < deadline, "the run never reached step 4"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    state = load_checkpoint(out / "last.pt")
    assert (state["step"], state["epoch"], state["step_in_epoch"]) == (3, 1, 1)  # mid-epoch; step 4 is lost

    resumed = pretrain(cfg.replace(resume=True))
    assert resumed["resumed_from_step"] == 3 and resumed["steps_this_run"] == 2 and resumed["steps"] == 5

    # exact, not close: the same bytes of loss.csv, the same bits of every tensor
    assert (out / "loss.csv").read_bytes() == (Path(ref_cfg.output_dir) / "loss.csv").read_bytes()
    a = load_checkpoint(Path(ref_cfg.output_dir) / "last.pt")
    b = load_checkpoint(out / "last.pt")
    assert a["model"].keys() == b["model"].keys()
    for k, v in a["model"].items():
        assert torch.equal(b["model"][k], v), k
    for k in a["optimizer"]["state"]:
        for name, v in a["optimizer"]["state"][k].items():
            assert torch.equal(torch.as_tensor(b["optimizer"]["state"][k][name]), torch.as_tensor(v)), (k, name)
    assert torch.equal(b["rng"][0]["augment"], a["rng"][0]["augment"])


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = tiny(tmp_path, iterations=4, checkpoint_every=2)

    def diverge(info):
        if info.step == 3:  # weights blow up after step 3: step 4's loss is NaN
            with torch.no_grad():
                for p in info.model.encoder.parameters():
                    p.fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match=r"non-finite loss nan at step 4; stopped.* Last checkpoint: .*last\.pt \(step 2\), finite") as err:
        pretrain(cfg, on_step=diverge)
    assert err.value.step == 4
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    log = read_loss_csv(tmp_path / "loss.csv")  # the finite part of the curve is kept
    assert log["step"] == [1, 2, 3] and all(math.isfinite(v) for v in log["loss"])
    assert not (tmp_path / "metrics.json").exists()


def test_non_finite_gradient_with_a_finite_loss_stops_before_the_step(tmp_path):
    """A NaN gradient behind a finite loss: stopped before the optimizer step; the checkpoint on
    disk is the last finite one and the message names it."""
    cfg = tiny(tmp_path, iterations=6, checkpoint_every=2)

    def poison(info):
        if info.step == 2:  # from step 3 on, one weight's gradient is NaN; the loss stays finite
            next(info.model.encoder.parameters()).register_hook(lambda g: torch.full_like(g, float("nan")))

    with pytest.raises(NonFiniteLossError, match=r"non-finite gradient \(norm nan\) with a finite loss \(\d.*\) at step 3; "
                       r"stopped before the optimizer step\. Last checkpoint: .*last\.pt \(step 2\), finite") as err:
        pretrain(cfg, on_step=poison)
    assert err.value.step == 3 and "overwrite: true" in str(err.value)
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["step"] == 2 and all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_resume_with_another_config_is_refused_before_any_compute(tmp_path):
    cfg = tiny(tmp_path, iterations=3, checkpoint_every=3)
    pretrain(cfg)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for changes, pattern in [
        (dict(lr=0.5, iterations=6), r"iterations: 3 -> 6; lr: 10\.0 -> 0\.5"),
        (dict(encoder="small"), r"encoder: 'tiny' -> 'small'"),
        (dict(batch_size=4, method="simclr"), r"batch_size: 8 -> 4.*method: 'seqclr-window' -> 'simclr'"),
    ]:
        with pytest.raises(RunFolderError, match=rf"resume: .*last\.pt was trained with another config \({pattern}") as err:
            pretrain(cfg.replace(resume=True, **changes))
        assert "overwrite: true" in str(err.value)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before  # nothing touched
    again = pretrain(cfg.replace(resume=True, log_every=1, progress=False))  # bookkeeping may change
    assert again["steps_this_run"] == 0 and again["config"]["log_every"] == 1


def test_resume_reads_a_checkpoint_written_before_the_renames(tmp_path):
    """A checkpoint whose config still has the old data fields (data_size, data_root, data_options,
    data_split) resumes: the saved config is read through PretrainConfig.RENAMED, quietly."""
    cfg = tiny(tmp_path, iterations=3, checkpoint_every=3)
    pretrain(cfg)
    state = load_checkpoint(tmp_path / "last.pt")
    saved = {k: v for k, v in state["config"].items() if k not in ("train_size", "train_source")}
    old = {**saved, "data_split": "train", "data_size": 16, "data_root": None, "data_options": {}}
    save_checkpoint({**state, "config": old}, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        again = pretrain(cfg.replace(resume=True))
    assert again["steps_this_run"] == 0 and again["status"] == "completed"
    save_checkpoint({**state, "config": {**old, "data_size": 32, "data_options": {"benchmark": "hw-v2"}}}, tmp_path)
    pattern = r"train_source: \{'benchmark': 'hw-v2'\} -> \{\}; train_size: 32 -> 16"
    with pytest.raises(RunFolderError, match=rf"another config \({pattern}"):
        pretrain(cfg.replace(resume=True))


def test_a_new_run_never_clobbers_a_run(tmp_path):
    out = tmp_path / "run"
    cfg = tiny(out, iterations=2, checkpoint_every=2)
    pretrain(cfg)
    old = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(RunFolderError, match=rf"output_dir {out} holds a run \(last\.pt, last\.prev\.pt|output_dir {out} holds a run \(last\.pt, encoder\.pt"):
        pretrain(cfg.replace(seed=4))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == old
    new = pretrain(cfg.replace(seed=4, overwrite=True))
    (aside,) = tmp_path.glob("run.replaced-*")
    assert {p.name: p.read_bytes() for p in aside.iterdir() if p.is_file()} == old  # moved whole, not mixed
    assert new["config"]["seed"] == 4 and not (out / "last.prev.pt").exists()
