"""Word accuracy per font family of an embedded benchmark's split: each family is one "writer" of
hw-v2, so this shows which unseen writers a recognizer reads and which it does not.

Scores come from a finished run's ``predictions.json`` (one entry per test item, with its index);
the family of each item is recomputed from the run's recorded data config without rendering
(``SyntheticWords.label_and_face``), and its label is checked against the prediction's, so a
predictions file from other data is refused rather than miscounted. Reporting only: no choice of
model or step may be made on test families.

    .venv/bin/python -m seqclr.evaluate.by_family --runs outputs/reference/hw-v2/runs \\
        --out outputs/reference/hw-v2/by_family.json
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
from pathlib import Path

from seqclr.data.dataset import build_source
from seqclr.data.source_names import SYNTHETIC_SOURCES
from seqclr.evaluate.results import _write_json
from seqclr.exits import guarded


def split_source(config: dict, split: str = "test"):
    """The synthetic source a run with recorded ``config`` scored on (ValueError for real data)."""
    if config.get("data") not in SYNTHETIC_SOURCES:
        raise ValueError(f"by_family: data {config.get('data')!r} has no font families; expected one of {SYNTHETIC_SOURCES}")
    return build_source(config["data"], split=split, size=config[f"{split}_size"], seed=config["data_seed"],
                        charset=config["charset"], **config.get(f"{split}_source", {}))


def split_items(config: dict, split: str = "test") -> tuple[tuple[str, str], ...]:
    """(label, family) of every item of the split a run with recorded ``config`` scored on; computed
    once per data config, as every run of a study scores on the same split."""
    fields = {k: config.get(k) for k in ("data", "data_seed", "charset", f"{split}_size", f"{split}_source")}
    return _split_items(json.dumps(fields, sort_keys=True), split)


@functools.lru_cache(maxsize=8)
def _split_items(fields: str, split: str) -> tuple[tuple[str, str], ...]:
    source = split_source(json.loads(fields), split)
    return tuple((label, face.family) for label, face in map(source.label_and_face, range(len(source))))


def family_accuracy(predictions: list[dict], items: tuple[tuple[str, str], ...]) -> dict[str, dict]:
    """{family: {"n", "correct", "acc"}} of ``predictions`` (dicts with index, label, correct);
    ``items``: :func:`split_items` of the data they were made on."""
    out: dict[str, dict] = {}
    for p in predictions:
        label, family = items[p["index"]]
        if label != p["label"]:
            raise ValueError(f"by_family: item {p['index']} is {label!r} in the data but {p['label']!r} in the predictions")
        f = out.setdefault(family, {"n": 0, "correct": 0})
        f["n"] += 1
        f["correct"] += bool(p["correct"])
    for f in out.values():
        f["acc"] = f["correct"] / f["n"]
    return dict(sorted(out.items()))


def run_family_accuracy(run_dir: str | Path, split: str = "test") -> dict[str, dict]:
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "metrics.json").read_text())["config"]
    predictions = json.loads((run_dir / "predictions.json").read_text())
    return family_accuracy(predictions, split_items(config, split))


def family_table(per_run: dict[str, dict]) -> str:
    """Markdown: one row per run group (name without its seed), one column per family, mean ± std
    of the word accuracy over the group's seeds, in percent."""
    groups: dict[str, list[dict]] = {}
    for name, fam in per_run.items():
        groups.setdefault(name.rsplit("-s", 1)[0], []).append(fam)
    families = sorted({f for fam in per_run.values() for f in fam})
    rows = ["| run | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]
    for group, runs in groups.items():
        cells = []
        for f in families:
            v = [100 * r[f]["acc"] for r in runs if f in r]
            cells.append(f"{statistics.mean(v):.1f}" + (f" ± {statistics.stdev(v):.1f}" if len(v) > 1 else "") if v else "")
        rows.append(f"| {group} (n={len(runs)}) | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="a study's runs/ folder (runs/<protocol>/<name>/predictions.json)")
    parser.add_argument("--out", required=True, help="JSON of every run's families; a .md table is written beside it")
    parser.add_argument("--split", default="test", choices=("val", "test"))
    args = parser.parse_args(argv)
    per_run = {str(p.parent.relative_to(args.runs)): run_family_accuracy(p.parent, args.split)
               for p in sorted(Path(args.runs).glob("*/*/predictions.json"))}
    if not per_run:
        raise ValueError(f"by_family: no */*/predictions.json under {args.runs}")
    _write_json(Path(args.out), {"split": args.split, "runs": per_run})
    table = family_table(per_run)
    Path(args.out).with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
