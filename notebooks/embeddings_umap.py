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
# # Instance embeddings with UMAP
#
# How do encoders pretrained with different methods organise the instances the contrastive
# loss works on? Each image of a set of rendered words (by default the TEST fonts, never seen in
# pretraining) is cut into instances: frames (frame-to-instance) or windows (window-to-instance)
# of the representation R (V, H or HV; no projection head, so every method compares). The
# embedded renderer knows where each glyph is drawn (`char_boxes`), so every instance gets the
# character under it. The instances are embedded in 2-D with UMAP (seeded: the same parameters
# give the same picture), colored by that character and by position in the word, encoders side
# by side; then the nearest neighbours (cosine) of a few query instances are shown as crops.
# A good sequence representation puts instances of the same character together, across words.

# %% tags=["parameters"]
from typing import Optional

encoders: dict = {
    "seqclr-window": "outputs/study/pretrain/seqclr-window/encoder.pt",
    "simclr": "outputs/study/pretrain/simclr/encoder.pt",
    "random init": "random",
}  # name: encoder.pt of save_encoder, or "random"
random_encoder: str = "tiny"  # preset of the "random" encoders
data: str = "synthetic-handwriting"  # an embedded source (it knows where each glyph is drawn)
split: str = "test"
n_images: int = 48
data_seed: int = 0
charset: str = "english95"
mapping: str = "frame"  # the instance mapping: frame | window
representation: str = "H"  # V | H | HV, or pretrained: each encoder at its own pretraining layer
n_instances: int = 5  # windows per image (mapping window)
seed: int = 0
n_neighbors: int = 15  # UMAP neighbourhood
min_dist: float = 0.1
top_chars: int = 12  # characters given their own colour
n_queries: int = 6
k: int = 6  # nearest neighbours shown per query
output_dir: Optional[str] = None  # figures and embeddings.json go here (None: not saved)

# %%
from seqclr.notebook_params import notebook_parameters
from seqclr.evaluate.notebook import EmbeddingsParams

params = notebook_parameters(EmbeddingsParams, globals())

# %% [markdown]
# ## Images and instances

# %%
import hashlib

import numpy as np
from IPython.display import display

from seqclr.data.dataset import WordDataset, build_source
from seqclr.evaluate.embeddings import embed_instances, representation_for
from seqclr.evaluate.notebook import load_encoder_or_random

ds = WordDataset(build_source(params.data, split=params.split, size=params.n_images, seed=params.data_seed, charset=params.charset), params.charset)
items = [ds[i] for i in range(len(ds))]
images = [it["image"][0].numpy() for it in items]
inst, reps = {}, {}
for name, path in params.encoders.items():
    encoder = load_encoder_or_random(path, params.random_encoder, params.seed)
    reps[name] = representation_for(encoder, params.representation)
    inst[name] = embed_instances(encoder, items, params.mapping, reps[name], params.n_instances)
first = next(iter(inst.values()))
on_glyph = float(np.mean(first.char != "∅"))
print("representation per encoder:", reps)
print(f"{len(items)} images, {len(first)} {params.mapping} instances per encoder ({on_glyph:.0%} on a glyph)")

# %% [markdown]
# ## UMAP, encoders side by side

# %%
from IPython.display import Image

from seqclr.evaluate.embeddings import umap_2d, umap_figure
from seqclr.plots import figure_png

layouts = {name: umap_2d(s.z, params.seed, params.n_neighbors, params.min_dist) for name, s in inst.items()}
for name, xy in layouts.items():
    print(name, "layout sha256", hashlib.sha256(np.ascontiguousarray(xy).tobytes()).hexdigest()[:16])
umap_png = figure_png(umap_figure(layouts, inst, params.top_chars))
display(Image(umap_png))

# %% [markdown]
# ## Nearest neighbours as image crops
# Each row: a query instance (blue frame) and its nearest instances from OTHER words (cosine on
# R); titles in green where the neighbour lies on the same character. The agreement rate is
# measured over all on-glyph instances, not just the rows shown; so is the same-position rate
# (the neighbour at the same frame or window index), which tells a pretext won on position.

# %%
from seqclr.evaluate.embeddings import agreement_by_encoder, nearest_neighbours, neighbours_figure, pick_queries

agreement = agreement_by_encoder(inst, params.k, params.seed)
position = agreement_by_encoder(inst, params.k, params.seed, by="position")
figs_nn = {}
for name, s in inst.items():
    queries = pick_queries(s, params.n_queries, params.seed)
    nn = nearest_neighbours(s.z, queries, params.k, exclude_same_image=s.image)
    fig = neighbours_figure(images, s, queries, nn, title=f"{name}: same-character rate of the {params.k} nearest {agreement[name]:.1%}")
    figs_nn[name] = figure_png(fig)
    display(Image(figs_nn[name]))
print("same character:", {name: round(v, 4) for name, v in agreement.items()})
print("same position:", {name: round(v, 4) for name, v in position.items()})

# %%
from seqclr.evaluate.embeddings import embeddings_summary, save_embeddings

summary = embeddings_summary(agreement, inst, len(items), vars(params), reps, position)
if params.output_dir:
    print("wrote", save_embeddings(params.output_dir, summary, umap_png, figs_nn))
