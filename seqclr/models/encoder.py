"""Base encoder f(.) (section 4): transformation -> feature extraction -> map-to-sequence (V) ->
sequence modeling (H).

Variable widths: images are right-padded to a common width W and ``widths`` gives each real width
W_i. Frame counts T_i = frames_for_width(W_i) come from the conv arithmetic. The BiLSTM stack only
sees the T_i real frames (packed), so H on real frames does not depend on padded frames; padded
frames of V and H are zeroed. The CNN itself is not masked: the last real frames have receptive
fields reaching into the padded pixels (as in any padded-batch recognizer); pad with the paper
colour (1.0 = white) to keep that mild. With TPS the whole padded image is rectified; the paper
resizes every image to 32x100, where none of this matters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from seqclr.models.feature_extraction import FEATURE_EXTRACTORS, build_feature_extractor, map_to_sequence, resnet_frames, vgg_frames
from seqclr.models.sequence_modeling import SequenceModeling, lengths_to_mask
from seqclr.models.transformation import build_transformation

REPRESENTATIONS = ("V", "H", "HV")


def frames_for_width(width: int | torch.Tensor, feature_extractor: str = "resnet") -> int | torch.Tensor:
    """Number of frames T produced for an image ``width`` pixels wide (int or int tensor).

    ResNet: floor(W/4) + 1 (26 at W=100); VGG (either batch norm): floor(W/4) - 1 (24 at W=100)."""
    if feature_extractor == "resnet":
        return resnet_frames(width)
    if feature_extractor in ("vgg", "vgg-bn"):
        return vgg_frames(width)
    raise ValueError(f"encoder.py: unknown feature_extractor {feature_extractor!r} (expected one of {FEATURE_EXTRACTORS})")


@dataclass
class EncoderConfig:
    """Architecture of the base encoder. ``width`` scales CNN channels (512 * width at the output)."""

    transformation: str = "none"  # "none" | "tps"
    feature_extractor: str = "resnet"  # FEATURE_EXTRACTORS: "resnet" | "vgg" | "vgg-bn"
    width: float = 1.0
    hidden: int = 256
    num_lstm_layers: int = 2
    input_height: int = 32
    input_channels: int = 1
    num_fiducial: int = 20
    # Standardise each image (zero mean, unit std over its pixels) before the CNN: a remedy for
    # features that key on ink tone and paper rather than shape (beyond the paper; off by default).
    input_norm: bool = False

    def __post_init__(self) -> None:
        if self.transformation not in ("none", "tps"):
            raise ValueError(f"EncoderConfig: transformation {self.transformation!r} not in ('none', 'tps')")
        if self.feature_extractor not in FEATURE_EXTRACTORS:
            raise ValueError(f"EncoderConfig: feature_extractor {self.feature_extractor!r} not in {FEATURE_EXTRACTORS}")
        if self.input_height != 32:
            raise ValueError(f"EncoderConfig: input_height={self.input_height}; the CNNs are built for 32-pixel-high images")

    def to_dict(self) -> dict:
        return asdict(self)


ENCODER_PRESETS: dict[str, EncoderConfig] = {
    # Appendix D: 29-layer ResNet, two-layer BiLSTM with 256 hidden units, no TPS (handwriting).
    "paper": EncoderConfig(transformation="none", feature_extractor="resnet", width=1.0, hidden=256),
    # Same with TPS rectification (scene text, as in deep-text-recognition-benchmark).
    "paper-tps": EncoderConfig(transformation="tps", feature_extractor="resnet", width=1.0, hidden=256),
    "small": EncoderConfig(transformation="none", feature_extractor="resnet", width=0.25, hidden=128),
    # The ResNet at 1/8 width (1.2M parameters): the CPU study's encoder until the sweep measured cpu-vgg.
    "cpu": EncoderConfig(transformation="none", feature_extractor="resnet", width=1 / 8, hidden=128),
    # The CPU study's encoder: CRNN's VGG at 1/8 width with the BiLSTM of 128 (0.6M parameters, T = 24
    # at 32x100). Chosen by the recipe sweep (seqclr.evaluate.recipe_sweep, hw-v2 validation families):
    # about the cpu preset's accuracy per step at 2.4x its steps per CPU-second.
    "cpu-vgg": EncoderConfig(transformation="none", feature_extractor="vgg", width=1 / 8, hidden=128),
    # The CPU study's encoder since the second sweep: cpu-vgg with batch norm after every conv and each
    # image standardised on the way in. Same size and step time; on the hw-v2 validation families it
    # leaves CTC's blank plateau about 3x sooner (37.5% vs 8.2% of the words after 2,400 steps of 32).
    "cpu-vgg-bn": EncoderConfig(transformation="none", feature_extractor="vgg-bn", width=1 / 8, hidden=128,
                                input_norm=True),
    # cpu-vgg-bn at twice the width (1/4 of CRNN's channels): about 1.8x its step time on the CPU
    "cpu-vgg-bn-wide": EncoderConfig(transformation="none", feature_extractor="vgg-bn", width=1 / 4, hidden=128,
                                     input_norm=True),
    # Trains on a 2-core CPU; same T = 26 at 32x100 (too thin to read the hw-v2 words well).
    "tiny": EncoderConfig(transformation="none", feature_extractor="resnet", width=1 / 16, hidden=64),
}


def get_encoder_config(name: str, **overrides) -> EncoderConfig:
    """A copy of ENCODER_PRESETS[name] with ``overrides`` applied; an override of None keeps the
    preset's value (a config field left at None means "the preset's")."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if name not in ENCODER_PRESETS:
        raise ValueError(f"encoder.py: unknown encoder preset {name!r}; known: {sorted(ENCODER_PRESETS)}")
    return EncoderConfig(**{**ENCODER_PRESETS[name].to_dict(), **overrides})


@dataclass
class EncoderOutput:
    """V (N, T, Fv) visual frames, H (N, T, Fh) contextual frames, lengths (N,) int64 real frames."""

    V: torch.Tensor
    H: torch.Tensor
    lengths: torch.Tensor

    def representation(self, kind: str) -> torch.Tensor:
        """R for the contrastive loss: "V", "H" or "HV" (concat [H, V] on the feature axis)."""
        if kind == "V":
            return self.V
        if kind == "H":
            return self.H
        if kind == "HV":
            return torch.cat([self.H, self.V], dim=-1)
        raise ValueError(f"encoder.py: unknown representation {kind!r}; expected one of {REPRESENTATIONS}")


class SequenceEncoder(nn.Module):
    """f(.): (N, C, 32, W) images in [0, 1] -> EncoderOutput."""

    def __init__(self, cfg: EncoderConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or EncoderConfig()
        self.transformation = build_transformation(cfg.transformation, cfg.num_fiducial, cfg.input_channels, cfg.width)
        self.feature_extraction = build_feature_extractor(cfg.feature_extractor, cfg.input_channels, cfg.width)
        fv = self.feature_extraction.out_channels
        self.sequence_modeling = SequenceModeling(fv, cfg.hidden, cfg.num_lstm_layers)
        self.dims = {"V": fv, "H": self.sequence_modeling.out_dim, "HV": fv + self.sequence_modeling.out_dim}

    def representation_dim(self, kind: str) -> int:
        if kind not in self.dims:
            raise ValueError(f"encoder.py: unknown representation {kind!r}; expected one of {REPRESENTATIONS}")
        return self.dims[kind]

    def frames_for_width(self, width: int | torch.Tensor) -> int | torch.Tensor:
        return frames_for_width(width, self.cfg.feature_extractor)

    def lengths_for(self, x: torch.Tensor, widths: torch.Tensor | None) -> torch.Tensor:
        """(N,) int64 frame counts from the real widths (all W when ``widths`` is None)."""
        n, w = x.size(0), x.size(3)
        if widths is None:
            return torch.full((n,), self.frames_for_width(w), dtype=torch.long, device=x.device)
        widths = torch.as_tensor(widths, device=x.device)
        if widths.dim() != 1 or widths.numel() != n:
            raise ValueError(f"encoder.py: widths must have shape ({n},), got {tuple(widths.shape)}")
        if widths.is_floating_point() or (n and (int(widths.min()) < 1 or int(widths.max()) > w)):
            raise ValueError(f"encoder.py: widths must be integers in [1, {w}] (the padded width), got {widths.tolist()}")
        lengths = self.frames_for_width(widths.long())
        if n and int(lengths.min()) < 1:
            raise ValueError(f"encoder.py: widths {widths.tolist()} give images with no frame (too narrow)")
        return lengths

    def forward(self, x: torch.Tensor, widths: torch.Tensor | None = None) -> EncoderOutput:
        cfg = self.cfg
        if x.dim() != 4 or x.size(1) != cfg.input_channels or x.size(2) != cfg.input_height:
            raise ValueError(
                f"encoder.py: expected images (N, {cfg.input_channels}, {cfg.input_height}, W), got {tuple(x.shape)}"
            )
        lengths = self.lengths_for(x, widths)
        if cfg.input_norm:
            x = standardize_images(x)
        v = map_to_sequence(self.feature_extraction(self.transformation(x)))
        if v.size(1) != self.frames_for_width(x.size(3)):  # the formula is the contract: fail loudly
            raise RuntimeError(f"encoder.py: CNN gave {v.size(1)} frames for width {x.size(3)}")
        masked = widths is not None and bool((lengths < v.size(1)).any())
        if masked:
            v = v * lengths_to_mask(lengths, v.size(1)).unsqueeze(-1).to(v.dtype)
        h = self.sequence_modeling(v, lengths if masked else None)
        return EncoderOutput(V=v, H=h, lengths=lengths)


def standardize_images(x: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Each image of (N, C, H, W) shifted and scaled to zero mean and unit std over its pixels."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True)
    return (x - mean) / (std + eps)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
