"""Export a saved CTC recognizer to ONNX for deployment:
``python -m seqclr.evaluate.export RECOGNIZER --onnx out.onnx [--images IMAGE_OR_FOLDER...]``
(or ``seqclr export ...``).

The graph is the recognizer up to its logits (encoder + CTC head), exported by torch's
TorchScript-based exporter (``dynamo=False``, opset 17):

- input ``images``: float32 (N, 1, height, W) in [0, 1], 1 = white paper (height is the
  encoder's, 32); batch N and width W are dynamic;
- output ``logits``: float32 (N, T, n + 1), T = frames_for_width(W) (ResNet: floor(W / 4) + 1),
  class 0 the CTC blank and class i + 1 the charset's symbol i. Every frame is real (no padding
  mask): pass one image per width, or a batch resized to a common width as ``seqclr read`` does.

Greedy decoding (argmax per frame, merge repeats, drop blanks) is the caller's
(:class:`OnnxRecognizer` does it in numpy). The file stands alone: its ``metadata_props`` hold
``seqclr.format`` (``seqclr-onnx-v1``), ``seqclr.charset`` and ``seqclr.preprocessing`` (JSON:
the symbols; height, width, keep_ratio, pad_value of seqclr.data.preprocess.resize_word),
``seqclr.decoder`` ("ctc"), ``seqclr.blank`` ("0"), ``seqclr.frames``, ``seqclr.representation``,
``seqclr.encoder_config``, ``seqclr.weights_sha256`` and ``seqclr.version``
(:func:`onnx_metadata` reads them back; a file exported before the rename has
``seqclr.feature``, read as ``seqclr.representation``).

After writing, the command checks the file with onnxruntime against torch on a few images (the
given ones, else words drawn with PIL's default font) at two widths (the saved width and twice
it) and prints the largest absolute difference of the logits and whether the greedy decodes
agree. Exit status: 0 when they agree within ``--atol``, 1 when not (the file is written), 2 for
a bad recognizer file, an attention recognizer (its autoregressive decoding is not exported),
an unreadable image or the missing optional extra ``onnx`` (``pip install 'seqclr[onnx]'``).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from seqclr import __version__
from seqclr.data.readers.base import DataError
from seqclr.data.reading import load_image, preprocess_images
from seqclr.evaluate.read import expand
from seqclr.evaluate.recognizer_file import load_recognizer
from seqclr.exits import guarded
from seqclr.models.prediction import CTCDecoder, ctc_collapse
from seqclr.train.checkpoint import CheckpointError, atomic_write_bytes, state_digest

ONNX_FORMAT = "seqclr-onnx-v1"
OPSET = 17
EXTRA_HINT = "pip install 'seqclr[onnx]'"


class ExportError(RuntimeError):
    """The recognizer cannot be exported or checked (one line, naming the file)."""

    exit_code = 2  # seqclr.exits: one line and this exit status on the command line


def require_onnx():
    """(onnx, onnxruntime), or ExportError naming the optional extra when either is missing."""
    missing, modules = [], []
    for name in ("onnx", "onnxruntime"):
        try:
            modules.append(__import__(name))
        except ImportError:
            missing.append(name)
    if missing:
        names = ", ".join(missing)
        raise ExportError(f"ONNX export needs the optional packages onnx and onnxruntime (missing: {names}); {EXTRA_HINT}")
    return tuple(modules)


class CTCLogits(nn.Module):
    """What is exported: images (N, 1, H, W) -> CTC logits (N, T, n + 1) of a CTC Recognizer."""

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        self.recognizer = recognizer

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features, _ = self.recognizer.features(images)
        return self.recognizer.decoder(features)


def _name(recognizer) -> str:
    return str(getattr(recognizer, "source_path", None) or "recognizer")


def _cpu_eval(recognizer) -> nn.Module:
    """The recognizer itself when it is on the CPU in float32, else a CPU float32 copy; eval mode."""
    p = next(recognizer.parameters())
    if p.device.type != "cpu" or p.dtype != torch.float32:
        recognizer = copy.deepcopy(recognizer).cpu().float()
    return recognizer.eval()


def check_exportable(recognizer) -> None:
    """ExportError (one line naming the file) unless ``recognizer`` is a CTC recognizer with a
    charset and preprocessing."""
    decoder = getattr(recognizer.decoder, "_orig_mod", recognizer.decoder)
    if not isinstance(decoder, CTCDecoder):
        raise ExportError(
            f"{_name(recognizer)}: only CTC recognizers are exported to ONNX; this one has a "
            f"{type(decoder).__name__} (autoregressive attention decoding is not exported)"
        )
    if getattr(recognizer, "charset", None) is None or getattr(recognizer, "preprocessing", None) is None:
        raise ExportError(f"{_name(recognizer)}: export needs a charset and preprocessing (a recognizer of load_recognizer)")


def export_metadata(recognizer) -> dict[str, str]:
    """The ``metadata_props`` written into the ONNX file (string values, JSON where structured)."""
    cs, enc = recognizer.charset, recognizer.encoder
    frames = "floor(W / 4) + 1" if enc.cfg.feature_extractor == "resnet" else "floor(W / 4) - 1"
    return {
        "seqclr.format": ONNX_FORMAT,
        "seqclr.decoder": "ctc",
        "seqclr.blank": "0",
        "seqclr.charset": json.dumps({"name": cs.name, "symbols": cs.symbols, "case_sensitive": cs.case_sensitive}),
        "seqclr.preprocessing": json.dumps(recognizer.preprocessing),
        "seqclr.frames": frames,
        "seqclr.representation": str(recognizer.representation),
        "seqclr.encoder_config": json.dumps(enc.cfg.to_dict()),
        "seqclr.weights_sha256": state_digest(recognizer.state_dict()),
        "seqclr.source": Path(_name(recognizer)).name,
        "seqclr.version": str(__version__),
    }


def export_onnx(recognizer, path: str | os.PathLike, opset: int = OPSET) -> Path:
    """Write the CTC ``recognizer``'s logits graph (dynamic batch and width) with its metadata to
    ``path`` atomically; ExportError for an attention recognizer or without the onnx extra."""
    onnx, _ = require_onnx()
    check_exportable(recognizer)
    model = CTCLogits(_cpu_eval(recognizer)).eval()
    height, width = int(recognizer.encoder.cfg.input_height), int(recognizer.preprocessing["width"])
    example = torch.rand(2, 1, height, width, generator=torch.Generator().manual_seed(0))
    buf = io.BytesIO()
    with warnings.catch_warnings():  # shape checks traced as constants; the LSTM runs on any batch (checked)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # dynamo=False is deliberate (no onnxscript needed)
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*LSTM.*")
        torch.onnx.export(
            model, (example,), buf, dynamo=False, opset_version=opset,
            input_names=["images"], output_names=["logits"],
            dynamic_axes={"images": {0: "batch", 3: "width"}, "logits": {0: "batch", 1: "frames"}},
        )  # fmt: skip
    proto = onnx.load_from_string(buf.getvalue())
    onnx.helper.set_model_props(proto, export_metadata(recognizer))
    proto.doc_string = "seqclr CTC recognizer: images (N, 1, H, W) in [0, 1] -> logits (N, T, classes); see metadata_props"
    atomic_write_bytes(proto.SerializeToString(), path)
    return Path(path)


def onnx_metadata(path: str | os.PathLike) -> dict:
    """The ``metadata_props`` of an exported file, JSON values decoded (an older export's
    ``seqclr.feature`` under its new name ``seqclr.representation``); ExportError when the file
    is not a seqclr ONNX export."""
    onnx, _ = require_onnx()
    try:
        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception as err:  # missing, truncated or foreign files
        detail = str(err).splitlines()[0] if str(err) else ""
        raise ExportError(f"{path}: unreadable ONNX file: {type(err).__name__}: {detail}") from err
    if props.get("seqclr.format") != ONNX_FORMAT:
        raise ExportError(f"{path}: not a seqclr ONNX export (metadata seqclr.format {ONNX_FORMAT!r} expected)")
    if "seqclr.feature" in props and "seqclr.representation" not in props:  # exported before the rename
        props["seqclr.representation"] = props.pop("seqclr.feature")
    out: dict = {}
    for key, value in props.items():
        try:
            out[key] = json.loads(value) if value[:1] in "{[" else value
        except json.JSONDecodeError:
            out[key] = value
    return out


def greedy_texts(logits: np.ndarray, symbols: str) -> list[str]:
    """Greedy CTC decoding of (N, T, n + 1) logits (blank 0, symbol i at class i + 1)."""
    return ["".join(symbols[c - 1] for c in ctc_collapse(row)) for row in np.asarray(logits).argmax(-1).tolist()]


class OnnxRecognizer:
    """Reads images with an exported file alone (onnxruntime + its metadata; no torch weights):
    ``OnnxRecognizer("out.onnx").read([...])`` -> strings, as Recognizer.read."""

    def __init__(self, path: str | os.PathLike, providers: tuple[str, ...] = ("CPUExecutionProvider",)) -> None:
        _, ort = require_onnx()
        self.path = Path(path)
        self.metadata = onnx_metadata(path)
        self.preprocessing = dict(self.metadata["seqclr.preprocessing"])
        self.symbols = self.metadata["seqclr.charset"]["symbols"]
        self.session = ort.InferenceSession(str(path), providers=list(providers))

    def logits(self, images) -> np.ndarray:
        """(N, T, n + 1) logits of preprocessed images (N, 1, H, W) in [0, 1] (tensor or array)."""
        x = images.detach().cpu().numpy() if torch.is_tensor(images) else np.asarray(images)
        return self.session.run(["logits"], {"images": np.ascontiguousarray(x, dtype=np.float32)})[0]

    def read(self, images, batch_size: int = 64, preprocessing: dict | None = None) -> list[str]:
        """The strings in ``images`` (PIL images, arrays or paths), preprocessed as the metadata says."""
        prep, items, out = preprocessing or self.preprocessing, list(images), []
        for start in range(0, len(items), batch_size):
            out += greedy_texts(self.logits(preprocess_images(items[start : start + batch_size], prep)), self.symbols)
        return out


def sample_images(charset, n: int = 3) -> list[np.ndarray]:
    """``n`` uint8 word images (dark ink on white) of different lengths, drawn with PIL's default
    font from words in ``charset`` (the check's images when the user gives none)."""
    try:
        font = ImageFont.load_default(size=26)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        font = ImageFont.load_default()
    words = [charset.normalize(w) for w in ("Hello", "ONNX", "export42", "seqclr", "Word")]
    words = ["".join(c for c in w if c in charset) or charset.symbols[:4] for w in words]
    out = []
    for word in (words * n)[:n]:
        im = Image.new("L", (24 + 18 * len(word), 40), 255)
        ImageDraw.Draw(im).text((6, 4), word, font=font, fill=20)
        out.append(np.asarray(im))
    return out


def verify_onnx(recognizer, path: str | os.PathLike, images=None, widths: tuple[int, ...] | None = None) -> dict:
    """onnxruntime against torch on ``images`` (default :func:`sample_images`) preprocessed as the
    recognizer's data at each of ``widths`` (default: the saved width and twice it). Returns
    max_abs_diff (of the logits, over all), per_width {width: diff}, decodes_equal, the texts
    of both, images and widths."""
    model = _cpu_eval(recognizer)
    reader = OnnxRecognizer(path)
    arrays = [load_image(im) for im in (sample_images(model.charset) if images is None else images)]
    if not arrays:
        raise ExportError("verify_onnx: no images to check with")
    w0 = int(model.preprocessing["width"])
    widths = tuple(int(w) for w in (widths or (w0, 2 * w0)))
    logits_of = CTCLogits(model).eval()
    report = {"images": len(arrays), "widths": list(widths), "per_width": {}, "torch_texts": {}, "onnx_texts": {}}
    for w in widths:
        x = preprocess_images(arrays, {**model.preprocessing, "width": w})
        with torch.no_grad():
            ref = logits_of(x).numpy()
            torch_texts = model.predict(x)
        got = reader.logits(x)
        if got.shape != ref.shape:
            raise ExportError(f"{path}: onnxruntime gave logits {got.shape} at width {w}, torch {ref.shape}")
        report["per_width"][w] = float(np.abs(got - ref).max())
        report["torch_texts"][w], report["onnx_texts"][w] = torch_texts, greedy_texts(got, reader.symbols)
    report["max_abs_diff"] = max(report["per_width"].values())
    report["decodes_equal"] = report["torch_texts"] == report["onnx_texts"]
    return report


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="seqclr export",
        description="Export a saved CTC recognizer (recognizer.pt) to ONNX (dynamic batch and width) and check "
        "it against onnxruntime. Needs the optional extra: " + EXTRA_HINT,
    )
    parser.add_argument("recognizer", help="a recognizer.pt written by an evaluation run (CTC decoder)")
    parser.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    parser.add_argument("--images", nargs="+", default=None, metavar="IMAGE_OR_FOLDER",
                        help="images to check with (default: a few words drawn with PIL's default font)")
    parser.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default: {OPSET})")
    parser.add_argument("--atol", type=float, default=1e-3,
                        help="largest accepted absolute difference of the logits (default: 1e-3)")
    return parser.parse_args(argv)


@guarded
def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        _, ort = require_onnx()
        model = load_recognizer(args.recognizer, map_location="cpu")
        check_exportable(model)
        images = None if args.images is None else [load_image(f) for f in expand(args.images)]
        if images == []:
            raise ExportError(f"no image files in {' '.join(args.images)}")
        path = export_onnx(model, args.onnx, opset=args.opset)
        size = path.stat().st_size / 2**20
        print(f"wrote {path} ({size:.2f} MB, opset {args.opset}): images float32 (N, 1, {model.encoder.cfg.input_height}, W) "
              f"in [0, 1] -> logits (N, T, {len(model.charset) + 1}), T = {onnx_metadata(path)['seqclr.frames']}; "
              "charset and preprocessing in its metadata")  # fmt: skip
        report = verify_onnx(model, path, images)
    except (ExportError, CheckpointError, DataError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    widths = " and ".join(map(str, report["widths"]))
    verdict = "agree" if report["decodes_equal"] else "DIFFER"
    print(f"onnxruntime {ort.__version__} vs torch on {report['images']} image(s) at widths {widths}: "
          f"max abs difference of the logits {report['max_abs_diff']:.3g}; greedy decodes {verdict}")  # fmt: skip
    for w in report["widths"]:
        texts = ", ".join(repr(t) for t in report["onnx_texts"][w])
        print(f"  width {w}: max abs diff {report['per_width'][w]:.3g}; onnx reads {texts}")
    ok = report["decodes_equal"] and report["max_abs_diff"] <= args.atol
    if not ok:
        print(f"error: the ONNX file does not match torch (atol {args.atol:g})", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
