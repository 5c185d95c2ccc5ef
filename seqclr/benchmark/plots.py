"""Figures of a benchmark result (Agg canvas: no display needed)."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqclr.benchmark.config import BenchmarkConfig
from seqclr.config import upgrade_keys


def results_figure(res: dict):
    """Three panels: images/s per stage (log scale), loss time per mapping, ablation speedups."""
    fig = Figure(figsize=(13, 3.8), dpi=100)
    FigureCanvasAgg(fig)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    a, s = res["augment"], res["step"]
    stages = {"augment (ours)": a["ours_images_per_s"], "augment (imgaug)": a["imgaug_images_per_s"],
              "input (packed)": res["input"]["images_per_s"], "encoder f+b (views)": res["encoder"]["images_per_s"],
              "step (synthetic)": s["synthetic_images_per_s"], "step (real)": s["images_per_s"]}  # fmt: skip
    stages = {k: v for k, v in stages.items() if v}
    ax1.barh(list(stages), list(stages.values()), color="tab:blue")
    ax1.set_xscale("log")
    ax1.invert_yaxis()
    ax1.set_xlabel("images/s")
    config = upgrade_keys(BenchmarkConfig, res["config"], warn=False)  # a result of before a rename too
    ax1.set_title(f"throughput ({res['device']['type']}, batch_size {config['batch_size']})", fontsize=9)
    for mode, color in (("dense", "tab:orange"), ("stream", "tab:green")):
        rows = [r for r in res["loss"] if r["mode"] == mode and r["seconds"] is not None]
        if rows:
            ax2.plot([r["instances_per_view"] for r in rows], [r["seconds"] * 1e3 for r in rows], "o-", color=color, label=mode)
            for r in rows:
                ax2.annotate(r["mapping"], (r["instances_per_view"], r["seconds"] * 1e3), fontsize=7)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("instances per view (all / window / frame)")
    ax2.set_ylabel("loss fwd+bwd ms")
    ax2.legend(fontsize=8)
    ax2.set_title("contrastive loss", fontsize=9)
    rows = [r for r in res["ablations"] if r["status"] == "measured"]
    if rows:
        colors = ["tab:green" if r["kept"] else "tab:gray" for r in rows]
        ax3.barh([r["name"] for r in rows], [r["speedup"] for r in rows], color=colors)
        ax3.axvline(1.0, color="k", lw=0.8)
        ax3.invert_yaxis()
    ax3.set_xlabel("speedup vs the row before (green: kept)")
    ax3.set_title("optimizations, measured side by side", fontsize=9)
    ax3.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig

