"""Renamed parameters (one name per idea, one data dialect): each config class's RENAMED table is
read for one release. An old name works from a YAML file, a command line, a notebook and keyword
construction, with a DeprecationWarning naming the source, the old and the new key; old and new
together is an error naming both; every file under parameters/ and every notebook parameters
cell already uses the new names."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from seqclr.benchmark.config import BenchmarkConfig
from seqclr.config import ParameterError, RenamedParameterWarning, from_namespace, from_yaml, renames, upgrade_keys
from seqclr.evaluate.config import DecoderEvalConfig, FinetuneConfig
from seqclr.evaluate.notebook import EmbeddingsParams
from seqclr.explorer.params import ExplorerParams
from seqclr.notebook_params import NOTEBOOK_PARAMS, params_class
from seqclr.train.config import PretrainConfig
from seqclr.train.data import build_dataset
from tests.notebook_utils import NOTEBOOKS, PARAMETERS, ROOT, cell_defaults, notebook_paths

# (config class, old values, the new values they mean) for every rename
CASES = [
    (PretrainConfig, {"data_size": 64}, {"train_size": 64}),
    (PretrainConfig, {"data_options": {"benchmark": "hw-v1"}}, {"train_source": {"benchmark": "hw-v1"}}),
    (PretrainConfig, {"data_split": "val"}, {"train_source": {"split": "val"}}),
    (PretrainConfig, {"data": "iam", "data_root": "data/iam"}, {"data": "iam", "train_source": {"root": "data/iam"}}),
    (DecoderEvalConfig, {"feature": "V"}, {"representation": "V"}),
    (FinetuneConfig, {"feature": "HV"}, {"representation": "HV"}),
    (BenchmarkConfig, {"preset": "small"}, {"encoder": "small"}),
    (BenchmarkConfig, {"batch": 64}, {"batch_size": 64}),
    (BenchmarkConfig, {"data_size": 128}, {"train_size": 128}),
    (EmbeddingsParams, {"kind": "window"}, {"mapping": "window"}),
    (ExplorerParams, {"preset": "light"}, {"augmentation": "light"}),
]


def _ids(case) -> str:
    return f"{case[0].__name__}-{'+'.join(k for k in case[1] if k in renames(case[0]))}"


def _old_keys(cls, old: dict) -> list[str]:
    return [k for k in old if k in renames(cls)]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_old_name_in_a_file_is_read_with_a_warning_naming_the_new_key(case, tmp_path):
    cls, old, new = case
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(old))
    with pytest.warns(DeprecationWarning) as caught:
        cfg = from_yaml(cls, path)
    assert cfg == cls.from_dict(new)
    messages = [str(w.message) for w in caught]
    for key in _old_keys(cls, old):
        expected = f"{path}: {key!r} is deprecated, use {renames(cls)[key]!r}"
        assert any(m.startswith(expected) and m.endswith("(old names are read until the next release)") for m in messages), messages


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_old_name_as_a_keyword_in_a_notebook_and_in_replace(case):
    cls, old, new = case
    key = _old_keys(cls, old)[0]
    with pytest.warns(RenamedParameterWarning, match=rf"^{cls.__name__}\(\): {key!r} is deprecated, use {renames(cls)[key]!r}"):
        assert cls(**old) == cls.from_dict(new)
    defaults = {name: getattr(cls(), name) for name in set(renames(cls).values())}  # a parameters cell's
    with pytest.warns(RenamedParameterWarning, match=rf"^notebook parameters: {key!r} is deprecated"):
        assert from_namespace(cls, {**defaults, **old}) == cls.from_dict(new)
    with pytest.warns(RenamedParameterWarning, match=rf"^{cls.__name__}\.replace\(\): {key!r} is deprecated"):
        assert cls().replace(**old) == cls.from_dict(new)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_old_and_new_name_together_is_an_error_naming_both(case, tmp_path):
    cls, old, new = case
    key = _old_keys(cls, old)[0]
    target = renames(cls)[key]
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump({**old, target: new[target]}))
    with pytest.raises(ParameterError, match=rf"^{path}: {key!r} and {target!r} are the same parameter"):
        from_yaml(cls, path)


def test_every_notebook_class_with_renames_is_covered():
    """A new rename gets a case above."""
    classes = {params_class(stem) for stem in NOTEBOOK_PARAMS}
    covered = {(cls, k) for cls, old, _ in CASES for k in old}
    missing = [(c.__name__, k) for c in classes for k in renames(c) if not any(k == o and issubclass(c, cl) for cl, o in covered)]
    assert not missing, missing


def test_renames_keep_the_unknown_key_error():
    with pytest.raises(ParameterError, match=r"unknown parameter 'data_sise'.*valid parameters: "):
        PretrainConfig.from_dict({"data_sise": 4})


def test_old_pretraining_data_fields_fold_into_train_source():
    """data_root goes to the reader's path argument, data_options are its other arguments,
    data_split reaches the synthetic sources (the only ones that read it) unless it is "train"."""
    old = {"data": "rimes", "data_root": "gt.txt", "data_options": {"image_dir": "img"}, "data_split": "val", "data_size": None}
    assert upgrade_keys(PretrainConfig, old, warn=False) == {
        "data": "rimes", "train_source": {"gt_file": "gt.txt", "image_dir": "img"}, "train_size": None,
    }
    packed = {"data": "packed", "data_root": "outputs/packed/x", "data_options": {}}
    assert upgrade_keys(PretrainConfig, packed, warn=False)["train_source"] == {"path": "outputs/packed/x"}
    saved = {"data": "synthetic-handwriting", "data_root": None, "data_options": {}, "data_split": "train", "data_size": 1024}
    assert upgrade_keys(PretrainConfig, saved, warn=False) == {"data": "synthetic-handwriting", "train_source": {}, "train_size": 1024}


def test_a_real_source_without_its_path_names_the_argument():
    with pytest.raises(ValueError, match=r"data 'iam' needs train_source: \{root: "):
        build_dataset(PretrainConfig(data="iam"))


YAMLS = sorted(PARAMETERS.rglob("*.yaml"))


@pytest.mark.parametrize("path", YAMLS, ids=[str(p.relative_to(PARAMETERS)) for p in YAMLS])
def test_parameter_files_use_the_new_names(path: Path):
    cls = params_class(path.relative_to(PARAMETERS).parts[0])
    values = yaml.safe_load(path.read_text()) or {}
    old = sorted(set(values) & set(renames(cls)))
    assert not old, f"{path.relative_to(ROOT)}: old names {old}: use {[renames(cls)[k] for k in old]}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        if values.get("data") == "packed":  # validation reads the pack (tests/test_notebooks_meta.py packs one)
            upgrade_keys(cls, values, str(path))
        else:
            from_yaml(cls, path)


@pytest.mark.parametrize("stem", [p.stem for p in notebook_paths()])
def test_notebook_parameters_cells_use_the_new_names(stem):
    cls = params_class(stem)
    old = sorted(set(cell_defaults(NOTEBOOKS / f"{stem}.ipynb")) & set(renames(cls)))
    assert not old, f"notebooks/{stem}.py parameters cell: old names {old}"
    source = (NOTEBOOKS / f"{stem}.py").read_text()
    assert stem in NOTEBOOK_PARAMS and all(f"\n{k}:" not in source and f"\n{k} =" not in source for k in renames(cls))
