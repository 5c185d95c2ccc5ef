# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # SeqCLR pretraining
#
# Pretrains a text-recognition encoder with sequence-to-sequence contrastive learning (SeqCLR,
# Aberdam et al. 2021): two augmented views of every word image, an encoder (feature extraction +
# BiLSTM), an optional projection head, an instance mapping (all / window / frame-to-instance)
# and the NCE loss of eq. (1). The defaults are the embedded CPU demo (tiny encoder, rendered
# handwriting, a few minutes on 2 cores); `parameters/pretrain/*.yaml` holds the paper's
# configurations for GPU machines:
#
#     papermill notebooks/pretrain.ipynb outputs/pretrain/iam_window/pretrain.ipynb \
#         -f parameters/pretrain/iam_seqclr_window.yaml
#
# Outputs in `output_dir`: `config.yaml`, `metrics.json`, `loss.csv`, `loss.png`, checkpoints
# (`last.pt`, `last.prev.pt`) and the pretrained `encoder.pt`. Set `resume = True` to continue a
# killed run from its last checkpoint, `logger = "tensorboard"` to also write TensorBoard event
# files to `output_dir/tensorboard` (`tensorboard --logdir outputs/pretrain`).

# %% tags=["parameters"]
from typing import Optional, Union

# data (synthetic-handwriting | synthetic-print | lmdb | iam | cvl | rimes | tsv | parquet | packed)
data: str = "synthetic-handwriting"
train_source: dict = {}  # reader arguments, its file / folder too: {root: data/iam, split_file: ...}; packed: {path: FOLDER}
train_size: Optional[int] = 1024  # number of images (None: the whole source)
data_seed: int = 0
cache_data: bool = True  # decode all images once into memory (uint8)
charset: str = "english95"
height: int = 32
width: int = 100
# model: encoder preset (tiny | small | paper | paper-tps); method (seqclr-all | seqclr-window |
# seqclr-frame | simclr | simclr-contextual); None: the method's own choice
encoder: str = "tiny"
method: str = "seqclr-window"
representation: Optional[str] = None  # V | H | HV
head: Optional[str] = None  # bilstm | mlp | none
mapping: Optional[str] = None  # all | window | frame | simclr
n_instances: int = 5  # T' of window-to-instance
proj_dim: int = 128
proj_hidden: Optional[int] = None
tau: float = 0.1
augmentation: Optional[str] = None  # seqclr | simclr | light; None: the method's own (simclr* -> simclr)
view_shift: int = 0  # remedy for the window mapping: the views content-shifted apart by up to this many frames, 0 for the paper
input_norm: Optional[bool] = None  # remedy: per-image standardisation inside the encoder; None keeps the preset's (off in the paper)
# optimization (appendix D: AdaDelta lr 10, rho 0.95, clip 5, wd 1e-4, lr / 10 at 60% and 80%)
batch_size: int = 32
iterations: int = 150
optimizer: str = "adadelta"  # adadelta | adam | adamw | sgd
lr: float = 10.0
rho: float = 0.95
eps: float = 1e-8
momentum: float = 0.9
weight_decay: float = 1e-4
grad_clip: Optional[float] = 5.0
lr_milestones: tuple = (0.6, 0.8)
lr_gamma: float = 0.1
loss_chunk_size: Optional[int] = None  # streaming loss chunk (None: dense similarity matrix)
# hardware
device: str = "auto"  # auto | cpu | cuda
precision: str = "auto"  # auto (bf16 on CUDA) | fp32 | bf16
channels_last: bool = True
compile: bool = False
num_workers: int = 0
sync_batchnorm: bool = False
gpus: int = 0  # processes to launch on local GPUs (0: all visible GPUs; CPU runs use one)
# run
output_dir: str = "outputs/pretrain/default"
checkpoint_every: int = 50
log_every: int = 10
resume: Union[bool, str] = False
overwrite: bool = False  # a folder holding a run: moved aside whole to output_dir.replaced-TIME
seed: int = 0
progress: bool = True
logger: str = "csv"  # csv | tensorboard (also event files in output_dir/tensorboard) | none (loss.csv always)

# %%
from seqclr.notebook_params import notebook_parameters
from seqclr.train.notebook import PretrainNotebookParams

params = notebook_parameters(PretrainNotebookParams, globals())
cfg, gpus = params.split()
print(cfg.method, "with the", cfg.encoder, "encoder on", cfg.data, f"({cfg.iterations} iterations, batch {cfg.batch_size})")

# %% [markdown]
# ## Data and augmentation preview
# A few training images and two augmented views of each (a positive pair), with the encoder's
# frame grid drawn over them.

# %%
from IPython.display import Image, display

from seqclr.train.notebook import preview_png

display(Image(preview_png(cfg, n=4)))

# %% [markdown]
# ## Training

# %%
from seqclr.train.launch import launch_local

metrics = launch_local(cfg, nprocs=gpus)

# %%
from pathlib import Path

out = Path(cfg.output_dir)
display(Image(str(out / "loss.png")))
summary = {k: metrics[k] for k in ("steps", "initial_loss", "final_loss", "final_loss_mean10", "images_per_s", "wall_time_s")}
print(summary)
print("encoder:", out / "encoder.pt")
