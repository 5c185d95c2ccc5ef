"""The names of the data sources (``seqclr.data.dataset.SOURCES``), importable without torch:
the configs validate ``data`` against them before anything is built."""

SOURCE_NAMES: tuple[str, ...] = ("synthetic-handwriting", "synthetic-print", "lmdb", "iam", "cvl", "rimes", "tsv", "parquet")
