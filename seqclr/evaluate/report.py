"""Results tables and plots from several runs' metrics.json (the paper's tables 1, 2 and fig. 7),
and the per-image prediction figure of the evaluation notebooks.

A run is one folder with a ``metrics.json`` written by :func:`seqclr.evaluate.run_protocol`.
:func:`collect_runs` flattens each into a row (protocol, method, dataset, decoder, label fraction,
seed, acc / ed1 / cer / wer, ...). Tables are plain lists of rows rendered as Markdown (no pandas):

* table 1 (decoder evaluation): one row per method, one column group per (dataset, decoder),
  each with Acc and ED1;
* table 2 (semi-supervised): one row per method (the supervised baseline included), one column
  per (dataset, decoder, label fraction) with Acc;
* figure 7: word error rate against the labeled fraction on log-log axes, one color per (method,
  decoder), one panel per dataset; every seed's point and the mean line with its band.

Seeds. A table cell (method, dataset, decoder[, label fraction]) may hold several runs that differ
only in their ``config["seed"]``; it shows ``mean ± std`` in percent over them (sample std,
ddof=1; a single run shows its value alone). :func:`cell_stats` gives those numbers. Two runs of
the *same* seed in one cell are an error naming both paths.

Comparing methods. :func:`compare` takes the difference of the two methods' means in one cell and
calls it significant when it *exceeds the spread over seeds*: ``|mean_a - mean_b| > max(std_a,
std_b)``. This is a coarse rule (with 3 seeds it is no statistical test), and it is undetermined
(``None``) when either method has fewer than two seeds (no std).
"""

from __future__ import annotations

import difflib
import json
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from seqclr.config import upgrade_keys
from seqclr.contrastive.instance_mapping import MAPPINGS
from seqclr.contrastive.model import METHOD_PRESETS, METHODS
from seqclr.evaluate.config import RecognizerTrainConfig
from seqclr.evaluate.protocol import SUPERVISED
from seqclr.evaluate.study import NO_PRETRAINING
from seqclr.metrics import METRIC_NAMES

# Table rows in the paper's order: the SimCLR baselines, then the SeqCLR instance mappings (each
# group alphabetically), no pretraining, the supervised baseline; unknown methods follow, alphabetically.
METHOD_ORDER: tuple[str, ...] = (
    *sorted(METHODS, key=lambda m: (METHOD_PRESETS[m]["mapping"] in MAPPINGS, m)),
    NO_PRETRAINING,
    SUPERVISED,
)
METRICS = METRIC_NAMES
HIGHER_IS_BETTER = {"acc": True, "ed1": True, "cer": False, "wer": False}
# The fields that make one table cell (a run's seed is the only other thing that may differ).
CELL_KEYS = ("protocol", "method", "dataset", "decoder", "label_fraction")


def dataset_name(config: dict) -> str:
    """The dataset of a run for tables: the data source, with its benchmark when the training
    source names one (``synthetic-handwriting/hw-v2``); runs without one keep the plain name."""
    data = str(config.get("data", "?"))
    source = config.get("train_source") or {}
    benchmark = source.get("benchmark") if isinstance(source, dict) else None
    return f"{data}/{benchmark}" if benchmark else data


def method_name(summary: dict) -> str:
    """The table row of a run: its method; a random-init fine-tuning is the supervised baseline."""
    method = summary.get("method") or ""
    if summary.get("protocol") == SUPERVISED or (summary.get("protocol") == "finetune" and summary.get("checkpoint") == "random"):
        return SUPERVISED if method in ("", NO_PRETRAINING, SUPERVISED) else method
    if not method:
        return NO_PRETRAINING if summary.get("checkpoint") == "random" else Path(str(summary.get("checkpoint", "?"))).parent.name
    return method


def collect_runs(root: str | Path) -> list[dict]:
    """One flat row per ``metrics.json`` found under ``root`` (recursively), sorted by path.

    A file that is not a protocol summary raises ValueError naming it."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such folder of runs")
    rows = []
    for path in sorted(root.rglob("metrics.json")):
        with open(path, encoding="utf-8") as f:
            try:
                s = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}: not valid JSON: {err}") from None
        if "protocol" not in s:  # e.g. a pretraining run's metrics.json: not an evaluation
            continue
        missing = [k for k in ("metrics", "config", "label_fraction") if k not in s]
        if missing or any(m not in s["metrics"] for m in METRICS):
            raise ValueError(f"{path}: not a protocol metrics.json (missing {missing or [m for m in METRICS if m not in s['metrics']]})")
        cfg = upgrade_keys(RecognizerTrainConfig, s["config"], warn=False)  # a run recorded before a rename
        rows.append({
            "path": str(path.parent),
            "protocol": "finetune" if s["protocol"] == SUPERVISED else s["protocol"],
            "method": method_name(s),
            "dataset": dataset_name(cfg),
            "decoder": cfg.get("decoder", "?"),
            "representation": cfg.get("representation", "?"),
            "label_fraction": float(s["label_fraction"]),
            "seed": int(cfg.get("seed") or 0),
            "subset_size": s.get("subset_size"),
            "iterations": cfg.get("iterations"),
            "seconds": s.get("seconds"),
            **{m: float(s["metrics"][m]) for m in METRICS},
            "n": s["metrics"].get("n"),
        })
    return rows


def _method_key(m: str) -> tuple:
    return (METHOD_ORDER.index(m), "") if m in METHOD_ORDER else (len(METHOD_ORDER), m)


def _pct(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def _check_seeds(rows: Sequence[dict], where: str) -> None:
    """Several runs of one cell must differ in their seed; a repeated seed is an error naming them."""
    by_seed: dict[int, list[str]] = {}
    for r in rows:
        by_seed.setdefault(r.get("seed", 0), []).append(r.get("path", "?"))
    for seed, paths in sorted(by_seed.items()):
        if len(paths) > 1:
            raise ValueError(f"{where}: {len(paths)} runs with seed {seed} for one table cell: {paths}")


def cell_stats(rows: Iterable[dict], metric: str = "acc", where: str = "cell") -> dict:
    """The seeds of one table cell: {"mean", "std", "n", "values", "seeds"} of ``metric`` (fractions,
    not percent; values and seeds in seed order). std is the sample std (ddof=1), NaN with fewer
    than two runs; an empty cell gives n 0 and NaN mean. Two runs of one seed raise ValueError."""
    if metric not in METRICS:
        raise ValueError(f"cell_stats: metric must be one of {METRICS}, got {metric!r}")
    rows = sorted(rows, key=lambda r: r.get("seed", 0))
    _check_seeds(rows, where)
    values = [float(r[metric]) for r in rows]
    n = len(values)
    return {
        "mean": statistics.fmean(values) if n else math.nan,
        "std": statistics.stdev(values) if n > 1 else math.nan,
        "n": n,
        "values": values,
        "seeds": [r.get("seed", 0) for r in rows],
    }


def format_cell(stats: dict, show_n: bool = False) -> str:
    """``mean ± std`` in percent (one decimal); a single run shows its value, an empty cell "—";
    ``show_n`` appends ``(n=k)``."""
    if not stats["n"]:
        return "—"
    text = _pct(stats["mean"]) if stats["n"] < 2 else f"{_pct(stats['mean'])} ± {_pct(stats['std'])}"
    return f"{text} (n={stats['n']})" if show_n else text


def _render(cells: list[list[dict]]) -> list[list[str]]:
    """Format a grid of cell stats; a cell whose number of seeds is not the table's usual one (the
    most common among non-empty cells) shows its n, so a missing seed is visible."""
    counts = Counter(c["n"] for line in cells for c in line if c["n"])
    usual = counts.most_common(1)[0][0] if counts else 0
    return [[format_cell(c, show_n=bool(c["n"]) and c["n"] != usual) for c in line] for line in cells]


def table1(rows: Iterable[dict], metrics: Sequence[str] = ("acc", "ed1")) -> tuple[list[str], list[list[str]]]:
    """Decoder evaluation (paper table 1): header and body rows. Columns: Method, then for each
    (dataset, decoder) "<dataset> <decoder> Acc" and "... ED1" (``metrics``, in percent, ``mean ±
    std`` over seeds; see :func:`cell_stats`)."""
    bad = [m for m in metrics if m not in METRICS]
    if bad or not metrics:
        raise ValueError(f"table1: metrics must be some of {METRICS}, got {list(metrics)!r}")
    rows = [r for r in rows if r["protocol"] == "decoder_eval"]
    groups = sorted({(r["dataset"], r["decoder"]) for r in rows}, key=lambda g: (g[0], g[1] != "ctc", g[1]))
    methods = sorted({r["method"] for r in rows}, key=_method_key)
    header = ["Method"] + [f"{d} {dec.upper() if dec == 'ctc' else dec.capitalize()} {m.upper() if m != 'acc' else 'Acc'}" for d, dec in groups for m in metrics]
    cells = []
    for method in methods:
        line = []
        for d, dec in groups:
            runs = [r for r in rows if (r["method"], r["dataset"], r["decoder"]) == (method, d, dec)]
            line += [cell_stats(runs, m, f"table 1 {method}/{d}/{dec}") for m in metrics]
        cells.append(line)
    return header, [[method] + line for method, line in zip(methods, _render(cells))]


def table2(rows: Iterable[dict], metric: str = "acc") -> tuple[list[str], list[list[str]]]:
    """Semi-supervised results (paper table 2): header and body rows. Columns: Method, then one per
    (dataset, decoder, label fraction) with ``metric`` (percent, ``mean ± std`` over seeds)."""
    if metric not in METRICS:
        raise ValueError(f"table2: metric must be one of {METRICS}, got {metric!r}")
    rows = [r for r in rows if r["protocol"] == "finetune"]
    groups = sorted({(r["dataset"], r["decoder"], r["label_fraction"]) for r in rows}, key=lambda g: (g[0], g[1] != "ctc", g[1], g[2]))
    methods = sorted({r["method"] for r in rows}, key=_method_key)
    header = ["Method"] + [f"{d} {dec.upper() if dec == 'ctc' else dec.capitalize()} {f * 100:g}%" for d, dec, f in groups]
    cells = []
    for method in methods:
        cells.append([
            cell_stats(
                [r for r in rows if (r["method"], r["dataset"], r["decoder"], r["label_fraction"]) == (method, d, dec, f)],
                metric, f"table 2 {method}/{d}/{dec}/{f:g}",
            )
            for d, dec, f in groups
        ])
    return header, [[method] + line for method, line in zip(methods, _render(cells))]


def seed_table(rows: Iterable[dict], metric: str = "acc") -> tuple[list[str], list[list[str]]]:
    """Every cell's value per seed (percent): columns protocol, method, dataset, decoder, labels,
    then one per seed, then mean ± std. One line per cell, in table order."""
    if metric not in METRICS:
        raise ValueError(f"seed_table: metric must be one of {METRICS}, got {metric!r}")
    rows = list(rows)
    seeds = sorted({r["seed"] for r in rows})
    keys = sorted({tuple(r[k] for k in CELL_KEYS) for r in rows},
                  key=lambda k: (k[0], k[2], k[3] != "ctc", k[3], k[4], _method_key(k[1])))
    header = ["Protocol", "Method", "Dataset", "Decoder", "Labels"] + [f"seed {s}" for s in seeds] + [f"{metric} mean ± std"]
    body = []
    for key in keys:
        cell = [r for r in rows if tuple(r[k] for k in CELL_KEYS) == key]
        stats = cell_stats(cell, metric, "/".join(map(str, key)))
        by_seed = dict(zip(stats["seeds"], stats["values"]))
        body.append([key[0], key[1], key[2], key[3], f"{key[4] * 100:g}%"]
                    + [_pct(by_seed.get(s)) for s in seeds] + [format_cell(stats)])
    return header, body


def compare(rows: Iterable[dict], a: str, b: str, metric: str = "acc", **where) -> dict:
    """Method ``a`` against method ``b`` in one table cell, over seeds.

    ``where`` selects the cell by row fields (``protocol``, ``dataset``, ``decoder``,
    ``label_fraction``); it must leave exactly one cell per method (else ValueError listing what
    still varies). Returns {"a", "b", "metric", "mean_a", "mean_b", "diff" (mean_a - mean_b),
    "std_a", "std_b", "n_a", "n_b", "exceeds", "a_better", "holds"}:

    * ``exceeds``: ``|diff| > max(std_a, std_b)``, i.e. the difference exceeds the spread over
      seeds (our criterion for "a finding held"); None when either side has fewer than two seeds;
    * ``a_better``: a's mean is better (higher Acc / ED1, lower CER / WER);
    * ``holds``: "a beats b beyond the spread over seeds" (``a_better and exceeds``; None when
      ``exceeds`` is None).
    """
    if metric not in METRICS:
        raise ValueError(f"compare: metric must be one of {METRICS}, got {metric!r}")
    unknown = [k for k in where if k not in CELL_KEYS or k == "method"]
    if unknown:
        raise ValueError(f"compare: cannot select by {unknown}; use some of {[k for k in CELL_KEYS if k != 'method']}")
    rows = [r for r in rows if all(r[k] == v for k, v in where.items())]
    stats = {}
    for m in (a, b):
        cell = [r for r in rows if r["method"] == m]
        if not cell:
            raise ValueError(f"compare: no {m} runs where {where}")
        varying = {k: sorted({r[k] for r in cell}) for k in CELL_KEYS if len({r[k] for r in cell}) > 1}
        if varying:
            raise ValueError(f"compare: {m} runs where {where} span several cells; also fix {varying}")
        stats[m] = cell_stats(cell, metric, f"compare {m} {where}")
    sa, sb = stats[a], stats[b]
    diff = sa["mean"] - sb["mean"]
    spread = max(sa["std"], sb["std"]) if sa["n"] > 1 and sb["n"] > 1 else math.nan
    exceeds = None if math.isnan(spread) else abs(diff) > spread
    a_better = diff > 0 if HIGHER_IS_BETTER[metric] else diff < 0
    return {
        "a": a, "b": b, "metric": metric,
        "mean_a": sa["mean"], "mean_b": sb["mean"], "diff": diff,
        "std_a": sa["std"], "std_b": sb["std"], "n_a": sa["n"], "n_b": sb["n"],
        "exceeds": exceeds, "a_better": a_better,
        "holds": None if exceeds is None else (a_better and exceeds),
    }


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def wer_curves(rows: Iterable[dict]) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """(dataset, method, decoder) -> sorted [(label_fraction, mean wer over seeds)] of the
    fine-tuning runs."""
    points: dict[tuple[str, str, str], dict[float, list[float]]] = {}
    for r in rows:
        if r["protocol"] == "finetune":
            points.setdefault((r["dataset"], r["method"], r["decoder"]), {}).setdefault(r["label_fraction"], []).append(r["wer"])
    curves = {k: sorted((f, statistics.fmean(v)) for f, v in fr.items()) for k, fr in points.items()}
    return dict(sorted(curves.items(), key=lambda kv: (kv[0][0], _method_key(kv[0][1]), kv[0][2])))


ERRORBARS = {"sd": "mean ± 1 sd over seeds", "ci": "mean, 95% bootstrap CI over seeds"}


def wer_figure(rows: Iterable[dict], floor: float = 1e-3, errorbar: str = "sd"):
    """Figure 7 (seaborn): WER against the labeled fraction, log-log, one panel per dataset, one
    color per (method, decoder). Every seed's run is a small translucent point; the line is the
    mean over seeds with its band: ``errorbar`` "sd" (± one sample std) or "ci" (95% bootstrap
    confidence interval, seeded), named in each panel's title. The supervised baseline is dashed.
    A WER of 0 is drawn at ``floor`` (log axes cannot show 0)."""
    # lazy: seaborn (with pandas) costs ~1.5 s on import and only this figure uses it
    import pandas as pd
    import seaborn as sns

    if errorbar not in ERRORBARS:
        raise ValueError(f"wer_figure: errorbar must be one of {list(ERRORBARS)}, got {errorbar!r}")
    rows = [r for r in rows if r["protocol"] == "finetune"]
    for key in {tuple(r[k] for k in CELL_KEYS) for r in rows}:
        _check_seeds([r for r in rows if tuple(r[k] for k in CELL_KEYS) == key], f"figure 7 {'/'.join(map(str, key))}")
    df = pd.DataFrame({
        "dataset": [r["dataset"] for r in rows],
        "curve": [f"{r['method']} ({r['decoder']})" for r in rows],
        "kind": ["supervised" if r["method"] == SUPERVISED else "pretrained" for r in rows],
        "label_fraction": [r["label_fraction"] for r in rows],
        "wer": [max(r["wer"], floor) for r in rows],
        "seed": [r["seed"] for r in rows],
    })
    order = [f"{m} ({dec})" for _, m, dec in sorted({(_method_key(r["method"]), r["method"], r["decoder"]) for r in rows})]
    palette = dict(zip(order, sns.color_palette("tab10" if len(order) <= 10 else "husl", len(order))))
    datasets = sorted(df["dataset"].unique()) or ["(no fine-tuning runs)"]
    band = ("sd", 1) if errorbar == "sd" else ("ci", 95)
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.8 * len(datasets), 3.8), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        sub = df[df["dataset"] == d]
        if len(sub):
            hue_order = [c for c in order if c in set(sub["curve"])]
            sns.lineplot(data=sub, x="label_fraction", y="wer", hue="curve", hue_order=hue_order, palette=palette,
                         style="kind", dashes={"pretrained": "", "supervised": (4, 2)}, style_order=["pretrained", "supervised"],
                         estimator="mean", errorbar=band, n_boot=1000, seed=0, marker="o", markersize=4,
                         err_kws={"alpha": 0.15}, ax=ax, legend=False)
            sns.scatterplot(data=sub, x="label_fraction", y="wer", hue="curve", hue_order=hue_order, palette=palette,
                            s=14, alpha=0.4, linewidth=0, ax=ax, legend=False)
            ax.legend(handles=[Line2D([], [], color=palette[c], linestyle="--" if c.startswith(f"{SUPERVISED} (") else "-",
                                      marker="o", markersize=4, label=c) for c in hue_order], fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("labeled fraction")
        ax.set_ylabel("word error rate")
        ax.set_title(f"{d}\n{ERRORBARS[errorbar]}; dots: single seeds", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig




# ---------------------------------------------------------------------------------------------
# Predictions on sample images, errors highlighted.
# ---------------------------------------------------------------------------------------------


def error_spans(label: str, prediction: str) -> list[tuple[str, bool]]:
    """The prediction cut into (text, wrong) pieces: characters that are not in an exact-match
    block against the label are wrong; a deletion shows as a wrong "_" (so a correct-looking
    prediction missing a letter is still marked)."""
    spans: list[tuple[str, bool]] = []
    matcher = difflib.SequenceMatcher(a=label, b=prediction, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            spans.append((prediction[b0:b1], False))
        elif op == "delete":
            spans.append(("_" * (a1 - a0), True))
        else:
            spans.append((prediction[b0:b1], True))
    return spans


def predictions_figure(dataset, predictions: Sequence[dict], n: int = 8, errors_first: bool = True):
    """Test images with label and prediction; wrong characters of the prediction in red.
    ``predictions``: rows of predictions.json ({"index", "label", "prediction", "correct"})."""
    rows = list(predictions)
    if errors_first:
        rows = sorted(rows, key=lambda r: r["label"] == r["prediction"])
    rows = rows[:n]
    fig, axes = plt.subplots(len(rows) or 1, 1, figsize=(4.2, 1.0 * max(1, len(rows))), squeeze=False)
    for ax, r in zip(axes[:, 0], rows):
        img = dataset[r["index"]]["image"][0].numpy()
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"label: {r['label']!r}", fontsize=8, loc="left")
        ax.text(1.02, 0.5, "pred:", transform=ax.transAxes, fontsize=8, va="center")
        # one character at a time at the monospace advance (0.6 em), in axes units
        step = 0.6 * 9 / 72 / (ax.get_position().width * fig.get_figwidth())
        x = 1.02 + 6 * 0.6 * 8 / 72 / (ax.get_position().width * fig.get_figwidth())
        for text, wrong in error_spans(r["label"], r["prediction"]) or [("(empty)", True)]:
            for ch in text:
                ax.text(x, 0.5, ch, transform=ax.transAxes, fontsize=9, va="center", family="monospace",
                        color="red" if wrong else "green")
                x += step
    for ax in axes[len(rows):, 0]:
        ax.axis("off")
    fig.tight_layout()
    return fig
