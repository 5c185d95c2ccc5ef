"""Readers of real word datasets; each is a map-style dataset of WordSample with ``labels``."""

from seqclr.data.readers.base import DataError, ImageFileSource, SkippedItem, decode_image
from seqclr.data.readers.folders import CvlWords, RimesWords
from seqclr.data.readers.iam import IamWords
from seqclr.data.readers.lmdb import LmdbWords, write_lmdb
from seqclr.data.readers.parquet import ParquetWords
from seqclr.data.readers.tsv import TsvWords

__all__ = [
    "CvlWords",
    "DataError",
    "IamWords",
    "ImageFileSource",
    "LmdbWords",
    "ParquetWords",
    "RimesWords",
    "SkippedItem",
    "TsvWords",
    "decode_image",
    "write_lmdb",
]
