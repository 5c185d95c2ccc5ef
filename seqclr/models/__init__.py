"""Base encoder f(.) of SeqCLR: the four-stage recognizer of section 3 up to sequence modeling."""

from seqclr.models.encoder import (
    ENCODER_PRESETS,
    EncoderConfig,
    EncoderOutput,
    SequenceEncoder,
    count_parameters,
    frames_for_width,
)
from seqclr.models.feature_extraction import ResNetFeatureExtractor, VGGFeatureExtractor
from seqclr.models.sequence_modeling import BidirectionalLSTM, SequenceModeling, lengths_to_mask
from seqclr.models.transformation import TPSSpatialTransformer

__all__ = [
    "ENCODER_PRESETS",
    "EncoderConfig",
    "EncoderOutput",
    "SequenceEncoder",
    "count_parameters",
    "frames_for_width",
    "ResNetFeatureExtractor",
    "VGGFeatureExtractor",
    "BidirectionalLSTM",
    "SequenceModeling",
    "lengths_to_mask",
    "TPSSpatialTransformer",
]
