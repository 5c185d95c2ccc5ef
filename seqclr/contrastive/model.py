"""SeqCLR model: base encoder f -> representation R -> projection head g -> instance mapping m.

``SeqCLRModel.forward(x_a, x_b, widths)`` returns the aligned instance sets (Z^a, Z^b) for
``seqclr_nce_loss``. Both views go through the encoder as one batch (shared BatchNorm statistics,
one pass). ``model.encoder`` is the part kept for downstream decoder evaluation / fine-tuning.
"""

from __future__ import annotations

import torch
from torch import nn

from seqclr.contrastive.instance_mapping import MAPPINGS, Instances, get_instance_mapping
from seqclr.contrastive.projection_heads import build_projection_head
from seqclr.augment.view_shift import FrameSpans
from seqclr.contrastive.simclr import SimCLRHead, flatten_to_instance
from seqclr.models.encoder import EncoderConfig, SequenceEncoder, get_encoder_config

# Table 1 methods; heads per table 4 (BiLSTM for all/window, MLP per frame for frame).
METHOD_PRESETS: dict[str, dict] = {
    "seqclr-all": dict(representation="H", head="bilstm", mapping="all"),
    "seqclr-window": dict(representation="H", head="bilstm", mapping="window"),
    "seqclr-frame": dict(representation="H", head="mlp", mapping="frame"),
    "simclr": dict(representation="V", head="mlp", mapping="simclr"),
    "simclr-contextual": dict(representation="H", head="mlp", mapping="simclr"),
}
METHODS: tuple[str, ...] = tuple(METHOD_PRESETS)
# the instance mappings, and SimCLR's flattening of R into one instance per image
MODEL_MAPPINGS: tuple[str, ...] = (*MAPPINGS, "simclr")

# The augmentation preset (seqclr.augment.spec.PRESETS) each method pretrains with unless a config
# names another: SeqCLR's sequence-preserving pipeline (appendix B) for the SeqCLR mappings, and
# for both SimCLR baselines "the same augmentations ... as in [9]" (appendix D), i.e. SimCLR's own.
# PretrainConfig(augmentation=None) resolves through this table; nothing else spells the mapping.
METHOD_AUGMENTATION: dict[str, str] = {
    "seqclr-all": "seqclr",
    "seqclr-window": "seqclr",
    "seqclr-frame": "seqclr",
    "simclr": "simclr",
    "simclr-contextual": "simclr",
}


class SeqCLRModel(nn.Module):
    """f, g and m of Fig. 4. ``mapping="simclr"`` flattens R (fixed ``input_width``) and uses
    SimCLR's MLP head ("mlp") or none ("none")."""

    def __init__(
        self,
        encoder_cfg: EncoderConfig | str = "paper",
        representation: str = "H",
        head: str = "bilstm",
        mapping: str = "window",
        n_instances: int = 5,
        proj_dim: int = 128,
        proj_hidden: int | None = None,
        input_width: int = 100,
    ) -> None:
        super().__init__()
        cfg = get_encoder_config(encoder_cfg) if isinstance(encoder_cfg, str) else encoder_cfg
        self.encoder = SequenceEncoder(cfg)
        self.representation, self.head_kind, self.mapping_name = representation, head, mapping
        r_dim = self.encoder.representation_dim(representation)
        if mapping == "simclr":
            if head not in ("mlp", "none"):
                raise ValueError(f"model.py: mapping 'simclr' takes head 'mlp' or 'none', got {head!r}")
            flat = self.encoder.frames_for_width(input_width) * r_dim
            self.head = SimCLRHead(flat, proj_dim, proj_hidden) if head == "mlp" else nn.Identity()
            self.mapping = flatten_to_instance
        else:
            if mapping not in MAPPINGS:
                raise ValueError(f"model.py: unknown mapping {mapping!r}; expected one of {MODEL_MAPPINGS}")
            self.head = build_projection_head(head, r_dim, proj_dim, proj_hidden)
            self.mapping = get_instance_mapping(mapping, **({"n_instances": n_instances} if mapping == "window" else {}))

    @classmethod
    def from_preset(cls, method: str, encoder_cfg: EncoderConfig | str = "paper", **overrides) -> "SeqCLRModel":
        """A model for a table-1 method name (METHOD_PRESETS), e.g. "seqclr-window"."""
        if method not in METHOD_PRESETS:
            raise ValueError(f"model.py: unknown method {method!r}; known: {sorted(METHOD_PRESETS)}")
        return cls(encoder_cfg, **{**METHOD_PRESETS[method], **overrides})

    def embed(self, x: torch.Tensor, widths: torch.Tensor | None = None) -> Instances:
        """Instances of one batch of images (N, C, 32, W)."""
        out = self.encoder(x, widths)
        r = out.representation(self.representation)
        if self.mapping_name == "simclr":
            inst = self.mapping(r, out.lengths)
            inst.z = self.head(inst.z)
            return inst
        return self.mapping(self.head(r, out.lengths), out.lengths)

    def forward(
        self, x_a: torch.Tensor, x_b: torch.Tensor, widths: torch.Tensor | None = None, spans: FrameSpans | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two views (N, C, 32, W) of the same images (same real ``widths``) -> aligned (Z^a, Z^b), (M, F').
        ``spans`` (seqclr.augment.view_shift): window-to-instance over each view's content frames only."""
        if x_a.shape != x_b.shape:
            raise ValueError(f"model.py: the two views must have equal shapes, got {tuple(x_a.shape)} and {tuple(x_b.shape)}")
        n = x_a.size(0)
        both_widths = None if widths is None else torch.as_tensor(widths, device=x_a.device).repeat(2)
        if spans is not None:
            return self._shifted_pair(torch.cat([x_a, x_b]), both_widths, spans, n)
        inst = self.embed(torch.cat([x_a, x_b]), both_widths)
        first = inst.image_index < n
        return inst.z[first], inst.z[~first]

    def _shifted_pair(self, x: torch.Tensor, widths, spans: FrameSpans, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mapping_name != "window" or widths is not None:
            raise ValueError(f"model.py: the view shift needs window-to-instance on full-width images, not {self.mapping_name!r}")
        out = self.encoder(x, widths)
        p = self.head(out.representation(self.representation), out.lengths)
        dev = p.device
        starts = torch.cat([spans.start_a, spans.start_b]).to(dev)
        inst = self.mapping(p, spans.length.to(dev).repeat(2), starts)
        first = inst.image_index < n
        return inst.z[first], inst.z[~first]
