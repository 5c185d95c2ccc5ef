"""The gap between SeqCLR-window and the supervised baseline against pretraining steps (hw-v2, CPU).

    .venv/bin/python outputs/reference/hw-v2/pretrain-10x/gap.py

Reads the study's runs (../runs: supervised = 0 steps, seqclr-window = 600) and this folder's
(runs: seqclr-window+10x-steps = 6,000), writes gap.json and gap.png beside this file. Test
families, mean ± sample std over seeds 0-2; "beyond the spread" is seqclr.evaluate.report.compare.
"""

import json
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from seqclr.evaluate.report import collect_runs, compare  # noqa: E402

HERE = Path(__file__).resolve().parent
STEPS = {"supervised": 0, "seqclr-window": 600, "seqclr-window+10x-steps": 6000}
FRACTIONS = (0.05, 0.1)

rows = [r for r in collect_runs(HERE.parent / "runs") + collect_runs(HERE / "runs")
        if r["protocol"] == "finetune" and r["decoder"] == "ctc" and r["method"] in STEPS
        and r["label_fraction"] in FRACTIONS]
summary = {}
for f in FRACTIONS:
    for m in ("seqclr-window", "seqclr-window+10x-steps"):
        for metric in ("acc", "cer"):
            c = compare(rows, m, "supervised", metric, label_fraction=f, decoder="ctc")
            summary[f"{m} vs supervised, {f:g}, {metric}"] = {k: round(v, 4) if isinstance(v, float) else v
                                                             for k, v in c.items()}
(HERE / "gap.json").write_text(json.dumps(summary, indent=1) + "\n")

data = pd.DataFrame([dict(steps=STEPS[r["method"]], acc=100 * r["acc"], labels=f"{r['label_fraction']:.0%} of the labels",
             seed=r["seed"]) for r in rows])
np.random.seed(0)  # the strip plot's jitter: the same figure on every run
fig, ax = plt.subplots(figsize=(5, 3.4))
sns.stripplot(data=data, x="steps", y="acc", hue="labels", dodge=True, alpha=0.5, ax=ax, legend=False)
sns.pointplot(data=data, x="steps", y="acc", hue="labels", dodge=0.4, errorbar="sd", ax=ax, markers="D")
ax.set(xlabel="SeqCLR-window pretraining steps (0 = supervised baseline)", ylabel="test word accuracy (%)",
       title="hw-v2 test families: fine-tuning 2,000 steps, CTC")
fig.tight_layout()
fig.savefig(HERE / "gap.png", dpi=110)
for k, v in summary.items():
    print(f"{k}: {100 * v['mean_a']:.1f} ± {100 * v['std_a']:.1f} vs {100 * v['mean_b']:.1f} ± {100 * v['std_b']:.1f}, "
          f"diff {100 * v['diff']:+.1f}, beyond the spread: {v['exceeds']}")
