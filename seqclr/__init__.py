"""seqclr: sequence-to-sequence contrastive learning (SeqCLR, Aberdam et al., 2021) for text recognition."""

__version__ = "0.1.0"
