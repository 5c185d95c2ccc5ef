"""Protocol outputs: ``metrics.json`` (metrics + config + label fraction + subset size + checkpoint
+ training history) and ``predictions.json`` (one {"index", "label", "prediction", "correct"} per
test image, ``index`` = position in the test WordDataset), both written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default=None):
    """The JSON at ``path``, or ``default`` (a fresh {} when None) when the file does not exist
    (the resumable drivers: study, recipe sweep, ablation)."""
    path = Path(path)
    if not path.exists():
        return {} if default is None else default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_results(output_dir: str | Path, summary: dict, predictions: list[dict]) -> tuple[Path, Path]:
    """Write metrics.json and predictions.json under ``output_dir``; returns both paths."""
    out = Path(output_dir)
    rows = [{**r, "correct": r["label"] == r["prediction"]} for r in predictions]
    metrics_path, preds_path = out / "metrics.json", out / "predictions.json"
    _write_json(preds_path, rows)
    _write_json(metrics_path, summary)
    return metrics_path, preds_path


def read_results(output_dir: str | Path) -> tuple[dict, list[dict]]:
    """(summary, predictions) written by :func:`write_results`."""
    out = Path(output_dir)
    with open(out / "metrics.json", encoding="utf-8") as f:
        summary = json.load(f)
    with open(out / "predictions.json", encoding="utf-8") as f:
        predictions = json.load(f)
    return summary, predictions
