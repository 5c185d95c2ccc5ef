"""Saved recognizers (recognizer.pt): written by every protocol run, rebuilt by load_recognizer
with identical predictions, refused when truncated or foreign; reading PIL images, arrays and
paths of any width, with per-character confidences; the read CLI skips a corrupt file; the
``seqclr`` console command."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seqclr.evaluate import FinetuneConfig
from seqclr.evaluate.data import build_split
from seqclr.evaluate.protocol import run_protocol
from seqclr.data.charset import get_charset
from seqclr.evaluate.recognizer_file import FORMAT, load_recognizer, read_images, read_recognizer_file, save_recognizer
from seqclr.models.encoder import SequenceEncoder, get_encoder_config
from seqclr.models.prediction import build_recognizer
from seqclr.train.checkpoint import CheckpointError
from tests.test_evaluate_protocols import SMALL as PROTOCOL_SMALL

# the protocols' tiny supervised setting, with validation on (the best model is what is saved)
SMALL = dict(PROTOCOL_SMALL, iterations=2, checkpoint="random", label_fraction=1.0, val_every=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sup") / "run"
    cfg = FinetuneConfig(**SMALL, output_dir=str(out))
    datasets = {split: build_split(cfg, split) for split in ("train", "val", "test")}
    result = run_protocol(cfg, "supervised", datasets=datasets, log=None)
    return result, datasets


def _word_images(n: int = 3) -> list[np.ndarray]:
    """Raw (unresized) uint8 word images of different widths."""
    rng = np.random.default_rng(0)
    out = []
    for w in (40, 95, 160)[:n]:
        img = np.full((30, w), 230, np.uint8)
        img[8:22, 4 : w - 4] = rng.integers(0, 120, size=(14, w - 8), dtype=np.uint8)
        out.append(img)
    return out


def test_run_writes_a_weights_only_recognizer_file(run):
    result, _ = run
    path = result.output_dir / "recognizer.pt"
    assert path.is_file() and result.summary["recognizer"] == str(path)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == FORMAT
    assert payload["decoder"] == "ctc" and payload["representation"] == "H" and "feature" not in payload
    assert payload["charset"]["name"] == "english95"
    assert payload["preprocessing"]["width"] == 48 and payload["preprocessing"]["height"] == 32
    assert payload["preprocessing"]["keep_ratio"] is False
    assert "input_norm" in payload["encoder_config"] and payload["config"]["iterations"] == 2
    # val_every on: the saved weights are the model's (train_recognizer loaded the best state)
    state = result.model.state_dict()
    assert set(payload["state_dict"]) == set(state)
    assert all(torch.equal(payload["state_dict"][k], v.cpu()) for k, v in state.items())
    assert result.history["best_step"] in (1, 2)
    assert not list(path.parent.glob(".recognizer.pt.*"))  # no temp file left


def test_loaded_recognizer_predicts_identically(run):
    result, datasets = run
    loaded = load_recognizer(result.output_dir / "recognizer.pt")
    assert not loaded.training
    images = torch.stack([datasets["test"][i]["image"] for i in range(len(datasets["test"]))])
    result.model.eval()
    with torch.no_grad():
        ref = result.model.decoder(result.model.features(images)[0])
        got = loaded.decoder(loaded.features(images)[0])
    assert torch.equal(ref, got)
    assert loaded.predict(images) == result.model.predict(images)
    raw = _word_images()
    assert loaded.read(raw) == result.model.read(raw)  # save_recognizer attached the preprocessing


def test_a_file_written_before_the_rename_still_loads(tmp_path):
    """A recognizer file of before the rename holds the representation under ``feature``: it loads
    (quietly) as ``representation`` and reads the same; a new save writes ``representation``."""
    torch.manual_seed(0)
    model = build_recognizer(SequenceEncoder(get_encoder_config("tiny")), "ctc", get_charset("english95"), "V").eval()
    new = save_recognizer(tmp_path / "new.pt", model)
    payload = torch.load(new, weights_only=True)
    assert payload["representation"] == "V" and "feature" not in payload
    payload["feature"] = payload.pop("representation")  # the file as written before the rename
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    assert read_recognizer_file(old)["representation"] == "V"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_recognizer(old)
    assert loaded.representation == "V" and loaded.decoder.in_dim == model.decoder.in_dim
    raw = _word_images()
    assert loaded.read(raw) == load_recognizer(new).read(raw) == model.read(raw)
    images = torch.rand(2, 1, 32, 100)
    with torch.no_grad():
        assert torch.equal(loaded.decoder(loaded.features(images)[0]), model.decoder(model.features(images)[0]))
    resaved = torch.load(save_recognizer(tmp_path / "resaved.pt", loaded), weights_only=True)
    assert resaved["representation"] == "V" and "feature" not in resaved


def test_truncated_and_foreign_files_are_refused(run, tmp_path):
    result, _ = run
    data = (result.output_dir / "recognizer.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    foreign = tmp_path / "foreign.pt"
    torch.save({"x": 1}, foreign)
    for bad in (truncated, foreign, tmp_path / "missing.pt"):
        with pytest.raises(CheckpointError) as err:
            load_recognizer(bad)
        msg = str(err.value)
        assert str(bad) in msg and "\n" not in msg


def test_read_pil_array_and_path_of_any_width(run, tmp_path):
    result, _ = run
    model = load_recognizer(result.output_dir / "recognizer.pt")
    raw = _word_images()
    path = tmp_path / "word.png"
    Image.fromarray(raw[2]).save(path)
    pil = Image.fromarray(np.stack([raw[1]] * 3, axis=-1), "RGB")
    mixed = model.read([raw[0], pil, str(path), path], batch_size=2)
    assert len(mixed) == 4 and all(isinstance(t, str) for t in mixed)
    one_by_one = [model.read(x)[0] for x in (raw[0], raw[1], raw[2])]
    assert mixed == [one_by_one[0], one_by_one[1], one_by_one[2], one_by_one[2]]
    assert read_images(model, [], batch_size=4) == []


def test_read_with_per_character_confidence(run, tmp_path, capsys):
    result, _ = run
    rec = result.output_dir / "recognizer.pt"
    model = load_recognizer(rec)
    raw = _word_images()
    pairs = model.read(raw, batch_size=2, confidence=True)
    assert [text for text, _ in pairs] == model.read(raw)
    for text, conf in pairs:  # one probability per character
        assert len(conf) == len(text) and all(0.0 <= c <= 1.0 for c in conf)
    # the CLI's third column: the same values, 3 decimals, space-separated
    paths = []
    for i, img in enumerate(raw):
        paths.append(tmp_path / f"w{i}.png")
        Image.fromarray(img).save(paths[-1])
    from seqclr.evaluate.read import main

    out = tmp_path / "conf.tsv"
    assert main([str(rec), *map(str, paths), "--confidence", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert out.read_text().splitlines() == lines and len(lines) == 3
    for line, (text, conf) in zip(lines, model.read(paths, confidence=True)):
        name, got_text, column = line.split("\t")
        values = [float(v) for v in column.split()]
        assert got_text == text and len(values) == len(text)
        assert values == pytest.approx(conf, abs=5e-4) and all(0.0 <= v <= 1.0 for v in values)


def test_read_cli_skips_a_corrupt_file(run, tmp_path):
    result, _ = run
    folder = tmp_path / "imgs"
    folder.mkdir()
    raw = _word_images(2)
    for i, img in enumerate(raw):
        Image.fromarray(img).save(folder / f"w{i}.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    (folder / "notes.txt").write_text("ignored")
    out = tmp_path / "preds.tsv"
    rec = str(result.output_dir / "recognizer.pt")
    proc = subprocess.run(
        [sys.executable, "-m", "seqclr.evaluate.read", rec, str(folder), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and [Path(line.split("\t")[0]).name for line in lines] == ["w0.png", "w1.png"]
    assert "corrupt.png" in proc.stderr
    assert out.read_text().splitlines() == lines
    expected = load_recognizer(rec).read([folder / "w0.png", folder / "w1.png"])
    assert [line.split("\t", 1)[1] for line in lines] == expected

    foreign = tmp_path / "foreign.pt"
    torch.save({"x": 1}, foreign)
    from seqclr.evaluate.read import main

    assert main([str(foreign), str(folder)]) == 2


def test_console_command_lists_subcommands():
    exe = Path(sys.executable).parent / "seqclr"
    cmd = [str(exe), "--help"] if exe.exists() else [sys.executable, "-m", "seqclr.cli", "--help"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    for name in ("pretrain", "evaluate", "study", "pack", "read", "export", "benchmark"):
        assert f"  {name} " in proc.stdout
    from seqclr.cli import main

    assert main(["nonsense"]) == 2
