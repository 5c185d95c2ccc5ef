"""Scene-text protocol settings (appendix D): model selection on the union of the IC13 + IIIT5K
*training* images, never on a test set; the 95-class charset; val sources made of several LMDBs;
the decoder-stage learning rate documented as our choice."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from seqclr.config import ParameterError
from seqclr.data.charset import get_charset
from seqclr.data.readers.lmdb import write_lmdb
from seqclr.evaluate.config import (
    SCENE_TEXT_CHARSET,
    SCENE_TEXT_VAL_SOURCE,
    DecoderEvalConfig,
    FinetuneConfig,
    paper_recognizer_recipe,
)
from seqclr.evaluate.data import build_split

PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"
SCENE_FILES = sorted(PARAMETERS.glob("*/synthtext_*.yaml"))
PROTOCOL_SCENE_FILES = sorted(PARAMETERS.glob("decoder_eval/synthtext_*.yaml")) + sorted(
    PARAMETERS.glob("finetune/synthtext_*.yaml")
)
CLASSES = {"decoder_eval": DecoderEvalConfig, "finetune": FinetuneConfig}


def _rel(path: Path) -> str:
    return str(path.relative_to(PARAMETERS))


def test_scene_text_files_exist():
    assert len(PROTOCOL_SCENE_FILES) >= 20, "expected the Table 1 / Table 2 scene-text parameter files"


@pytest.mark.parametrize("path", PROTOCOL_SCENE_FILES, ids=_rel)
def test_scene_val_source_is_the_ic13_iiit5k_training_union(path):
    raw = yaml.safe_load(path.read_text())
    cfg = CLASSES[path.parent.name].from_yaml(path)  # validates: a test-set val source would raise
    assert cfg.val_every > 0, f"{_rel(path)}: no model selection on the validation set"
    paths = cfg.val_source.get("paths")
    assert isinstance(paths, list) and len(paths) == 2 and "path" not in cfg.val_source, _rel(path)
    names = [Path(p).name.lower() for p in paths]
    assert any(n.startswith("ic13") for n in names) and any(n.startswith("iiit5k") for n in names), paths
    assert all("train" in n for n in names), f"{_rel(path)}: val must come from training sets, got {paths}"
    assert raw["val_source"] == SCENE_TEXT_VAL_SOURCE
    test_paths = {cfg.test_source.get("path"), *cfg.test_source.get("paths", [])}
    assert not test_paths & set(paths), f"{_rel(path)}: val and test share {test_paths & set(paths)}"


@pytest.mark.parametrize("path", SCENE_FILES, ids=_rel)
def test_scene_text_uses_the_95_class_charset(path):
    raw = yaml.safe_load(path.read_text())
    assert raw.get("charset", "english95") == SCENE_TEXT_CHARSET == "english95", _rel(path)
    assert len(get_charset(SCENE_TEXT_CHARSET)) == 95
    if path in PROTOCOL_SCENE_FILES:
        assert CLASSES[path.parent.name].from_yaml(path).charset == "english95"


@pytest.mark.parametrize(
    "val_source, key, offender",
    [
        ({"path": "data/evaluation/IC13_857"}, "val_source['path']", "evaluation"),
        ({"path": "data/IC13_857"}, "val_source['path']", "IC13_857"),
        ({"path": "data/scene/ic13_1015.lmdb"}, "val_source['path']", "ic13_1015.lmdb"),
        ({"path": "data/IIIT5k_3000"}, "val_source['path']", "IIIT5k_3000"),
        ({"path": "lmdb/IIIT5K_test"}, "val_source['path']", "IIIT5K_test"),
        ({"path": "data/IC03_860"}, "val_source['path']", "IC03_860"),
        ({"path": "data/ic03-867"}, "val_source['path']", "ic03-867"),
        ({"path": "data/SVT"}, "val_source['path']", "SVT"),
        ({"path": "data/CUTE80"}, "val_source['path']", "CUTE80"),
        ({"paths": ["data/validation/IC13_train", "data/validation/IC13_1015"]}, "val_source['paths'][1]", "IC13_1015"),
        ({"root": "data/cvl/test/words"}, "val_source['root']", "test"),
        ({"gt_file": "data/rimes/test_gt.txt"}, "val_source['gt_file']", "test_gt.txt"),
    ],
)
def test_test_set_val_source_is_refused(val_source, key, offender):
    value = next(iter(val_source.values()))
    value = value[-1] if isinstance(value, list) else value
    pattern = "val_source must be built from training data only.*" + re.escape(
        f"{key} = {value!r}: {offender!r} looks like a test set"
    )
    with pytest.raises(ValueError, match=pattern):
        DecoderEvalConfig(data="lmdb", val_source=val_source)
    with pytest.raises(ParameterError, match=r"^run\.yaml: .*looks like a test set"):
        FinetuneConfig.from_dict({"data": "lmdb", "val_source": val_source}, source="run.yaml")
    with pytest.raises(ValueError, match="looks like a test set"):
        paper_recognizer_recipe("decoder_eval", data="lmdb", val_source=val_source)


@pytest.mark.parametrize(
    "val_source",
    [
        SCENE_TEXT_VAL_SOURCE,
        {"path": "data/IIIT5K/train.lmdb"},
        {"path": "data/validation/IC13"},
        {"root": "data/cvl/val/words"},
        {"root": "data/iam", "split_file": "data/iam/splits/val.txt"},
        {"image_dir": "data/rimes/val", "gt_file": "data/rimes/val_gt.txt"},
        {"path": "/tmp/pytest-of-me/pytest-7/test_union_source0/val.lmdb"},  # pytest's own folders
    ],
)
def test_training_and_validation_sources_are_accepted(val_source):
    assert DecoderEvalConfig(data="lmdb", val_source=val_source).val_source == val_source


def test_test_sources_may_name_test_sets():
    cfg = DecoderEvalConfig(data="lmdb", test_source={"path": "data/evaluation/IC13_857"})
    assert cfg.test_source["path"].endswith("IC13_857")


@pytest.mark.parametrize(
    "source, pattern",
    [
        ({"path": "a", "paths": ["b"]}, r"val_source must be either 'path' or 'paths'"),
        ({"paths": []}, r"val_source must be a dict whose 'paths' is a non-empty list"),
        ({"paths": "data/a"}, r"val_source must be a dict whose 'paths' is a non-empty list"),
    ],
)
def test_bad_paths(source, pattern):
    with pytest.raises(ValueError, match=pattern):
        DecoderEvalConfig(data="lmdb", val_source=source)


def _db(path: Path, labels: list[str]) -> str:
    rng = np.random.default_rng(len(labels))
    write_lmdb(path, [(rng.integers(0, 255, (32, 40), dtype=np.uint8), s) for s in labels])
    return str(path)


def test_union_of_lmdb_roots(tmp_path):
    ic13 = _db(tmp_path / "IC13_train", ["Hello", "World!", "é"])  # "é" is outside english95
    iiit = _db(tmp_path / "IIIT5K_train", ["abc", "DEF"])
    cfg = DecoderEvalConfig(data="lmdb", charset="english95", val_source={"paths": [ic13, iiit]}, val_size=None)
    with pytest.warns(UserWarning, match="dropped 1 of 5"):
        val = build_split(cfg, "val")
    assert len(val) == 4
    assert [val[i]["label"] for i in range(4)] == ["Hello", "World!", "abc", "DEF"]
    assert tuple(val[3]["image"].shape) == (1, 32, 100)
    assert val.source.labels == ["Hello", "World!", "é", "abc", "DEF"]
    assert [Path(s.path).name for s in val.source.datasets] == ["IC13_train", "IIIT5K_train"]
    # val_size keeps the first n items of the union, across the boundary
    with pytest.warns(UserWarning, match="dropped 1 of 4"):
        cut = build_split(cfg.replace(val_size=4), "val")
    assert [cut[i]["label"] for i in range(len(cut))] == ["Hello", "World!", "abc"]
    # the order of the roots is the order of the items
    rev = build_split(cfg.replace(val_source={"paths": [iiit, ic13]}, val_size=2), "val")
    assert [rev[i]["label"] for i in range(2)] == ["abc", "DEF"]


def test_union_needs_a_path_argument(tmp_path):
    cfg = DecoderEvalConfig(data="iam", val_source={"paths": [str(tmp_path / "a")]})
    with pytest.raises(TypeError, match="unknown argument 'path'"):
        build_split(cfg, "val")


def test_decoder_stage_lr_is_documented_as_our_choice():
    doc = " ".join(paper_recognizer_recipe.__doc__.split())
    cfg = paper_recognizer_recipe("decoder_eval")
    assert (cfg.optimizer, cfg.lr) == ("adadelta", 1.0)
    assert "appendix D gives no value" in doc and "AdaDelta with lr 1" in doc and "our choice" in doc
    assert "deep-text-recognition-benchmark" in doc
    for path in sorted(PARAMETERS.glob("decoder_eval/*.yaml")):
        text = path.read_text()
        header = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
        raw = yaml.safe_load(text)
        optimizer, lr = raw.get("optimizer", DecoderEvalConfig.optimizer), raw.get("lr", DecoderEvalConfig.lr)
        assert "our choice" in header and "appendix D gives no" in header, f"{_rel(path)}: lr origin not stated"
        stated = {"adadelta": f"AdaDelta lr {lr:g}", "adam": f"Adam lr {lr:.0e}".replace("e-0", "e-")}[optimizer]
        assert stated in header, f"{_rel(path)}: header does not state the lr it uses ({stated!r})"
