"""``logger: csv | tensorboard | none`` of pretraining and recognizer runs (seqclr.train.run_logger),
and the recognizer runs' progress bar: the event files hold the curves that loss.csv /
train_log.csv / metrics.json hold, a missing tensorboard package or an unknown name is refused
before any compute, logger "none" writes no curves."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from seqclr.config import ParameterError
from seqclr.evaluate import DecoderEvalConfig, FinetuneConfig, run_decoder_eval, run_finetune
from seqclr.evaluate.data import build_split
from seqclr.train.config import PretrainConfig
from seqclr.train.loop import pretrain, read_loss_csv
from seqclr.train.run_folder import config_diff
from seqclr.train.run_logger import LOGGERS, TENSORBOARD_DIR, RunLogger, require_logger

# the tiny pretraining run of tests/test_train_loop.py: 16 images of 32x32, batch 8
TINY = dict(train_size=16, width=32, batch_size=8, iterations=5, checkpoint_every=3, log_every=2, progress=False, seed=3,
            device="cpu")  # fmt: skip
# the small recognizer runs of tests/test_evaluate_protocols.py, with validation
SMALL = dict(
    data="synthetic-print", train_source={"max_len": 6}, val_source={"max_len": 6}, test_source={"max_len": 6},
    train_size=16, val_size=4, test_size=4, width=48, batch_size=4, iterations=3, log_every=1, eval_batch_size=8,
    device="cpu", val_every=2, checkpoint="random",
)  # fmt: skip


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} of the TensorBoard event files in ``folder``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def event_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("events.out.tfevents.*"))


@pytest.fixture(scope="module")
def datasets():
    cfg = DecoderEvalConfig(**SMALL)
    return {split: build_split(cfg, split) for split in ("train", "val", "test")}


# --------------------------------------------------------------------------------------------
# Pretraining
# --------------------------------------------------------------------------------------------


def test_pretrain_tensorboard_events_equal_loss_csv(tmp_path):
    pytest.importorskip("tensorboard")
    metrics = pretrain(PretrainConfig(**TINY, output_dir=str(tmp_path), logger="tensorboard"))
    log = read_loss_csv(tmp_path / "loss.csv")  # kept
    assert log["step"] == [1, 2, 3, 4, 5]
    events = event_files(tmp_path)
    assert events and all(p.parent == tmp_path / TENSORBOARD_DIR for p in events)
    got = scalars(tmp_path / TENSORBOARD_DIR)
    assert [s for s, _ in got["train/loss"]] == log["step"]
    assert [v for _, v in got["train/loss"]] == pytest.approx(log["loss"], rel=1e-6)  # float32 in the events
    assert [s for s, _ in got["train/lr"]] == log["step"]
    assert [v for _, v in got["train/lr"]] == pytest.approx([10, 10, 10, 1, 0.1], rel=1e-6)
    assert [v for _, v in got["train/lr"]] == pytest.approx(log["lr"], rel=1e-6)
    ips = got["train/images_per_s"]
    assert [s for s, _ in ips] == [2, 4, 5]  # every log_every steps and the last
    assert all(v > 0 for _, v in ips) and metrics["images_per_s"] > 0


def test_pretrain_resumed_run_replaces_the_lost_steps_in_the_events(tmp_path):
    pytest.importorskip("tensorboard")
    cfg = PretrainConfig(**TINY, output_dir=str(tmp_path), logger="tensorboard")

    class Interrupt(Exception):
        pass

    def stop(info):
        if info.step == 4:  # logged, but after the checkpoint of step 3: step 4 trains again
            raise Interrupt

    with pytest.raises(Interrupt):
        pretrain(cfg, on_step=stop)
    first = scalars(tmp_path / TENSORBOARD_DIR)
    assert [s for s, _ in first["train/loss"]] == [1, 2, 3, 4]
    resumed = pretrain(cfg.replace(resume=True))
    assert resumed["resumed_from_step"] == 3
    log = read_loss_csv(tmp_path / "loss.csv")
    got = scalars(tmp_path / TENSORBOARD_DIR)
    assert [s for s, _ in got["train/loss"]] == [1, 2, 3, 4, 5]  # step 4 once: the killed run's is purged
    assert [v for _, v in got["train/loss"]] == pytest.approx(log["loss"], rel=1e-6)


def test_pretrain_logger_none_writes_no_events_but_loss_csv(tmp_path):
    pretrain(PretrainConfig(**{**TINY, "iterations": 2}, output_dir=str(tmp_path), logger="none"))
    assert read_loss_csv(tmp_path / "loss.csv")["step"] == [1, 2]
    assert not event_files(tmp_path) and not (tmp_path / TENSORBOARD_DIR).exists()


def test_logger_is_bookkeeping_for_resume():
    saved = PretrainConfig(**TINY, logger="csv").to_dict()
    assert config_diff(saved, PretrainConfig(**TINY, logger="tensorboard")) == []
    assert config_diff(saved, PretrainConfig(**{**TINY, "seed": 4})) == [("seed", TINY.get("seed", 0), 4)]


# --------------------------------------------------------------------------------------------
# Recognizer runs
# --------------------------------------------------------------------------------------------


def read_train_log(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_recognizer_tensorboard_logs_train_loss_and_validation(tmp_path, datasets):
    pytest.importorskip("tensorboard")
    cfg = DecoderEvalConfig(**SMALL, output_dir=str(tmp_path), logger="tensorboard")
    result = run_decoder_eval(cfg, datasets=datasets, log=None)
    h = result.history
    got = scalars(tmp_path / TENSORBOARD_DIR)
    assert got["train/loss"] == [(s, pytest.approx(v, rel=1e-6)) for s, v in zip(h["step"], h["loss"])]
    assert [s for s, _ in got["train/loss"]] == [1, 2, 3]
    assert got["train/lr"] == [(s, pytest.approx(v, rel=1e-6)) for s, v in zip(h["step"], h["lr"])]
    assert [s for s, _ in got["train/images_per_s"]] == [1, 2, 3] and all(v > 0 for _, v in got["train/images_per_s"])
    for key in ("acc", "ed1", "cer", "wer"):
        assert got[f"val/{key}"] == [(v["step"], pytest.approx(v[key], rel=1e-6)) for v in h["val"]]
        assert got[f"test/{key}"] == [(3, pytest.approx(result.metrics[key], rel=1e-6))]
    assert [s for s, _ in got["val/acc"]] == [2, 3]
    # the CSV holds the same curves (tensorboard = csv + event files)
    rows = read_train_log(tmp_path / "train_log.csv")
    loss_rows = [r for r in rows if r["train/loss"]]
    assert [int(r["step"]) for r in loss_rows] == h["step"]
    assert [float(r["train/loss"]) for r in loss_rows] == h["loss"]
    assert [float(r["val/acc"]) for r in rows if r["val/acc"]] == [v["acc"] for v in h["val"]]
    assert [float(r["test/acc"]) for r in rows if r["test/acc"]] == [result.metrics["acc"]]


@pytest.mark.parametrize("logger", ["csv", "none"])
def test_recognizer_csv_and_none_loggers(tmp_path, datasets, logger):
    cfg = FinetuneConfig(**{**SMALL, "val_every": 0}, label_fraction=1.0, output_dir=str(tmp_path), logger=logger)
    result = run_finetune(cfg, datasets=datasets, log=None)
    assert (tmp_path / "metrics.json").is_file()  # the run's own outputs in every mode
    assert not event_files(tmp_path) and not (tmp_path / TENSORBOARD_DIR).exists()
    if logger == "none":
        assert not (tmp_path / "train_log.csv").exists()
        return
    rows = read_train_log(tmp_path / "train_log.csv")
    assert list(rows[0]) == ["step", "train/loss", "train/lr", "train/images_per_s", "val/acc", "val/ed1", "val/cer",
                             "val/wer", "test/acc", "test/ed1", "test/cer", "test/wer"]  # fmt: skip
    assert [float(r["train/loss"]) for r in rows[:3]] == result.history["loss"]
    assert not any(r["val/acc"] for r in rows)  # no validation asked for


def test_recognizer_write_false_writes_no_curves(tmp_path, datasets):
    cfg = DecoderEvalConfig(**SMALL, output_dir=str(tmp_path / "run"), logger="tensorboard")
    run_decoder_eval(cfg, datasets=datasets, log=None, write=False)
    assert not (tmp_path / "run").exists()


def test_recognizer_progress_bar_with_eta(tmp_path, datasets, capsys):
    lines: list[str] = []
    run_decoder_eval(DecoderEvalConfig(**SMALL, output_dir=str(tmp_path)), datasets=datasets, log=lines.append)
    err = capsys.readouterr().err
    assert "train: 100%" in err and "3/3" in err and "<" in err  # elapsed<remaining
    assert "evaluate: 100%" in err
    assert any("val acc" in line for line in lines) and not any(line.startswith("iter 1/") for line in lines)
    # quiet runs (log=None: the study) and progress=False draw no bar; without a bar the lines come back
    lines.clear()
    run_decoder_eval(DecoderEvalConfig(**SMALL, output_dir=str(tmp_path)), datasets=datasets, log=None)
    run_decoder_eval(DecoderEvalConfig(**SMALL, output_dir=str(tmp_path), progress=False), datasets=datasets,
                     log=lines.append)  # fmt: skip
    assert "train:" not in capsys.readouterr().err
    assert any(line.startswith("iter 1/3") for line in lines)


# --------------------------------------------------------------------------------------------
# Refusals, before any compute
# --------------------------------------------------------------------------------------------


@pytest.fixture
def no_tensorboard(monkeypatch):
    """``import tensorboard`` / ``torch.utils.tensorboard`` fail, as on a machine without the package."""
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)


def _no_compute(*args, **kwargs):
    raise AssertionError("compute started")


def test_missing_tensorboard_is_refused_before_pretraining(tmp_path, monkeypatch, no_tensorboard):
    import seqclr.train.loop

    monkeypatch.setattr(seqclr.train.loop, "build_seqclr_model", _no_compute)
    monkeypatch.setattr(seqclr.train.loop, "build_batches", _no_compute)
    cfg = PretrainConfig(**TINY, output_dir=str(tmp_path / "run"), logger="tensorboard")  # the name is valid
    with pytest.raises(ParameterError, match=r"logger 'tensorboard' needs the tensorboard package") as err:
        pretrain(cfg)
    assert "pip install 'seqclr[tensorboard]'" in str(err.value) and "'csv' or 'none'" in str(err.value)
    assert not (tmp_path / "run").exists()
    from seqclr.train.pretrain import main

    assert main(["--logger", "tensorboard", "--output_dir", str(tmp_path / "cli")]) == 2
    assert not (tmp_path / "cli").exists()


def test_missing_tensorboard_is_refused_before_a_recognizer_run(tmp_path, monkeypatch, no_tensorboard, capsys):
    import seqclr.evaluate.protocol as protocol
    from seqclr.evaluate.__main__ import main

    monkeypatch.setattr(protocol, "load_datasets", _no_compute)
    monkeypatch.setattr(protocol, "build_model", _no_compute)
    cfg = DecoderEvalConfig(**SMALL, output_dir=str(tmp_path / "run"), logger="tensorboard")
    with pytest.raises(ParameterError, match=r"logger 'tensorboard' .*pip install 'seqclr\[tensorboard\]'"):
        run_decoder_eval(cfg, log=None)
    assert not (tmp_path / "run").exists()
    assert main(["decoder_eval", "--logger", "tensorboard", "--output_dir", str(tmp_path / "cli")]) == 2
    assert "seqclr[tensorboard]" in capsys.readouterr().err


@pytest.mark.parametrize("cls", [PretrainConfig, DecoderEvalConfig, FinetuneConfig])
def test_unknown_logger_is_refused_naming_the_key_and_the_choices(cls):
    with pytest.raises(ParameterError) as err:
        cls.from_dict({"logger": "wandb"}, source="run.yaml")
    message = str(err.value)
    assert message.startswith("run.yaml: ") and "logger" in message and "'wandb'" in message
    assert all(repr(name) in message for name in LOGGERS)
    with pytest.raises(ValueError, match=r"logger must be one of 'csv', 'tensorboard', 'none', got 'TensorBoard'"):
        cls(logger="TensorBoard")


def test_run_logger_unit(tmp_path):
    with pytest.raises(ParameterError, match=r"logger must be one of 'csv', 'tensorboard', 'none', got 'wandb'"):
        require_logger("wandb")
    with RunLogger("csv", tmp_path, csv_name="log.csv", csv_columns=("a", "b")) as run_log:
        run_log.log_scalars(1, {"a": 0.5})
        run_log.log_scalars(2, {"b": 2, "a": None})
        assert (tmp_path / "log.csv").read_text().splitlines()[1] == "1,0.5,"  # flushed row by row
        with pytest.raises(ValueError, match="no CSV column for"):
            run_log.log_scalars(3, {"c": 1.0})
    assert (tmp_path / "log.csv").read_text().splitlines() == ["step,a,b", "1,0.5,", "2,,2.0"]
    RunLogger("none").log_scalars(1, {"anything": 1.0})  # the "none" logger takes everything, writes nothing
