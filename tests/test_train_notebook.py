"""Helpers of the pretraining notebook: its parameters and the augmentation preview."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from seqclr.config import ParameterError, from_namespace
from seqclr.train.config import PretrainConfig
from seqclr.train.notebook import PretrainNotebookParams, preview_png


def test_notebook_params_split_and_check():
    params = from_namespace(PretrainNotebookParams, {"batch_size": 8, "gpus": 2, "lr_milestones": [0.5, 0.9]})
    cfg, nprocs = params.split()
    assert type(cfg) is PretrainConfig and cfg.batch_size == 8 and cfg.lr_milestones == (0.5, 0.9) and nprocs == 2
    assert PretrainNotebookParams().split()[1] is None  # 0 GPUs asked: automatic
    with pytest.raises(ParameterError, match=r"gpus must be >= 0, got -1"):
        from_namespace(PretrainNotebookParams, {"gpus": -1})
    with pytest.raises(ParameterError, match=r"unknown parameter 'iteration' \(did you mean 'iterations'\?\)"):
        from_namespace(PretrainNotebookParams, {"iteration": 3})


def test_preview_png_shows_pairs():
    cfg = PretrainConfig(train_size=16, width=64, batch_size=8)
    png = Image.open(io.BytesIO(preview_png(cfg, n=3)))
    assert png.format == "PNG" and png.height > png.width / 4
    a = preview_png(cfg, n=2, seed=1)
    assert a == preview_png(cfg, n=2, seed=1) and a != preview_png(cfg, n=2, seed=2)
