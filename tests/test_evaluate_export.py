"""ONNX export of saved CTC recognizers (seqclr.evaluate.export): the onnxruntime round trip at
two widths and two batch sizes (logits within 1e-4 of torch, equal greedy decodes), the metadata
that makes the file usable alone, the ``seqclr export`` command and its report, refusals
(attention recognizer, missing or truncated recognizer.pt, missing optional extra)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from seqclr.data.charset import get_charset
from seqclr.evaluate import export
from seqclr.evaluate.recognizer_file import load_recognizer, preprocessing_of, save_recognizer
from seqclr.models.encoder import SequenceEncoder, get_encoder_config
from seqclr.models.prediction import build_recognizer

WIDTH = 48


@pytest.fixture(scope="module")
def ort():
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def _recognizer(kind: str, seed: int = 0):
    """A tiny english95 recognizer on HV (through the BiLSTM and around it) whose batch-norm
    statistics are those of random images: at initialization the ResNet's output hardly depends on
    its input, with these statistics it does, so the logits and greedy decodes differ between
    images and a wrong export would show."""
    torch.manual_seed(seed)
    kw = {"hidden": 16, "max_len": 6} if kind == "attention" else {}
    model = build_recognizer(SequenceEncoder(get_encoder_config("tiny")), kind, get_charset("english95"), "HV", **kw)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: running stats = the batch's
    with torch.no_grad():
        model.train().features(torch.rand(8, 1, 32, WIDTH))
    for m in norms:
        m.momentum = 0.1
    return model.eval()


@pytest.fixture(scope="module")
def ctc_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "recognizer.pt"
    save_recognizer(path, _recognizer("ctc"), preprocessing=preprocessing_of(None) | {"width": WIDTH})
    return path


@pytest.fixture(scope="module")
def exported(ctc_file, ort, tmp_path_factory):
    model = load_recognizer(ctc_file)
    return model, export.export_onnx(model, tmp_path_factory.mktemp("onnx") / "rec.onnx")


def _word_arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, size=(30, w), dtype=np.uint8) for w in (40, 95, 160)]


def test_onnx_round_trip_matches_torch_at_two_widths(exported, ort):
    model, path = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, out.name) == ("images", "logits")
    assert inp.shape[0] == "batch" and inp.shape[1:3] == [1, 32] and inp.shape[3] == "width"  # dynamic batch, width
    g = torch.Generator().manual_seed(3)
    texts = []
    for n, w in ((3, WIDTH), (1, 97)):  # traced with batch 2 at width 48
        x = torch.rand(n, 1, 32, w, generator=g)
        with torch.no_grad():
            ref = model.decoder(model.features(x)[0]).numpy()
        got = session.run(None, {"images": x.numpy()})[0]
        assert got.shape == ref.shape == (n, w // 4 + 1, 96)
        assert np.abs(got - ref).max() < 1e-4
        onnx_texts = export.greedy_texts(got, model.charset.symbols)
        assert onnx_texts == model.predict(x)
        texts += onnx_texts
    assert all(texts) and len(set(texts)) == len(texts)  # the decodes depend on the image


def test_metadata_makes_the_file_usable_alone(exported, ctc_file):
    model, path = exported
    meta = export.onnx_metadata(path)
    assert meta["seqclr.format"] == export.ONNX_FORMAT and meta["seqclr.decoder"] == "ctc" and meta["seqclr.blank"] == "0"
    assert meta["seqclr.charset"] == {"name": "english95", "symbols": model.charset.symbols, "case_sensitive": True}
    assert meta["seqclr.preprocessing"] == model.preprocessing and meta["seqclr.preprocessing"]["width"] == WIDTH
    assert meta["seqclr.frames"] == "floor(W / 4) + 1" and meta["seqclr.source"] == "recognizer.pt"
    assert meta["seqclr.encoder_config"]["hidden"] == 64
    assert meta["seqclr.weights_sha256"] == torch.load(ctc_file, weights_only=True)["digest"]
    assert meta["seqclr.representation"] == "HV" and "seqclr.feature" not in meta
    raw = _word_arrays()  # any sizes: resized by the metadata's preprocessing
    assert export.OnnxRecognizer(path).read(raw, batch_size=2) == model.read(raw)


def test_an_export_of_before_the_rename_is_still_understood(exported, tmp_path):
    """A file exported before the rename holds ``seqclr.feature``: onnx_metadata (and so
    OnnxRecognizer) reads it as ``seqclr.representation``; the file reads the same."""
    import onnx

    model, path = exported
    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key == "seqclr.representation":
            prop.key = "seqclr.feature"  # the key as exported before the rename
    old = tmp_path / "old.onnx"
    old.write_bytes(proto.SerializeToString())
    assert "seqclr.feature" in {p.key for p in onnx.load(str(old)).metadata_props}
    meta = export.onnx_metadata(old)
    assert meta["seqclr.representation"] == "HV" and "seqclr.feature" not in meta
    assert meta == export.onnx_metadata(path)
    raw = _word_arrays()
    reader = export.OnnxRecognizer(old)
    assert reader.metadata["seqclr.representation"] == "HV"
    assert reader.read(raw) == export.OnnxRecognizer(path).read(raw) == model.read(raw)


def test_verify_reports_the_largest_logit_difference(exported):
    model, path = exported
    report = export.verify_onnx(model, path)
    assert report["widths"] == [WIDTH, 2 * WIDTH] and report["images"] == 3
    assert 0.0 <= report["max_abs_diff"] < 1e-4 and report["decodes_equal"]
    assert report["max_abs_diff"] == max(report["per_width"].values())
    own = export.verify_onnx(model, path, images=_word_arrays(), widths=(WIDTH, 75))
    assert own["widths"] == [WIDTH, 75] and own["images"] == 3 and own["decodes_equal"] and own["max_abs_diff"] < 1e-4


@pytest.mark.parametrize("overrides", [{"feature_extractor": "vgg"}, {"transformation": "tps", "input_norm": True}])
def test_other_encoders_export_with_dynamic_width(overrides, ort, tmp_path):
    torch.manual_seed(0)
    model = build_recognizer(SequenceEncoder(get_encoder_config("tiny", **overrides)), "ctc", get_charset("english95"), "V")
    model.eval().preprocessing = preprocessing_of(None) | {"width": WIDTH}
    report = export.verify_onnx(model, export.export_onnx(model, tmp_path / "m.onnx"), widths=(WIDTH, 83))
    assert report["decodes_equal"] and report["max_abs_diff"] < 1e-4


def test_export_subcommand_writes_and_reports(ctc_file, ort, tmp_path, capsys):
    from PIL import Image

    from seqclr.cli import main

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(_word_arrays()[:2]):
        Image.fromarray(img).save(folder / f"w{i}.png")
    out = tmp_path / "cli.onnx"
    assert main(["export", str(ctc_file), "--onnx", str(out), "--images", str(folder)]) == 0
    stdout = capsys.readouterr().out
    assert out.is_file() and export.onnx_metadata(out)["seqclr.format"] == export.ONNX_FORMAT
    match = re.search(r"on 2 image\(s\) at widths 48 and 96: max abs difference of the logits (\S+); greedy decodes agree", stdout)
    assert match, stdout
    assert float(match.group(1)) < 1e-4
    assert "width 48: max abs diff" in stdout and "width 96: max abs diff" in stdout


def test_attention_recognizer_is_refused(tmp_path, ort):
    path = tmp_path / "attention.pt"
    save_recognizer(path, _recognizer("attention"), preprocessing=preprocessing_of(None))
    with pytest.raises(export.ExportError, match="only CTC recognizers"):
        export.export_onnx(load_recognizer(path), tmp_path / "x.onnx")
    out = tmp_path / "attention.onnx"
    proc = subprocess.run(  # the python -m entry point, the same as ``seqclr export``
        [sys.executable, "-m", "seqclr.evaluate.export", str(path), "--onnx", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2 and not out.exists() and not proc.stdout
    (line,) = proc.stderr.strip().splitlines()
    assert str(path) in line and "AttentionDecoder" in line and "not exported" in line


def test_missing_and_truncated_recognizer_files_are_refused(ctc_file, ort, tmp_path, capsys):
    truncated = tmp_path / "truncated.pt"
    data = ctc_file.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    for bad in (tmp_path / "missing.pt", truncated):
        out = tmp_path / f"{bad.stem}.onnx"
        assert export.main([str(bad), "--onnx", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and str(bad) in err and "\n" not in err and not out.exists()
    with pytest.raises(export.ExportError, match="not a seqclr ONNX export|unreadable ONNX file"):
        export.onnx_metadata(truncated)
    # an unreadable check image is refused before anything is written
    out, bad_image = tmp_path / "img.onnx", tmp_path / "bad.png"
    bad_image.write_bytes(b"not an image")
    assert export.main([str(ctc_file), "--onnx", str(out), "--images", str(bad_image)]) == 2
    assert "bad.png" in capsys.readouterr().err and not out.exists()


def test_missing_optional_extra_is_named(ctc_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    with pytest.raises(export.ExportError, match=r"missing: .*onnxruntime.*seqclr\[onnx\]"):
        export.require_onnx()
    out = tmp_path / "never.onnx"
    assert export.main([str(ctc_file), "--onnx", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "pip install 'seqclr[onnx]'" in err and not out.exists()
