"""Exploration (validation families only, one seed each): cheap encoder tweaks against the sweep's
cpu-vgg-b32-cosine-2400, through the sweep's own run_sweep (same data, recipe and validation).

    OMP_NUM_THREADS=1 .venv/bin/python outputs/reference/hw-v2/sweep/encoder_tweaks/run.py x-norm,x-bn,x-norm-bn,x-wide-norm-bn
    OMP_NUM_THREADS=1 .venv/bin/python outputs/reference/hw-v2/sweep/encoder_tweaks/run.py x-norm-bn 6000

x-norm: per-image standardised input; x-bn: batch norm after every VGG conv (written here as a
subclass, before the package had feature_extractor "vgg-bn"); x-wide: 1/4 width. Each candidate's
sweep.json lands in a folder of its name beside this file.
"""
import sys
from pathlib import Path

import torch.nn as nn
import seqclr.models.encoder as enc
import seqclr.models.feature_extraction as fe
from seqclr.evaluate import recipe_sweep as rs

HERE = Path(__file__).resolve().parent

class VGGBN(fe.VGGFeatureExtractor):
    def __init__(self, in_channels=1, width=1.0):
        super().__init__(in_channels, width)
        out = fe._channels(width, divisor=8); c = [out // 8, out // 4, out // 2, out]
        cbr = fe._conv_bn_relu
        self.net = nn.Sequential(*cbr(in_channels, c[0], 3, 1, 1), nn.MaxPool2d(2, 2), *cbr(c[0], c[1], 3, 1, 1), nn.MaxPool2d(2, 2),
            *cbr(c[1], c[2], 3, 1, 1), *cbr(c[2], c[2], 3, 1, 1), nn.MaxPool2d((2, 1), (2, 1)),
            *cbr(c[2], c[3], 3, 1, 1), *cbr(c[3], c[3], 3, 1, 1), nn.MaxPool2d((2, 1), (2, 1)), *cbr(c[3], c[3], 2, 1, 0))

BN = {"on": False}
orig = fe.build_feature_extractor
def build(kind, in_channels=1, width=1.0):
    if kind == "vgg" and BN["on"]:
        return VGGBN(in_channels, width)
    return orig(kind, in_channels, width)
enc.build_feature_extractor = build

base = enc.ENCODER_PRESETS["cpu-vgg"]
enc.ENCODER_PRESETS["x-norm"] = enc.EncoderConfig(**{**base.to_dict(), "input_norm": True})
enc.ENCODER_PRESETS["x-bn"] = base
enc.ENCODER_PRESETS["x-norm-bn"] = enc.ENCODER_PRESETS["x-norm"]
enc.ENCODER_PRESETS["x-wide"] = enc.EncoderConfig(**{**base.to_dict(), "width": 0.25})
enc.ENCODER_PRESETS["x-wide-norm-bn"] = enc.EncoderConfig(**{**base.to_dict(), "width": 0.25, "input_norm": True})
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 2400
for name in sys.argv[1].split(","):
    rs.CANDIDATES[f"{name}-{steps}"] = dict(encoder=name, iterations=steps, batch_size=32)
if __name__ == "__main__":
    names = [f"{n}-{steps}" for n in sys.argv[1].split(",")]
    for n in names:
        BN["on"] = "bn" in n
        rs.run_sweep("outputs/sweep", HERE / n, [n])
