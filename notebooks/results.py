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
# # Results: tables 1 and 2, figure 7
#
# Collects every evaluation run's `metrics.json` under `runs_dir` (decoder evaluation and
# fine-tuning / supervised baseline, written by notebooks/decoder_eval.ipynb,
# notebooks/finetune.ipynb or `python -m seqclr.evaluate`) into tables laid out like tables 1 and
# 2 of SeqCLR (Aberdam et al. 2021), and plots the word error rate against the labeled fraction
# on log-log axes as figure 7 does. The defaults read the committed replication study in
# `outputs/reference/hw-v2/runs` (see outputs/reference/hw-v2/README.md). Numbers are percentages.
#
# **Seeds.** A table cell (method, dataset, decoder, label fraction) may hold several runs that
# differ only in their seed (`config.seed`, folders like `seqclr-window-ctc-0.05-s1`); the cell
# then shows **mean ± std over the seeds** (sample std, ddof=1); a single run shows its value
# alone, and a cell with fewer seeds than the rest of its table shows its `(n=k)`. Two runs of the
# same seed in one cell are an error. A difference between two methods counts as a finding only
# when it exceeds the spread over seeds: |mean_a − mean_b| > max(std_a, std_b)
# (`seqclr.evaluate.report.compare`).

# %% tags=["parameters"]
from typing import Optional

runs_dir: str = "outputs/reference/hw-v2/runs"  # searched recursively for metrics.json
table2_metric: str = "acc"  # acc | ed1 | cer | wer
output_dir: Optional[str] = None  # tables.md and wer_vs_labels.png go here (None: not saved)

# %%
from seqclr.notebook_params import notebook_parameters
from seqclr.evaluate.notebook import ResultsParams

params = notebook_parameters(ResultsParams, globals())

# %%
from pathlib import Path

from IPython.display import Image, Markdown, display

from seqclr.evaluate.report import collect_runs, markdown_table, seed_table, table1, table2, wer_figure
from seqclr.plots import figure_png

rows = collect_runs(params.runs_dir)
seeds = sorted({r["seed"] for r in rows})
print(f"{len(rows)} runs under {params.runs_dir}; seeds {seeds}")

# %% [markdown]
# ## Table 1: decoder evaluation (frozen encoder), Acc and ED1
# Cells: mean ± std over seeds (percent).

# %%
t1 = markdown_table(*table1(rows))
display(Markdown(t1))

# %% [markdown]
# ## Table 2: fine-tuning with 5%, 10%, 100% of the labels
# Cells: mean ± std over seeds (percent).

# %%
t2 = markdown_table(*table2(rows, params.table2_metric))
display(Markdown(f"Metric: {params.table2_metric}\n\n" + t2))

# %% [markdown]
# ## Character error rates
# The same tables with CER (lower is better): at small scale, where word accuracies are all near
# zero, the character error rate is what separates the runs.

# %%
t1_cer = markdown_table(*table1(rows, ("cer",)))
t2_cer = markdown_table(*table2(rows, "cer"))
display(Markdown("Decoder evaluation, CER\n\n" + t1_cer + "\n\nFine-tuning, CER\n\n" + t2_cer))

# %% [markdown]
# ## Per-seed values
# Each cell's Acc (decoder evaluation and fine-tuning) seed by seed, shown when the list is short.

# %%
t_seeds = markdown_table(*seed_table(rows, "acc"))
n_cells = t_seeds.count("\n") - 1
display(Markdown(t_seeds if n_cells <= 80 else f"{n_cells} cells: see tables.md (output_dir) or the table of all runs below."))

# %% [markdown]
# ## All runs

# %%
cols = ["protocol", "method", "dataset", "decoder", "representation", "label_fraction", "seed", "subset_size", "iterations", "acc", "ed1", "cer", "wer", "seconds"]
body = [[f"{r[c]:.4f}" if isinstance(r[c], float) and c not in ("label_fraction", "seconds") else str(r[c]) for c in cols] for r in rows]
display(Markdown(markdown_table(cols, body)))

# %% [markdown]
# ## Figure 7: word error rate against the labeled fraction (log-log)
# Seaborn: one color per (method, decoder), the supervised baseline dashed. Each dot is one seed's
# run; the line is the mean over seeds and the band ± one sample std over seeds (`errorbar="sd"`;
# `wer_figure(rows, errorbar="ci")` draws a 95% bootstrap confidence interval instead).

# %%
wer_png = figure_png(wer_figure(rows, errorbar="sd"))
display(Image(wer_png))

# %%
if params.output_dir:
    out = Path(params.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tables.md").write_text(
        f"## Table 1 (Acc, ED1)\n\n{t1}\n\n## Table 2 ({params.table2_metric})\n\n{t2}\n\n"
        f"## Table 1 (CER)\n\n{t1_cer}\n\n## Table 2 (CER)\n\n{t2_cer}\n\n## Acc per seed\n\n{t_seeds}\n"
    )
    (out / "wer_vs_labels.png").write_bytes(wer_png)
    print("wrote", out / "tables.md", "and", out / "wer_vs_labels.png")
