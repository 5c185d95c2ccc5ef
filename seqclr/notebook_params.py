"""Which dataclass each notebook's ``parameters`` cell mirrors.

Tests use this to check that the cell's defaults equal the dataclass defaults and that every YAML
file under ``parameters/<notebook>/`` validates before anything runs. Imports are lazy so listing
the notebooks costs nothing.
"""

from __future__ import annotations

import importlib

NOTEBOOK_PARAMS: dict[str, str] = {
    "augmentation_explorer": "seqclr.explorer.params:ExplorerParams",
    "benchmark": "seqclr.benchmark.config:BenchmarkConfig",
    "pretrain": "seqclr.train.notebook:PretrainNotebookParams",
    "decoder_eval": "seqclr.evaluate.notebook:DecoderEvalNotebookParams",
    "finetune": "seqclr.evaluate.notebook:FinetuneNotebookParams",
    "results": "seqclr.evaluate.notebook:ResultsParams",
    "embeddings_umap": "seqclr.evaluate.notebook:EmbeddingsParams",
}


def params_class(notebook: str) -> type:
    """The dataclass behind ``notebooks/<notebook>.ipynb``."""
    try:
        target = NOTEBOOK_PARAMS[notebook]
    except KeyError:
        raise KeyError(f"no parameter class registered for notebook {notebook!r}; known: {sorted(NOTEBOOK_PARAMS)}") from None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)
