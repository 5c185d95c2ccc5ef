"""The names of the data sources (``seqclr.data.dataset.SOURCES``), importable without torch:
the configs validate ``data`` against them before anything is built."""

SYNTHETIC_SOURCES: tuple[str, ...] = ("synthetic-handwriting", "synthetic-print")  # embedded: render, know char_boxes
SOURCE_NAMES: tuple[str, ...] = (*SYNTHETIC_SOURCES, "lmdb", "iam", "cvl", "rimes", "tsv", "parquet")
