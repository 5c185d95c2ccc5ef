"""Augmentations (appendix B): a shared spec, the imgaug reference, our batched pipeline
(torch ops on any device, a fused kernel on the CPU).

imgaug is never imported here; see :mod:`seqclr.augment.reference`.
"""

from seqclr.augment.pipeline import (
    BatchAugment,
    SeqCLRAugment,
    apply,
    from_uint8,
    to_uint8,
)
from seqclr.augment.plan import Params, fixed_params, index_params, sample_params
from seqclr.augment.spec import (
    AugmentSpec,
    OpSpec,
    get_spec,
    light_spec,
    load_spec,
    save_spec,
    seqclr_spec,
    simclr_spec,
    spec_digest,
)

__all__ = [
    "AugmentSpec",
    "BatchAugment",
    "OpSpec",
    "Params",
    "SeqCLRAugment",  # deprecated alias of BatchAugment (one release)
    "apply",
    "fixed_params",
    "from_uint8",
    "get_spec",
    "index_params",
    "light_spec",
    "load_spec",
    "sample_params",
    "save_spec",
    "seqclr_spec",
    "simclr_spec",
    "spec_digest",
    "to_uint8",
]
