"""Stage 2: feature extraction CNN + map-to-sequence (section 3; appendix D).

Two backbones modelled on deep-text-recognition-benchmark:

* ``ResNetFeatureExtractor``: the 29-layer ResNet of FAN / the benchmark (BasicBlock, layers
  [1, 2, 5, 3], 512 output channels at width 1.0). A 1x32x100 input gives a 512x1x26 map.
* ``VGGFeatureExtractor``: the CRNN-style VGG (512x1x24 for 1x32x100). ``vgg`` keeps CRNN's
  batch norm on conv5 and conv6 only (as the benchmark does); ``vgg-bn`` puts it after every conv,
  which at CPU scale leaves CTC's blank plateau far sooner (hw-v2 recipe sweep).

``width`` scales every channel count (512 * width output channels) to build smaller presets.
Map-to-sequence: adaptive average pooling of the height to 1, then (N, T, C).

Frame counts follow from the conv arithmetic (see ``frames_for_width``): the ResNet keeps
T = floor(W / 4) + 1, the VGG T = floor(W / 4) - 1.
"""

from __future__ import annotations

import torch
from torch import nn

FEATURE_EXTRACTORS = ("resnet", "vgg", "vgg-bn")


def _channels(width: float, base: int = 512, divisor: int = 16) -> int:
    out = int(round(base * width))
    if out <= 0 or out % divisor:
        raise ValueError(
            f"feature_extraction.py: width={width} gives {out} output channels; "
            f"512*width must be a positive multiple of {divisor}"
        )
    return out


def resnet_frames(width: int) -> int:
    """Frames of the ResNet for an input of ``width`` columns.

    maxpool 2x2 (W -> floor(W/2)), maxpool 2x2 (-> floor(W/4)), maxpool k2 s(2,1) p(0,1) (+1),
    conv k2 s(2,1) p(0,1) (+1), conv k2 s1 p0 (-1): T = floor(W/4) + 1.
    """
    return width // 2 // 2 + 1


def vgg_frames(width: int) -> int:
    """Frames of the VGG: two 2x2 maxpools (floor(W/4)), then a k2 p0 conv (-1)."""
    return width // 2 // 2 - 1


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with BN, identity (or 1x1-projection) shortcut."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


def _conv_bn_relu(cin: int, cout: int, kernel, stride, padding) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class ResNetFeatureExtractor(nn.Module):
    """29-layer ResNet (2 stem + 2*(1+2+5+3) block + 5 stage convs) -> (N, C, 1, T) after pooling."""

    def __init__(self, in_channels: int = 1, width: float = 1.0, layers: tuple[int, ...] = (1, 2, 5, 3)) -> None:
        super().__init__()
        out = _channels(width)
        block_ch = [out // 4, out // 2, out, out]
        self.out_channels = out
        self.inplanes = out // 8
        stem = _conv_bn_relu(in_channels, out // 16, 3, 1, 1) + _conv_bn_relu(out // 16, self.inplanes, 3, 1, 1)
        self.stem = nn.Sequential(*stem)
        self.stage1 = nn.Sequential(
            nn.MaxPool2d(2, 2), self._make_layer(block_ch[0], layers[0]), *_conv_bn_relu(block_ch[0], block_ch[0], 3, 1, 1)
        )
        self.stage2 = nn.Sequential(
            nn.MaxPool2d(2, 2), self._make_layer(block_ch[1], layers[1]), *_conv_bn_relu(block_ch[1], block_ch[1], 3, 1, 1)
        )
        self.stage3 = nn.Sequential(
            nn.MaxPool2d(2, (2, 1), (0, 1)),
            self._make_layer(block_ch[2], layers[2]),
            *_conv_bn_relu(block_ch[2], block_ch[2], 3, 1, 1),
        )
        self.stage4 = nn.Sequential(
            self._make_layer(block_ch[3], layers[3]),
            *_conv_bn_relu(block_ch[3], block_ch[3], 2, (2, 1), (0, 1)),
            *_conv_bn_relu(block_ch[3], block_ch[3], 2, 1, 0),
        )

    def _make_layer(self, planes: int, blocks: int) -> nn.Sequential:
        downsample = None
        if self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, 1, bias=False), nn.BatchNorm2d(planes))
        mods = [BasicBlock(self.inplanes, planes, downsample)]
        self.inplanes = planes
        mods += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage4(self.stage3(self.stage2(self.stage1(self.stem(x)))))


class VGGFeatureExtractor(nn.Module):
    """CRNN-style VGG (7 convs) -> (N, C, 2, T) for 32-pixel-high inputs. ``batch_norm``: "crnn"
    (conv5 and conv6 only, as CRNN and the benchmark) or "all" (after every conv)."""

    def __init__(self, in_channels: int = 1, width: float = 1.0, batch_norm: str = "crnn") -> None:
        super().__init__()
        if batch_norm not in ("crnn", "all"):
            raise ValueError(f"feature_extraction.py: VGG batch_norm {batch_norm!r} not in ('crnn', 'all')")
        out = _channels(width, divisor=8)
        c = [out // 8, out // 4, out // 2, out]
        self.out_channels = out

        def conv(cin: int, cout: int, kernel: int, padding: int, bn: bool) -> list[nn.Module]:
            if bn or batch_norm == "all":
                return _conv_bn_relu(cin, cout, kernel, 1, padding)
            return [nn.Conv2d(cin, cout, kernel, 1, padding), nn.ReLU(inplace=True)]

        self.net = nn.Sequential(
            *conv(in_channels, c[0], 3, 1, False), nn.MaxPool2d(2, 2),
            *conv(c[0], c[1], 3, 1, False), nn.MaxPool2d(2, 2),
            *conv(c[1], c[2], 3, 1, False),
            *conv(c[2], c[2], 3, 1, False), nn.MaxPool2d((2, 1), (2, 1)),
            *conv(c[2], c[3], 3, 1, True),
            *conv(c[3], c[3], 3, 1, True), nn.MaxPool2d((2, 1), (2, 1)),
            *conv(c[3], c[3], 2, 0, False),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def map_to_sequence(feature_map: torch.Tensor) -> torch.Tensor:
    """(N, C, H', T) -> (N, T, C): average the height away, frames become the sequence axis."""
    return feature_map.mean(dim=2).transpose(1, 2)


def build_feature_extractor(kind: str, in_channels: int = 1, width: float = 1.0) -> nn.Module:
    if kind == "resnet":
        return ResNetFeatureExtractor(in_channels, width)
    if kind in ("vgg", "vgg-bn"):
        return VGGFeatureExtractor(in_channels, width, batch_norm="all" if kind == "vgg-bn" else "crnn")
    raise ValueError(f"feature_extraction.py: unknown feature_extractor {kind!r} (expected one of {FEATURE_EXTRACTORS})")
