"""Reading word images with a recognizer: load any image (PIL, array or path), preprocess it
exactly like the training data (the ``preprocessing`` dict saved in recognizer.pt: height, width,
keep_ratio, pad_value) and decode batches. Duck-typed on the recognizer (``predict``,
``predict_with_confidence``, ``preprocessing``), so seqclr.models.prediction.Recognizer.read and
seqclr.evaluate.recognizer_file share it without importing each other."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import torch
from PIL import Image

from seqclr.data.preprocess import resize_word, to_grayscale, to_tensor
from seqclr.data.readers.base import decode_image


def load_image(image) -> np.ndarray:
    """uint8 grayscale (H, W) of a PIL image, an array or an image file path; a file that cannot
    be read raises seqclr.data.readers.base.DataError naming it."""
    if isinstance(image, (str, os.PathLike)):
        return decode_image(image)
    if isinstance(image, (Image.Image, np.ndarray)):
        return to_grayscale(image)
    if torch.is_tensor(image):
        return to_grayscale(image.detach().cpu().numpy())
    raise TypeError(f"read: expected a PIL image, an array or a path, got {type(image).__name__}")


def preprocess_images(images: Iterable, preprocessing: dict) -> torch.Tensor:
    """float32 (N, 1, height, width) in [0, 1] as the training data: grayscale, resize_word with
    the saved height / width / keep_ratio / pad_value, to_tensor."""
    h, w = int(preprocessing["height"]), int(preprocessing["width"])
    keep, pad = bool(preprocessing.get("keep_ratio", False)), preprocessing.get("pad_value")
    arrays = [resize_word(load_image(im), None, h, w, keep, pad)[0] for im in images]
    return to_tensor(np.stack(arrays)) if arrays else torch.zeros(0, 1, h, w)


@torch.no_grad()
def read_images(
    recognizer,
    images,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    preprocessing: dict | None = None,
    confidence: bool = False,
) -> list[str] | list[tuple[str, list[float]]]:
    """The strings ``recognizer`` reads in ``images`` (one image or a sequence of PIL images,
    arrays or paths, any size), in order, ``batch_size`` at a time. ``device``: where to run
    (the model is moved there; default: where its parameters are). ``preprocessing``: default
    ``recognizer.preprocessing`` (set by load_recognizer / save_recognizer). ``confidence``:
    (text, per-character confidences in [0, 1], one per character) pairs instead, from
    ``recognizer.predict_with_confidence``."""
    prep = preprocessing if preprocessing is not None else getattr(recognizer, "preprocessing", None)
    if prep is None:
        raise ValueError(
            "read: this recognizer has no preprocessing (load it with load_recognizer, or pass "
            "preprocessing={'height': 32, 'width': ..., 'keep_ratio': ...})"
        )
    if batch_size < 1:
        raise ValueError(f"read: batch_size must be >= 1, got {batch_size}")
    single = isinstance(images, (str, os.PathLike, Image.Image)) or (
        isinstance(images, np.ndarray) and (images.ndim == 2 or (images.ndim == 3 and images.shape[2] in (1, 3, 4)))
    )
    items = [images] if single else list(images)
    if device is not None:
        recognizer.to(device)
    dev = next(recognizer.parameters()).device
    was_training = recognizer.training
    recognizer.eval()
    predict = recognizer.predict_with_confidence if confidence else recognizer.predict
    out: list = []
    try:
        for start in range(0, len(items), batch_size):
            batch = preprocess_images(items[start : start + batch_size], prep).to(dev)
            out.extend(predict(batch))
    finally:
        recognizer.train(was_training)
    return out
