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
# # Fine-tuning and the supervised baseline
#
# Section 5.2 of SeqCLR (Aberdam et al. 2021): the whole recognizer (pretrained encoder + a
# fresh CTC or attention decoder) trains on `label_fraction` of the labeled data (5%, 10% and
# 100% in the paper). With `checkpoint = ""` (or "random") it is the supervised baseline: the
# same recognizer from a random encoder on the same labeled subset (the subset depends only on
# the data, the fraction and `subset_seed`; metrics.json records its SHA-256). Writes
# `metrics.json` and `predictions.json` to `output_dir`. `parameters/finetune/*.yaml` holds the
# paper's protocols (table 2):
#
#     papermill notebooks/finetune.ipynb outputs/finetune/iam_window_ctc_10/finetune.ipynb \
#         -f parameters/finetune/iam_seqclr-window_ctc_10.yaml

# %% tags=["parameters"]
from typing import Optional

# data (synthetic-handwriting | synthetic-print | lmdb | iam | cvl | rimes | tsv | parquet); real datasets
# take their paths per split in *_source, e.g. {"root": "data/iam", "split_file": "..."}
data: str = "synthetic-handwriting"
data_seed: int = 0
train_source: dict = {}
val_source: dict = {}
test_source: dict = {}
train_size: Optional[int] = 256  # synthetic: images rendered; real data: first n (None: all)
val_size: Optional[int] = 64
test_size: Optional[int] = 64
charset: str = "english95"
height: int = 32
width: int = 100
case_sensitive: bool = True
label_fraction: float = 0.1
subset_seed: int = 0
# model: an encoder.pt of save_encoder; "" or "random": the supervised baseline
checkpoint: str = ""
encoder: str = "tiny"  # preset for random init
decoder: str = "ctc"  # ctc | attention
representation: str = "H"  # the encoder representation the decoder reads: V | H | HV
attention_hidden: int = 256
max_len: int = 25
# decoder-training recipe (appendix D: batch 256, 50K iterations, AdaDelta lr 1, lr / 10 at 60% and 80%)
augmentation: str = "light"  # light | seqclr | simclr | none
batch_size: int = 16
iterations: int = 100
optimizer: str = "adadelta"  # adadelta | adam | adamw | sgd
lr: float = 1.0
rho: float = 0.95
eps: float = 1e-8
momentum: float = 0.9
weight_decay: float = 0.0
grad_clip: Optional[float] = 5.0
lr_milestones: tuple = (0.6, 0.8)
lr_gamma: float = 0.1
lr_schedule: str = "multistep"  # multistep | cosine (seqclr.train.schedule)
warmup_iterations: int = 0
decay_start: float = 0.0  # cosine: fraction of the iterations at the full lr
val_every: int = 0  # > 0: validate every n iterations and keep the best model
eval_batch_size: int = 64
# bookkeeping
method: str = ""  # the name in the results tables
device: str = "auto"
num_workers: int = 0
seed: int = 0
log_every: int = 25
output_dir: str = "outputs/evaluate/finetune"
progress: bool = True  # progress bars with ETA
logger: str = "csv"  # csv (train_log.csv) | tensorboard (also event files in output_dir/tensorboard) | none
n_examples: int = 8  # test images shown with their predictions

# %%
from seqclr.notebook_params import notebook_parameters
from seqclr.evaluate.notebook import FinetuneNotebookParams

params = notebook_parameters(FinetuneNotebookParams, globals())
cfg, n_examples = params.split()
what = "supervised baseline (random encoder)" if cfg.random_init else f"fine-tuning {cfg.checkpoint}"
print(f"{what}: {cfg.decoder} decoder on {cfg.representation}, {cfg.label_fraction:g} of the labels, {cfg.iterations} iterations")

# %% [markdown]
# ## Training encoder and decoder

# %%
from pathlib import Path

from IPython.display import display

from seqclr.evaluate.protocol import load_datasets
from seqclr.evaluate.finetune import run_finetune, run_supervised_baseline

result_data = load_datasets(cfg)
run = run_supervised_baseline if cfg.random_init else run_finetune
result = run(cfg, datasets=result_data)

# %%
metrics = result.summary  # the metrics.json record
print({k: round(v, 4) if isinstance(v, float) else v for k, v in metrics["metrics"].items()})
print(f"labeled subset: {metrics['subset_size']} of {metrics['train_size']} images (sha256 {metrics['subset_sha256'][:12]})")

# %% [markdown]
# ## Test predictions
# Test images with their label and the prediction; wrong characters in red (a missing
# character shows as a red "_"). Errors first.

# %%
from IPython.display import Image, Markdown

from seqclr.evaluate.report import predictions_figure
from seqclr.plots import figure_png

if n_examples:
    png = figure_png(predictions_figure(result_data["test"], result.predictions, n=n_examples))
    (Path(cfg.output_dir) / "predictions.png").write_bytes(png)
    display(Image(png))
wrong = sum(r["label"] != r["prediction"] for r in result.predictions)
display(Markdown(f"{wrong} of {len(result.predictions)} test words wrong"))

# %% [markdown]
# ## Reading with the saved recognizer
# `recognizer.pt` alone reads images of any size (PIL images, arrays or files; `seqclr read` on
# the command line): a few test images as rendered, before any resizing, with their label, the
# prediction and each character's confidence.

# %%
from seqclr.evaluate.recognizer_file import load_recognizer

saved = load_recognizer(metrics["recognizer"])
test = result_data["test"]
samples = [test.source[i] for i in test.indices[:4]]
for sample, (text, conf) in zip(samples, saved.read([s.image for s in samples], confidence=True)):
    print(f"{sample.label!r:>18} -> {text!r:<18} {' '.join(f'{p:.2f}' for p in conf)}")
