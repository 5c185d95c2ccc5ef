"""Word-image data: charsets, the embedded renderer, real-dataset readers, preprocessing, subsets."""

from seqclr.data.charset import CHARSET_NAMES, Charset, filter_by_charset, get_charset
from seqclr.data.sample import WordSample

__all__ = ["CHARSET_NAMES", "Charset", "WordSample", "filter_by_charset", "get_charset"]
