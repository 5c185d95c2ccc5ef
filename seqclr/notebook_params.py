"""Which dataclass each notebook's ``parameters`` cell mirrors.

Tests use this to check that the cell's defaults equal the dataclass defaults and that every YAML
file under ``parameters/<notebook>/`` validates before anything runs. Imports are lazy so listing
the notebooks costs nothing.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TypeVar

from seqclr.config import from_namespace

T = TypeVar("T")

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


def enter_project_root(start: str | Path | None = None) -> Path:
    """Make the repository root the working directory when running inside the seqclr checkout.

    JupyterLab and nbval start a notebook's kernel in ``notebooks/``, papermill (``make
    pretrain``) in the repository root; relative paths in parameters (``outputs/...``,
    ``parameters/...``) mean the same thing in both once the kernel sits at the root. Outside a
    checkout (an installed package, another project) the working directory is left alone.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir() and (folder / "seqclr").is_dir():
            os.chdir(folder)
            return folder
    return here


def notebook_parameters(cls: type[T], namespace: dict) -> T:
    """What a notebook's first cell after ``parameters`` does: enter the repository root, then
    validate the parameters cell plus papermill's injected values against ``cls``."""
    enter_project_root()
    return from_namespace(cls, namespace)
