"""Word-image data: charsets, the embedded renderer, real-dataset readers, preprocessing, subsets."""

from seqclr.data.sample import WordSample

__all__ = ["WordSample"]
