"""Saved recognizers (``recognizer.pt``) and reading images with them.

Every evaluation protocol run (decoder evaluation, fine-tuning, supervised baseline) writes
``recognizer.pt`` in its output folder with :func:`save_recognizer`; :func:`load_recognizer`
rebuilds the :class:`~seqclr.models.prediction.Recognizer` (in eval mode, on ``map_location``)
and :func:`read_images` / ``Recognizer.read`` read PIL images, arrays or image files with it,
preprocessed exactly like the training data.

File format (``format: "seqclr-recognizer-v1"``), a dict of tensors and plain Python types only,
written atomically (temp file + fsync + ``os.replace``), loadable with
``torch.load(path, weights_only=True)``:

- ``state_dict``: the whole Recognizer state dict (``encoder.*`` and ``decoder.*``), CPU tensors;
- ``digest``: SHA-256 of ``state_dict`` (:func:`seqclr.train.checkpoint.state_digest`);
- ``encoder_config``: the EncoderConfig fields (including ``input_norm``);
- ``decoder``: "ctc" | "attention"; ``decoder_options``: {} or {"hidden", "max_len"};
- ``representation``: the representation the decoder reads, "V" | "H" | "HV" (a file written
  before the rename has it under ``feature``, its old name: read as ``representation``);
- ``charset``: {"name", "symbols", "case_sensitive"} (the symbols themselves, not only the name);
- ``preprocessing``: {"height", "width", "keep_ratio", "pad_value", "grayscale": True,
  "scale": "[0, 1], 1 = white"}, the arguments of seqclr.data.preprocess.resize_word;
- ``case_sensitive``: how the run scored predictions; ``encoder_frozen``: decoder evaluation;
- ``config``: the run's config dict (or None); ``pretrain_config``: the encoder's (or None);
- ``seqclr_version``.

With ``val_every`` > 0 the saved weights are the best-on-validation ones: train_recognizer loads
that state into the model before it returns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqclr import __version__
from seqclr.data.charset import Charset

# Reading lives in seqclr.data.reading (the model's Recognizer.read uses it too); re-exported here.
from seqclr.data.reading import load_image, preprocess_images, read_images  # noqa: F401
from seqclr.models.encoder import EncoderConfig, SequenceEncoder
from seqclr.models.prediction import AttentionDecoder, CTCDecoder, build_recognizer
from seqclr.train.checkpoint import CheckpointError, atomic_torch_save, state_digest

FORMAT = "seqclr-recognizer-v1"
FILENAME = "recognizer.pt"
_KEYS = ("state_dict", "digest", "encoder_config", "decoder", "decoder_options", "representation", "charset", "preprocessing")


def preprocessing_of(cfg: Any = None, dataset: Any = None) -> dict:
    """The preprocessing a recognizer reads with: the training ``dataset``'s (a WordDataset's
    height / width / keep_ratio / pad_value) when it has them, else ``cfg``'s (height, width; the
    protocols' WordDatasets use a plain resize), else 32 x 100."""
    src = dataset if dataset is not None and hasattr(dataset, "height") and hasattr(dataset, "width") else cfg

    def get(name, default):
        value = getattr(src, name, default) if src is not None else default
        return default if value is None and default is not None else value

    pad = get("pad_value", None)
    return {
        "height": int(get("height", 32)),
        "width": int(get("width", 100)),
        "keep_ratio": bool(get("keep_ratio", False)),
        "pad_value": None if pad is None else int(pad),
        "grayscale": True,
        "scale": "[0, 1], 1 = white",
    }


def _decoder_spec(decoder: torch.nn.Module) -> tuple[str, dict]:
    if isinstance(decoder, CTCDecoder):
        return "ctc", {}
    if isinstance(decoder, AttentionDecoder):
        return "attention", {"hidden": int(decoder.hidden), "max_len": int(decoder.max_len)}
    raise TypeError(f"save_recognizer: unknown decoder type {type(decoder).__name__}")


def save_recognizer(path: str | os.PathLike, model, cfg: Any = None, preprocessing: dict | None = None) -> Path:
    """Write ``model`` (a Recognizer with a charset) and what reading needs to ``path``
    atomically. ``cfg``: the run's RecognizerTrainConfig (or a dict, or None); ``preprocessing``:
    see :func:`preprocessing_of` (default: from ``cfg``). The preprocessing is also attached to
    ``model`` as ``model.preprocessing`` so ``model.read`` works in memory."""
    if getattr(model, "charset", None) is None:
        raise ValueError(f"{path}: save_recognizer needs a Recognizer with a charset")
    encoder = getattr(model.encoder, "_orig_mod", model.encoder)
    kind, options = _decoder_spec(getattr(model.decoder, "_orig_mod", model.decoder))
    prep = dict(preprocessing) if preprocessing is not None else preprocessing_of(cfg)
    config = cfg.to_dict() if hasattr(cfg, "to_dict") else (dict(cfg) if cfg is not None else None)
    state = {k.replace("_orig_mod.", ""): v.detach().cpu().clone() for k, v in model.state_dict().items()}
    cs = model.charset
    case_sensitive = config.get("case_sensitive", cs.case_sensitive) if config else cs.case_sensitive
    payload = {
        "format": FORMAT,
        "seqclr_version": str(__version__),
        "encoder_config": encoder.cfg.to_dict(),
        "decoder": kind,
        "decoder_options": options,
        "representation": str(model.representation),
        "charset": {"name": str(cs.name), "symbols": str(cs.symbols), "case_sensitive": bool(cs.case_sensitive)},
        "preprocessing": prep,
        "case_sensitive": bool(case_sensitive),
        "encoder_frozen": bool(getattr(model, "encoder_frozen", False)),
        "config": config,
        "pretrain_config": getattr(encoder, "pretrain_config", None),
        "state_dict": state,
        "digest": state_digest(state),
    }
    atomic_torch_save(payload, path)
    model.preprocessing = dict(prep)
    return Path(path)


def read_recognizer_file(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """The checked payload of a recognizer file (an old file's ``feature`` key read as
    ``representation``); CheckpointError naming ``path`` when it is missing, unreadable
    (truncated, corrupt), of another format or fails its digest."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such recognizer file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # zip / unpickler errors of truncated, corrupt or foreign files
        detail = str(err).splitlines()[0] if str(err) else ""
        raise CheckpointError(f"{path}: unreadable recognizer file (truncated or corrupt?): {type(err).__name__}: {detail}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a seqclr recognizer file (format {FORMAT!r} expected, found {found!r})")
    if "feature" in payload and "representation" not in payload:  # written before the rename
        payload["representation"] = payload.pop("feature")
    missing = [k for k in _KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"{path}: recognizer file lacks {missing}")
    if state_digest(payload["state_dict"]) != payload["digest"]:
        raise CheckpointError(f"{path}: recognizer file is corrupt (weight digest mismatch)")
    return payload


def load_recognizer(path: str | os.PathLike, map_location: str | torch.device = "cpu"):
    """The Recognizer saved by :func:`save_recognizer`, in eval mode, with ``preprocessing``,
    ``case_sensitive``, ``config`` and ``source_path`` attributes. CheckpointError (one line naming
    the file) for a missing, truncated, corrupt or foreign file."""
    payload = read_recognizer_file(path, map_location)
    try:
        cs = payload["charset"]
        charset = Charset(cs["symbols"], name=cs["name"], case_sensitive=cs["case_sensitive"])
        encoder = SequenceEncoder(EncoderConfig(**payload["encoder_config"]))
        encoder.pretrain_config = payload.get("pretrain_config")
        model = build_recognizer(encoder, payload["decoder"], charset, payload["representation"], **payload["decoder_options"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{path}: recognizer file does not rebuild: {type(err).__name__}: {msg}") from err
    model.to(map_location)
    if payload.get("encoder_frozen"):
        model.freeze_encoder()
    model.preprocessing = dict(payload["preprocessing"])
    model.case_sensitive = payload.get("case_sensitive", True)
    model.config = payload.get("config")
    model.source_path = str(path)
    return model.eval()
