"""The generic parameter machinery: unknown names, wrong types and bad values fail up front."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from seqclr.config import (
    ConfigIO,
    ParameterError,
    RenamedParameterWarning,
    from_dict,
    from_namespace,
    from_yaml,
    parse_overrides,
    to_dict,
    upgrade_keys,
)


@dataclass
class Demo:
    batch_size: int = 8
    lr: float = 1.0
    method: Literal["seqclr-window", "simclr"] = "seqclr-window"
    chunk: Optional[int] = None
    milestones: tuple[float, ...] = (0.6, 0.8)
    overrides: dict[str, float] = field(default_factory=dict)

    def validate(self) -> None:
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {self.batch_size}")


def test_defaults_and_widening():
    d = from_dict(Demo, {"lr": 10, "milestones": [0.5, 0.7]})
    assert d.lr == 10.0 and isinstance(d.lr, float)
    assert d.milestones == (0.5, 0.7)
    assert to_dict(d)["milestones"] == [0.5, 0.7]


def test_unknown_key_suggests_closest():
    with pytest.raises(ParameterError, match=r"unknown parameter 'batch_sise'.*did you mean 'batch_size'"):
        from_dict(Demo, {"batch_sise": 4})


@pytest.mark.parametrize(
    "values, pattern",
    [
        ({"batch_size": "8"}, r"'batch_size' must be int, got '8'"),
        ({"batch_size": True}, r"'batch_size' must be int"),
        ({"method": "seqclr-windw"}, r"'method' must be one of .*did you mean 'seqclr-window'"),
        ({"chunk": 1.5}, r"'chunk' must be"),
        ({"milestones": "0.6"}, r"'milestones' must be"),
        ({"batch_size": 1}, r"batch_size must be >= 2, got 1"),
    ],
)
def test_bad_values_name_the_key(values, pattern):
    with pytest.raises(ParameterError, match=pattern):
        from_dict(Demo, values)


def test_yaml_errors_name_the_file(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("batch_size: 16\nchunk: 1024\n")
    assert from_yaml(Demo, good).chunk == 1024
    bad = tmp_path / "bad.yaml"
    bad.write_text("batch_size: 16\nlrr: 3\n")
    with pytest.raises(ParameterError, match=r"bad.yaml: unknown parameter 'lrr'"):
        from_yaml(Demo, bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("batch_size: [1,\n")
    with pytest.raises(ParameterError, match=r"broken.yaml: not valid YAML"):
        from_yaml(Demo, broken)
    with pytest.raises(ParameterError, match=r"missing.yaml: parameter file not found"):
        from_yaml(Demo, tmp_path / "missing.yaml")


def test_namespace_catches_injected_typo():
    import math  # modules and callables in a notebook's globals are not parameters

    ns = {"batch_size": 4, "math": math, "In": [], "_": None, "helper": print}
    assert from_namespace(Demo, ns).batch_size == 4
    ns["batchsize"] = 5  # what papermill -p batchsize 5 would inject
    with pytest.raises(ParameterError, match=r"notebook parameters: unknown parameter 'batchsize'"):
        from_namespace(Demo, ns)


def test_parse_overrides():
    assert parse_overrides(["--batch-size", "4", "--lr=0.5", "--chunk", "null"]) == {
        "batch_size": 4,
        "lr": 0.5,
        "chunk": None,
    }
    with pytest.raises(ParameterError, match="needs a value"):
        parse_overrides(["--lr"])


def test_exponent_floats_from_yaml_command_line_and_papermill(tmp_path):
    """PyYAML (YAML 1.1) reads `1e-4` as a string; a float field accepts it from every source."""
    path = tmp_path / "p.yaml"
    path.write_text("lr: 1e-4\nmilestones: [5e-1, 8E-1]\n")
    d = from_yaml(Demo, path)
    assert d.lr == 1e-4 and d.milestones == (0.5, 0.8)
    assert from_yaml(Demo, path, parse_overrides(["--lr", "2.5E+3"])).lr == 2500.0
    assert from_namespace(Demo, {"lr": "1e-4"}).lr == 1e-4  # papermill injects the YAML string
    for bad in ("1e-4x", "nan", "fast"):
        with pytest.raises(ParameterError, match=rf"'lr' must be float, got '{bad}'"):
            from_dict(Demo, {"lr": bad})
    with pytest.raises(ParameterError, match="must be int"):
        from_dict(Demo, {"batch_size": "1e3"})  # only float fields read number text


def test_override_errors_name_the_command_line_not_the_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("lr: 0.5\n")
    with pytest.raises(ParameterError, match=r"^command line: parameter 'lr' must be float, got 'fast'"):
        from_yaml(Demo, path, {"lr": "fast"})
    with pytest.raises(ParameterError, match=r"^command line: unknown parameter 'btch_size'"):
        from_yaml(Demo, path, {"btch_size": 4})
    path.write_text("lr: fast\n")
    with pytest.raises(ParameterError, match=rf"^{path}: parameter 'lr' must be float"):
        from_yaml(Demo, path, {"batch_size": 4})


# -- renamed parameters: read under their new name for one release ----------------------------


@dataclass
class Renamed(ConfigIO):
    RENAMED = {"batch": "batch_size", "kind": "mapping"}

    batch_size: int = 8
    mapping: str = "frame"


def test_old_name_is_read_with_a_warning_naming_the_source_and_both_keys(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("batch: 4\nkind: window\n")
    with pytest.warns(DeprecationWarning) as caught:
        cfg = from_yaml(Renamed, path)
    assert (cfg.batch_size, cfg.mapping) == (4, "window")
    messages = [str(w.message) for w in caught]
    assert f"{path}: 'batch' is deprecated, use 'batch_size' (old names are read until the next release)" in messages
    assert f"{path}: 'kind' is deprecated, use 'mapping' (old names are read until the next release)" in messages
    assert all(issubclass(w.category, RenamedParameterWarning) for w in caught)
    with pytest.warns(RenamedParameterWarning) as caught:
        assert from_yaml(Renamed, path, {"batch": 6}).batch_size == 6  # the override wins, as a new name would
    assert "command line: 'batch' is deprecated, use 'batch_size' (old names are read until the next release)" in [
        str(w.message) for w in caught
    ]
    with pytest.warns(RenamedParameterWarning, match=r"Renamed\(\): 'kind' is deprecated, use 'mapping'"):
        assert Renamed(kind="window").mapping == "window"  # keyword construction
    with pytest.warns(RenamedParameterWarning, match=r"Renamed.replace\(\): 'kind'"):
        assert Renamed().replace(kind="window").mapping == "window"


def test_old_and_new_name_together_is_an_error_naming_both(tmp_path):
    path = tmp_path / "both.yaml"
    path.write_text("batch: 4\nbatch_size: 4\n")
    with pytest.raises(ParameterError, match=rf"^{path}: 'batch' and 'batch_size' are the same parameter.*give only 'batch_size'"):
        from_yaml(Renamed, path)
    with pytest.raises(ParameterError, match=r"'kind' and 'mapping' are the same parameter"):
        Renamed(kind="window", mapping="frame")


def test_renamed_keys_keep_the_unknown_key_error_and_normalize_quietly():
    with pytest.raises(ParameterError, match=r"unknown parameter 'bach'.*valid parameters: batch_size, mapping$"):
        from_dict(Renamed, {"bach": 4})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert upgrade_keys(Renamed, {"kind": "window", "x": 1}, warn=False) == {"mapping": "window", "x": 1}


def test_injected_old_name_replaces_the_cells_default_of_the_new_name():
    with pytest.warns(RenamedParameterWarning, match=r"notebook parameters: 'kind' is deprecated, use 'mapping'"):
        cfg = from_namespace(Renamed, {"batch_size": 8, "mapping": "frame", "kind": "window"})
    assert cfg.mapping == "window"
    with pytest.raises(ParameterError, match=r"'kind' and 'mapping' are the same parameter"):
        from_namespace(Renamed, {"mapping": "all", "kind": "window"})  # a changed new name and the old one
