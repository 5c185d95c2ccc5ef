"""The one record every data source in seqclr yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class WordSample:
    """A word image with its transcription.

    image: uint8 grayscale array of shape (H, W); 0 is black ink, 255 white paper (sources that
        store color are converted to grayscale by their reader).
    label: the transcription as stored by the source (before charset filtering).
    char_boxes: float32 array of shape (len(label), 2) with each character's horizontal extent
        [x0, x1) in pixel columns of ``image``, or None when the source does not know it (real
        datasets). The embedded renderer records it; the embedding views color instances by it.
    meta: free-form provenance (source file, font family, writer id, ...).
    """

    image: np.ndarray
    label: str
    char_boxes: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
