"""Results tables and plots from several runs' metrics.json (the paper's tables 1, 2 and fig. 7),
and the per-image prediction figure of the evaluation notebooks.

A run is one folder with a ``metrics.json`` written by :func:`seqclr.evaluate.run_protocol`.
:func:`collect_runs` flattens each into a row (protocol, method, dataset, decoder, label fraction,
acc / ed1 / cer / wer, ...). Tables are plain lists of rows rendered as Markdown (no pandas):

* table 1 (decoder evaluation): one row per method, one column group per (dataset, decoder),
  each with Acc and ED1;
* table 2 (semi-supervised): one row per method (the supervised baseline included), one column
  per (dataset, decoder, label fraction) with Acc;
* figure 7: word error rate against the labeled fraction on log-log axes, one line per (method,
  decoder), one panel per dataset.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

SUPERVISED = "supervised"
# Table rows in the paper's order; unknown methods follow, alphabetically.
METHOD_ORDER = ("simclr", "simclr-contextual", "seqclr-all", "seqclr-frame", "seqclr-window", "none", SUPERVISED)
METRICS = ("acc", "ed1", "cer", "wer")


def dataset_name(config: dict) -> str:
    """The dataset of a run for tables: the data source, or its test path's parent for real data."""
    data = config.get("data", "?")
    return str(data)


def method_name(summary: dict) -> str:
    """The table row of a run: its method; a random-init fine-tuning is the supervised baseline."""
    method = summary.get("method") or ""
    if summary.get("protocol") == SUPERVISED or (summary.get("protocol") == "finetune" and summary.get("checkpoint") == "random"):
        return SUPERVISED if method in ("", "none", SUPERVISED) else method
    if not method:
        return "none" if summary.get("checkpoint") == "random" else Path(str(summary.get("checkpoint", "?"))).parent.name
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
        cfg = s["config"]
        rows.append({
            "path": str(path.parent),
            "protocol": "finetune" if s["protocol"] == SUPERVISED else s["protocol"],
            "method": method_name(s),
            "dataset": dataset_name(cfg),
            "decoder": cfg.get("decoder", "?"),
            "feature": cfg.get("feature", "?"),
            "label_fraction": float(s["label_fraction"]),
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


def _unique(rows: list[dict], where: str) -> dict:
    """The single row of a table cell; duplicates (two runs for one cell) are an error naming them."""
    if len(rows) > 1:
        raise ValueError(f"{where}: {len(rows)} runs for one table cell: {[r['path'] for r in rows]}")
    return rows[0] if rows else {}


def table1(rows: Iterable[dict], metrics: Sequence[str] = ("acc", "ed1")) -> tuple[list[str], list[list[str]]]:
    """Decoder evaluation (paper table 1): header and body rows. Columns: Method, then for each
    (dataset, decoder) "<dataset> <decoder> Acc" and "... ED1" (``metrics``, in percent)."""
    bad = [m for m in metrics if m not in METRICS]
    if bad or not metrics:
        raise ValueError(f"table1: metrics must be some of {METRICS}, got {list(metrics)!r}")
    rows = [r for r in rows if r["protocol"] == "decoder_eval"]
    groups = sorted({(r["dataset"], r["decoder"]) for r in rows}, key=lambda g: (g[0], g[1] != "ctc", g[1]))
    methods = sorted({r["method"] for r in rows}, key=_method_key)
    header = ["Method"] + [f"{d} {dec.upper() if dec == 'ctc' else dec.capitalize()} {m.upper() if m != 'acc' else 'Acc'}" for d, dec in groups for m in metrics]
    body = []
    for method in methods:
        line = [method]
        for d, dec in groups:
            cell = _unique([r for r in rows if (r["method"], r["dataset"], r["decoder"]) == (method, d, dec)], f"table 1 {method}/{d}/{dec}")
            line += [_pct(cell.get(m)) for m in metrics]
        body.append(line)
    return header, body


def table2(rows: Iterable[dict], metric: str = "acc") -> tuple[list[str], list[list[str]]]:
    """Semi-supervised results (paper table 2): header and body rows. Columns: Method, then one per
    (dataset, decoder, label fraction) with ``metric`` (percent)."""
    if metric not in METRICS:
        raise ValueError(f"table2: metric must be one of {METRICS}, got {metric!r}")
    rows = [r for r in rows if r["protocol"] == "finetune"]
    groups = sorted({(r["dataset"], r["decoder"], r["label_fraction"]) for r in rows}, key=lambda g: (g[0], g[1] != "ctc", g[1], g[2]))
    methods = sorted({r["method"] for r in rows}, key=_method_key)
    header = ["Method"] + [f"{d} {dec.upper() if dec == 'ctc' else dec.capitalize()} {f * 100:g}%" for d, dec, f in groups]
    body = []
    for method in methods:
        line = [method]
        for d, dec, f in groups:
            cell = _unique(
                [r for r in rows if (r["method"], r["dataset"], r["decoder"], r["label_fraction"]) == (method, d, dec, f)],
                f"table 2 {method}/{d}/{dec}/{f:g}",
            )
            line.append(_pct(cell.get(metric)))
        body.append(line)
    return header, body


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def wer_curves(rows: Iterable[dict]) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """(dataset, method, decoder) -> sorted [(label_fraction, wer)] of the fine-tuning runs."""
    curves: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for r in rows:
        if r["protocol"] == "finetune":
            curves.setdefault((r["dataset"], r["method"], r["decoder"]), []).append((r["label_fraction"], r["wer"]))
    return {k: sorted(v) for k, v in sorted(curves.items(), key=lambda kv: (kv[0][0], _method_key(kv[0][1]), kv[0][2]))}


def wer_figure(rows: Iterable[dict], floor: float = 1e-3):
    """Figure 7: WER against the labeled fraction, log-log, one panel per dataset. A WER of 0
    is drawn at ``floor`` (log axes cannot show 0)."""
    import matplotlib.pyplot as plt

    curves = wer_curves(rows)
    datasets = sorted({k[0] for k in curves}) or ["(no fine-tuning runs)"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.5 * len(datasets), 3.6), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        for (ds, method, decoder), pts in curves.items():
            if ds != d:
                continue
            xs = [p[0] for p in pts]
            ys = [max(p[1], floor) for p in pts]
            style = "--" if method == SUPERVISED else "-"
            ax.plot(xs, ys, style, marker="o", label=f"{method} ({decoder})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("labeled fraction")
        ax.set_ylabel("word error rate")
        ax.set_title(d)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def figure_png(fig, dpi: int = 110) -> bytes:
    """PNG bytes of a matplotlib figure, which is then closed (notebooks display the bytes, so
    the output does not depend on the kernel's matplotlib backend)."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


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
    import matplotlib.pyplot as plt

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
