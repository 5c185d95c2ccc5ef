"""Helpers for the notebook tests: where the notebooks are and how to run one with papermill."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PARAMETERS = ROOT / "parameters"


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def cell_defaults(notebook: Path) -> dict:
    """Name -> default value of the notebook's parameters cell, as papermill sees them."""
    import papermill

    params = papermill.inspect_notebook(str(notebook))
    return {name: ast.literal_eval(p["default"]) for name, p in params.items()}


def run_notebook(notebook: Path, out: Path, parameters: dict | None = None, yaml_file: Path | None = None):
    """Execute a notebook headless with papermill; returns the executed notebook node."""
    import papermill
    import yaml

    values = dict(yaml.safe_load(yaml_file.read_text()) or {}) if yaml_file else {}
    values.update(parameters or {})
    return papermill.execute_notebook(
        str(notebook), str(out), parameters=values, cwd=str(ROOT), progress_bar=False, kernel_name="python3"
    )


def error_outputs(nb) -> list[str]:
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
