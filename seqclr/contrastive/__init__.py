"""SeqCLR (section 4): projection heads, instance mappings, the contrastive loss, SimCLR baselines."""

from seqclr.contrastive.distributed import gather_with_grad
from seqclr.contrastive.instance_mapping import (
    Instances,
    adaptive_pool_weights,
    all_to_instance,
    frame_to_instance,
    get_instance_mapping,
    window_to_instance,
)
from seqclr.contrastive.loss import DEFAULT_TAU, nce_terms, seqclr_nce_loss
from seqclr.contrastive.model import METHOD_PRESETS, SeqCLRModel
from seqclr.contrastive.projection_heads import build_projection_head
from seqclr.contrastive.simclr import SimCLRHead, flatten_to_instance

__all__ = [
    "DEFAULT_TAU",
    "METHOD_PRESETS",
    "Instances",
    "SeqCLRModel",
    "SimCLRHead",
    "adaptive_pool_weights",
    "all_to_instance",
    "build_projection_head",
    "flatten_to_instance",
    "frame_to_instance",
    "gather_with_grad",
    "get_instance_mapping",
    "nce_terms",
    "seqclr_nce_loss",
    "window_to_instance",
]
