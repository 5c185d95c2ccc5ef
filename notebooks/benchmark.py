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
# # Pretraining benchmark
#
# Where the time of a SeqCLR pretraining step goes, on this machine: augmentation (our batched
# pipeline on the device, imgaug on one CPU core for reference), the packed memory-mapped input
# path, the encoder's forward + backward, the contrastive loss at the instance counts of the
# all / window / frame mappings, and the full step with real (packed) data against tensors
# already on the device. FLOPs come from torch's flop counter; MFU is against the device's
# peak (a nominal one on the CPU). The ablations time each optimization against the
# configuration before it, side by side. Same as `python -m seqclr.benchmark --params <yaml>`.

# %% tags=["parameters"]
from typing import Optional

encoder: str = "tiny"  # encoder preset: tiny | small | paper | paper-tps
batch_size: int = 32  # images per step (each gives two views)
method: str = "seqclr-window"
device: str = "auto"
precision: str = "auto"
channels_last: bool = True
compile: bool = False
loss_chunk_size: Optional[int] = None
steps: int = 5
repeat: int = 3
threads: int = 0
seed: int = 0
data: str = "synthetic-handwriting"
train_size: Optional[int] = None  # images packed (None: 4 x batch_size, at least 64)
packed: str = ""
imgaug_images: int = 32
loss_modes: list[str] = ["dense", "stream"]
loss_isolate: bool = True
ablations: bool = True
chunk_sizes: list[int] = [256, 1024, 4096]
out: str = ""

# %%
from seqclr.benchmark import BenchmarkConfig
from seqclr.notebook_params import notebook_parameters

params = notebook_parameters(BenchmarkConfig, globals())
params

# %%
from seqclr.benchmark import format_tables, run_benchmark

results = run_benchmark(params)
print(format_tables(results))

# %% [markdown]
# ## Throughput, loss and optimizations

# %%
from IPython.display import Image, display

from seqclr.benchmark.plots import results_figure
from seqclr.plots import figure_png

display(Image(figure_png(results_figure(results), dpi=None, tight=False)))

# %% [markdown]
# ## Against the targets
# On a GPU: MFU >= 40% and 200K iterations in under 8 h (paper preset, batch 1024); our
# augmentations >= 200k images/s; real data within 5% of on-device tensors; the frame-to-instance
# loss at batch 1024 fits in memory. On a CPU only the ratios are meaningful.

# %%
for name, met in results["targets"].items():
    print(f"{name:32s} {met}")
print("results written to", results["json"])
