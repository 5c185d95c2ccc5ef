"""Notebooks are committed clean, paired with their jupytext scripts, and their parameters cells
agree with the dataclasses that validate them; every YAML under parameters/ validates."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jupytext
import nbformat
import pytest

from seqclr.config import ParameterError, from_yaml
from seqclr.notebook_params import NOTEBOOK_PARAMS, params_class
from tests.notebook_utils import NOTEBOOKS, PARAMETERS, cell_defaults, notebook_paths

NOTEBOOK_IDS = [p.stem for p in notebook_paths()]


def test_every_notebook_is_registered():
    assert NOTEBOOK_IDS, "no notebooks found"
    for stem in NOTEBOOK_IDS:
        assert stem in NOTEBOOK_PARAMS, f"notebooks/{stem}.ipynb has no parameter class in seqclr.notebook_params"


@pytest.mark.parametrize("stem", NOTEBOOK_IDS)
def test_committed_without_outputs(stem):
    nb = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"notebooks/{stem}.ipynb carries outputs in cells {dirty}: clear them (rendered runs go to outputs/)"


@pytest.mark.parametrize("stem", NOTEBOOK_IDS)
def test_paired_script_in_sync(stem):
    ipynb = NOTEBOOKS / f"{stem}.ipynb"
    script = NOTEBOOKS / f"{stem}.py"
    assert script.exists(), f"{ipynb.name} has no paired jupytext script {script.name}"
    a = jupytext.read(ipynb)
    b = jupytext.read(script)
    assert "py:percent" in a.metadata.get("jupytext", {}).get("formats", ""), f"{ipynb.name} is not paired with py:percent"
    cells_a = [(c.cell_type, c.source.strip()) for c in a.cells]
    cells_b = [(c.cell_type, c.source.strip()) for c in b.cells]
    assert cells_a == cells_b, f"{ipynb.name} and {script.name} differ: run `make sync-notebooks`"
    tags = [c.metadata.get("tags", []) for c in a.cells]
    assert sum("parameters" in t for t in tags) == 1, f"{ipynb.name} needs exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("stem", NOTEBOOK_IDS)
def test_parameters_cell_matches_dataclass(stem):
    cls = params_class(stem)
    defaults = cell_defaults(NOTEBOOKS / f"{stem}.ipynb")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert set(defaults) == set(fields), (
        f"{stem}: cell-only {sorted(set(defaults) - set(fields))}, dataclass-only {sorted(set(fields) - set(defaults))}"
    )
    obj = cls()
    for name, value in defaults.items():
        expected = getattr(obj, name)
        if isinstance(expected, tuple):
            value = tuple(value)
        assert value == expected, f"{stem}: parameters cell {name}={value!r} but {cls.__name__} default is {expected!r}"


YAMLS = sorted(PARAMETERS.rglob("*.yaml"))


def _pack_where_it_points(values: dict, tmp_path: Path, monkeypatch) -> None:
    """A ``data: packed`` file names a folder the user packs first (validation reads its
    manifest): pack one batch of rendered words there, under a temporary working directory."""
    from seqclr.data.packed import pack_dataset
    from seqclr.data.synthetic import SyntheticWords

    root = Path(values["train_source"]["path"])
    assert not root.is_absolute(), f"train_source path {root}: use a path relative to the repository"
    monkeypatch.chdir(tmp_path)
    pack_dataset(SyntheticWords(size=values.get("batch_size", 32)), root, values.get("height", 32), values.get("width", 100))


@pytest.mark.parametrize("path", YAMLS, ids=[str(p.relative_to(PARAMETERS)) for p in YAMLS])
def test_every_yaml_validates_against_its_notebook(path: Path, tmp_path, monkeypatch):
    stem = path.relative_to(PARAMETERS).parts[0]
    assert (NOTEBOOKS / f"{stem}.ipynb").exists(), f"{path}: no notebook notebooks/{stem}.ipynb for this folder"
    cell = cell_defaults(NOTEBOOKS / f"{stem}.ipynb")
    import yaml

    values = yaml.safe_load(path.read_text()) or {}
    keys = set(values)
    assert keys <= set(cell), f"{path}: not parameters of {stem}: {sorted(keys - set(cell))}"
    if values.get("data") == "packed":
        _pack_where_it_points(values, tmp_path, monkeypatch)
    from_yaml(params_class(stem), path)


def test_yaml_typo_is_caught(tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text("n_sample: 3\n")
    with pytest.raises(ParameterError, match=r"typo.yaml: unknown parameter 'n_sample'.*did you mean 'n_samples'"):
        from_yaml(params_class("augmentation_explorer"), bad)


def test_notebooks_resolve_relative_paths_from_the_repository_root(tmp_path, monkeypatch):
    from seqclr.notebook_params import enter_project_root

    root = NOTEBOOKS.parent
    monkeypatch.chdir(NOTEBOOKS)  # where JupyterLab and nbval start a notebook's kernel
    assert enter_project_root() == root and Path.cwd() == root
    monkeypatch.chdir(tmp_path)  # outside a checkout the working directory stays
    enter_project_root()
    assert Path.cwd() == tmp_path
