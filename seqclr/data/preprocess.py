"""Preprocessing to the recognizer's input: grayscale, resize to 32x100 (paper), tensors.

Two resize modes: plain resize to (height, width) as in the paper ("we pre-resize all images to
32 x 100"), or keep-ratio resize to the height with right padding up to the width (wider images
are squeezed to the width). Character boxes are remapped with the same horizontal scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from seqclr.data.sample import WordSample


def to_grayscale(image: np.ndarray | Image.Image) -> np.ndarray:
    """uint8 (H, W) from a PIL image or an array (H, W), (H, W, 3) or (H, W, 4); alpha is
    composited on white paper; 16-bit and float [0, 1] arrays are rescaled."""
    if isinstance(image, Image.Image):
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, rgba)
        elif image.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(image, dtype=np.float64)
            top = 65535.0 if arr.max() > 255 else 255.0
            return np.clip(np.rint(arr * 255.0 / top), 0, 255).astype(np.uint8)
        return np.asarray(image.convert("L"), dtype=np.uint8).copy()
    arr = np.asarray(image)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        arr = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
    elif arr.dtype == np.uint16:
        arr = (arr // 257).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        return arr
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return to_grayscale(Image.fromarray(arr, "RGBA" if arr.shape[2] == 4 else "RGB"))
    if arr.ndim == 3 and arr.shape[2] == 1:
        return arr[:, :, 0]
    raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")


def estimate_paper(image: np.ndarray) -> int:
    """The paper (background) gray level: the median of the image's one-pixel border."""
    img = np.asarray(image)
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    return int(np.median(border))


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC))


def resize_word(
    image: np.ndarray,
    char_boxes: np.ndarray | None = None,
    height: int = 32,
    width: int = 100,
    keep_ratio: bool = False,
    pad_value: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize a uint8 (H, W) image to (height, width) and remap the column boxes.

    keep_ratio: scale to ``height`` keeping the aspect ratio, then pad on the right up to
    ``width`` with ``pad_value`` (None: the paper color estimated from the border); an image
    wider than ``width`` after scaling is squeezed to ``width``.
    """
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be >= 1, got {height}x{width}")
    image = to_grayscale(image)
    h, w = image.shape
    if h == 0 or w == 0:
        raise ValueError(f"cannot resize an empty image of shape {image.shape}")
    if keep_ratio:
        new_w = int(min(width, max(1, round(w * height / h))))
        out = np.full((height, width), estimate_paper(image) if pad_value is None else pad_value, np.uint8)
        out[:, :new_w] = _resize(image, height, new_w)
    else:
        new_w = width
        out = _resize(image, height, width)
    boxes = None
    if char_boxes is not None:
        boxes = np.clip(np.asarray(char_boxes, dtype=np.float32) * (new_w / w), 0, new_w).astype(np.float32)
    return out, boxes


def preprocess(
    sample: WordSample, height: int = 32, width: int = 100, keep_ratio: bool = False, pad_value: int | None = None
) -> WordSample:
    """The sample resized to (height, width) with boxes remapped (label and meta kept)."""
    image, boxes = resize_word(sample.image, sample.char_boxes, height, width, keep_ratio, pad_value)
    return WordSample(image=image, label=sample.label, char_boxes=boxes, meta=dict(sample.meta))


def to_tensor(images: np.ndarray | Sequence[np.ndarray]) -> torch.Tensor:
    """float32 (N, 1, H, W) in [0, 1] (1 = white) from one uint8 (H, W) image, an (N, H, W)
    array, or a sequence of same-size (H, W) images."""
    if isinstance(images, np.ndarray) and images.ndim == 2:
        images = images[None]
    arr = np.stack([to_grayscale(im) for im in images]) if not isinstance(images, np.ndarray) else images
    if arr.ndim != 3:
        raise ValueError(f"expected (H, W) or (N, H, W) images, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {arr.dtype}")
    return torch.from_numpy(np.array(arr, dtype=np.uint8)).to(torch.float32).div_(255.0).unsqueeze(1)
