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
# # Augmentation explorer
#
# SeqCLR's augmentations must keep the *sequence* aligned: the frames of the two views of a word
# (the columns that become instances, T=26 for the paper's encoder at 32x100, drawn as lines)
# should see the same characters. This notebook shows each word image beside two augmented views
# (a positive pair) from our batched torch pipeline and from the imgaug reference of appendix B,
# then figure 2's counter-examples. In JupyterLab the widgets at the end draw the views at the
# notebook's full width, change the data source, add rows of samples, toggle each operation, move
# its parameter ranges and save the spec as a YAML file that pretraining and the recognizer
# protocols accept (`augmentation: path/to/spec.yaml`); run headless (papermill, nbval) it
# renders the same views as static figures.

# %% tags=["parameters"]
source: str = "synthetic-handwriting"
split: str = "train"
n_samples: int = 3
seed: int = 0
augmentation: str = "seqclr"  # a preset or a spec file, as in the pretraining and recognizer configs
disable_ops: list[str] = []
backends: list[str] = ["torch", "imgaug"]
height: int = 32
width: int = 100
frames: int = 26
output_dir: str = ""
spec_file: str = "outputs/explorer/augmentation.yaml"  # where the save spec button writes

# %%
from seqclr.notebook_params import notebook_parameters
from seqclr.explorer import ExplorerParams

params = notebook_parameters(ExplorerParams, globals())
params

# %%
from pathlib import Path

from IPython.display import Image, display

from seqclr.explorer import ExplorerState
from seqclr.plots import figure_png

state = ExplorerState(params)
print(f"{len(state.labels)} images from {params.source!r}: {state.labels}")
print("pipeline:", [op.name for op in state.spec.enabled_ops], f"({state.spec.composition})")

# %% [markdown]
# ## Positive pairs from both backends

# %%
views_png = figure_png(state.views_figure(), dpi=100, tight=False)
display(Image(views_png))
for backend, note in state.notes.items():
    print(f"{backend}: {note}")

# %% [markdown]
# ## Counter-examples (figure 2)
# Vertical crop keeps every character under its frame; a flip reverses the order and an
# aggressive horizontal crop cuts characters out, so frame *t* of one view no longer matches frame
# *t* of the other.

# %%
counter_png = figure_png(state.counter_examples_figure(), dpi=100, tight=False)
display(Image(counter_png))

# %%
if params.output_dir:
    out = Path(params.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "views.png").write_bytes(views_png)
    (out / "counter_examples.png").write_bytes(counter_png)
    print("saved figures to", out, "and the spec to", state.save_spec(out / "augmentation.yaml"))

# %% [markdown]
# ## Interactive
# Change the data source, add samples, toggle operations and move their ranges; the views
# re-render. "save spec" writes the current spec to the file named beside it; train with it by
# setting `augmentation` to that path in a pretraining or recognizer config.

# %%
from seqclr.explorer.widgets import build_ui

ui = build_ui(state)
display(ui.widget)
