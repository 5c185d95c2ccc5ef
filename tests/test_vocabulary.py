"""One vocabulary: each closed set of names (methods, representations, heads, mappings, decoders,
devices, precisions, data sources, loggers, optimizers, schedules, augmentation presets, metrics,
embedding mappings) is defined once, in the module that owns it. The configs' Literal types and
validation accept exactly that set, every notebook parameters cell and every YAML under
parameters/ uses names from it, and no module spells the set out again."""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest
import yaml

from seqclr.augment.spec import AUGMENTATION_PRESETS, NO_AUGMENTATION
from seqclr.benchmark.config import BenchmarkConfig
from seqclr.config import from_dict
from seqclr.contrastive.instance_mapping import MAPPINGS
from seqclr.contrastive.model import METHOD_PRESETS, METHODS, MODEL_MAPPINGS
from seqclr.contrastive.projection_heads import HEADS
from seqclr.data.charset import CHARSET_NAMES
from seqclr.data.source_names import SOURCE_NAMES, SYNTHETIC_SOURCES
from seqclr.devices import DEVICES, PRECISIONS
from seqclr.evaluate.config import DecoderEvalConfig, FinetuneConfig
from seqclr.evaluate.embeddings import EMBEDDING_MAPPINGS, EMBEDDING_REPRESENTATIONS
from seqclr.evaluate.notebook import EmbeddingsParams, ResultsParams
from seqclr.metrics import METRIC_NAMES
from seqclr.models.encoder import ENCODER_PRESETS, REPRESENTATIONS
from seqclr.models.prediction import DECODERS
from seqclr.notebook_params import params_class
from seqclr.train.config import PretrainConfig
from seqclr.train.optimization import LR_SCHEDULES, OPTIMIZERS
from seqclr.train.run_logger import LOGGERS
from tests.notebook_utils import NOTEBOOKS, PARAMETERS, ROOT, cell_defaults, notebook_paths

ENCODERS = tuple(ENCODER_PRESETS)
from seqclr.data.fonts import SPLITS  # noqa: E402

CHARSETS = tuple(CHARSET_NAMES)
PRETRAIN_SOURCES = (*SOURCE_NAMES, "packed")  # seqclr.data.packed

# The closed sets and the modules that define them (nowhere else may spell them out).
VOCABULARY = {
    "METHODS": (METHODS, "seqclr/contrastive/model.py"),
    "MAPPINGS": (MAPPINGS, "seqclr/contrastive/instance_mapping.py"),
    "HEADS": (HEADS, "seqclr/contrastive/projection_heads.py"),
    "REPRESENTATIONS": (REPRESENTATIONS, "seqclr/models/encoder.py"),
    "DECODERS": (DECODERS, "seqclr/models/prediction.py"),
    "DEVICES": (DEVICES, "seqclr/devices.py"),
    "PRECISIONS": (PRECISIONS, "seqclr/devices.py"),
    "SOURCE_NAMES": (SOURCE_NAMES, "seqclr/data/source_names.py"),
    "SYNTHETIC_SOURCES": (SYNTHETIC_SOURCES, "seqclr/data/source_names.py"),
    "LOGGERS": (LOGGERS, "seqclr/train/run_logger.py"),
    "OPTIMIZERS": (OPTIMIZERS, "seqclr/train/optimization.py"),
    "LR_SCHEDULES": (LR_SCHEDULES, "seqclr/train/optimization.py"),
    "METRIC_NAMES": (METRIC_NAMES, "seqclr/metrics.py"),
    "EMBEDDING_MAPPINGS": (EMBEDDING_MAPPINGS, "seqclr/evaluate/embeddings.py"),
    "EMBEDDING_REPRESENTATIONS": (EMBEDDING_REPRESENTATIONS, "seqclr/evaluate/embeddings.py"),
    "SPLITS": (SPLITS, "seqclr/data/fonts.py"),
}
# Copies this task may not touch yet (owned by files under another change): path -> set names.
KNOWN_COPIES: dict[str, set] = {}  # module -> sets it may spell out (none left)

_RECOGNIZER = {
    "data": SOURCE_NAMES, "decoder": DECODERS, "representation": REPRESENTATIONS, "encoder": ENCODERS, "charset": CHARSETS,
    "optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES, "device": DEVICES, "logger": LOGGERS,
}
# config class -> field -> the set its values come from (None allowed where the field is Optional)
FIELDS: dict[type, dict[str, tuple]] = {
    PretrainConfig: {
        "data": PRETRAIN_SOURCES, "method": METHODS, "representation": REPRESENTATIONS, "head": HEADS,
        "mapping": MODEL_MAPPINGS, "encoder": ENCODERS, "charset": CHARSETS, "optimizer": OPTIMIZERS,
        "device": DEVICES, "precision": PRECISIONS, "logger": LOGGERS,
    },
    DecoderEvalConfig: _RECOGNIZER,
    FinetuneConfig: _RECOGNIZER,
    BenchmarkConfig: {"method": METHODS, "device": DEVICES, "precision": PRECISIONS, "data": SOURCE_NAMES, "encoder": ENCODERS},
    EmbeddingsParams: {"data": SYNTHETIC_SOURCES, "mapping": EMBEDDING_MAPPINGS, "representation": EMBEDDING_REPRESENTATIONS,
                       "random_encoder": ENCODERS},
    ResultsParams: {"table2_metric": METRIC_NAMES},
}
# fields that also take a spec file besides the presets (checked on their preset names only)
AUGMENTATION = {PretrainConfig: AUGMENTATION_PRESETS, DecoderEvalConfig: (*AUGMENTATION_PRESETS, NO_AUGMENTATION),
                FinetuneConfig: (*AUGMENTATION_PRESETS, NO_AUGMENTATION)}
# values that validate only together with other fields
NEEDS = {("data", "packed"): {"train_source": {"path": "somewhere"}}, ("mapping", "simclr"): {"head": "mlp"}}


def _fields_of(cls: type) -> dict[str, tuple]:
    """The closed-set fields of cls (its own entry, or the nearest config class it extends)."""
    for base in cls.__mro__:
        if base in FIELDS:
            return FIELDS[base]
    return {}


def _literal_args(tp) -> set | None:
    """The values of the Literal in annotation tp (inside Optional / a union), None if none."""
    if typing.get_origin(tp) is typing.Literal:
        return set(typing.get_args(tp))
    for arg in typing.get_args(tp):
        found = _literal_args(arg)
        if found is not None:
            return found
    return None


def test_derived_sets_are_the_owners():
    import seqclr.evaluate.config as ecfg
    import seqclr.evaluate.report as report
    import seqclr.evaluate.study as study
    import seqclr.explorer.params as explorer
    import seqclr.models.prediction as prediction
    import seqclr.train.config as tcfg

    assert METHODS == tuple(METHOD_PRESETS) and set(MAPPINGS) < set(MODEL_MAPPINGS)
    assert {p["mapping"] for p in METHOD_PRESETS.values()} <= set(MODEL_MAPPINGS)
    assert {p["head"] for p in METHOD_PRESETS.values()} <= set(HEADS)
    assert {p["representation"] for p in METHOD_PRESETS.values()} <= set(REPRESENTATIONS)
    assert ecfg.REPRESENTATIONS is REPRESENTATIONS and set(SYNTHETIC_SOURCES) < set(SOURCE_NAMES)
    assert not hasattr(prediction, "FEATURES")  # the alias is gone: one name, REPRESENTATIONS
    assert tcfg.AUGMENTATIONS is AUGMENTATION_PRESETS and set(ecfg.AUGMENTATIONS) == {*AUGMENTATION_PRESETS, NO_AUGMENTATION}
    assert ecfg.DATA_SOURCES is SOURCE_NAMES and tcfg.DATA_SOURCES == PRETRAIN_SOURCES
    assert report.METRICS is METRIC_NAMES and set(METHODS) <= set(report.METHOD_ORDER)
    assert study.METHODS is METHODS and explorer.SOURCES is SYNTHETIC_SOURCES


@pytest.mark.parametrize("cls", list(FIELDS), ids=lambda c: c.__name__)
def test_literal_types_are_the_vocabulary(cls):
    hints = typing.get_type_hints(cls)
    for name, choices in FIELDS[cls].items():
        args = _literal_args(hints[name])
        if args is not None:
            assert args == set(choices), f"{cls.__name__}.{name}: Literal{sorted(args)} is not {choices}"
    if cls in AUGMENTATION:
        assert _literal_args(hints["augmentation"]) == set(AUGMENTATION[cls])


@pytest.mark.parametrize("cls", list(FIELDS), ids=lambda c: c.__name__)
def test_configs_accept_exactly_the_vocabulary(cls):
    """Every name of the set validates; a name outside it is refused, naming the field."""
    fields = {**FIELDS[cls], **({"augmentation": AUGMENTATION[cls]} if cls in AUGMENTATION else {})}
    for name, choices in fields.items():
        for value in choices:
            if (name, value) == ("data", "packed"):
                continue  # validation reads the pack's manifest (tests/test_train_config.py)
            from_dict(cls, {name: value, **NEEDS.get((name, value), {})})
        with pytest.raises(ValueError, match=name):
            from_dict(cls, {name: "not-a-" + name})


def _check_values(where: str, cls: type, values: dict) -> None:
    fields = _fields_of(cls)
    for name, value in values.items():
        if name in fields and value is not None:
            assert value in fields[name], f"{where}: {name}={value!r} is not one of {fields[name]}"
    if cls in AUGMENTATION or any(base in AUGMENTATION for base in cls.__mro__):
        aug = values.get("augmentation")
        presets = next(AUGMENTATION[b] for b in cls.__mro__ if b in AUGMENTATION)
        assert aug is None or aug in presets or str(aug).endswith((".yaml", ".yml")), f"{where}: augmentation={aug!r}"


@pytest.mark.parametrize("stem", [p.stem for p in notebook_paths()])
def test_notebook_parameters_cells_use_the_vocabulary(stem):
    cls = params_class(stem)
    defaults = cell_defaults(NOTEBOOKS / f"{stem}.ipynb")
    _check_values(f"notebooks/{stem}.ipynb", cls, defaults)
    if stem == "embeddings_umap":  # its encoders are named after methods (or "random init")
        assert set(defaults["encoders"]) - {"random init"} <= set(METHODS)


YAMLS = sorted(PARAMETERS.rglob("*.yaml"))


@pytest.mark.parametrize("path", YAMLS, ids=[str(p.relative_to(PARAMETERS)) for p in YAMLS])
def test_parameter_files_use_the_vocabulary(path: Path):
    cls = params_class(path.relative_to(PARAMETERS).parts[0])
    _check_values(str(path.relative_to(ROOT)), cls, yaml.safe_load(path.read_text()) or {})


def _string_sets(tree: ast.AST):
    """(line, set of strings) of every tuple / list / set display of >= 2 string constants."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2:
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                yield node.lineno, {e.value for e in node.elts}


def test_no_module_spells_a_set_out_again():
    copies = []
    for path in sorted((ROOT / "seqclr").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for line, values in _string_sets(ast.parse(path.read_text(encoding="utf-8"))):
            for name, (choices, owner) in VOCABULARY.items():
                if values == set(choices) and rel != owner and name not in KNOWN_COPIES.get(rel, ()):
                    copies.append(f"{rel}:{line} spells out {name} (defined in {owner})")
    assert not copies, "\n".join(copies)


def test_config_dataclasses_are_all_covered():
    """Every config class a notebook or CLI builds is checked above (a new one must be added)."""
    classes = {params_class(p.stem) for p in notebook_paths()}
    for cls in classes:
        assert _fields_of(cls) or not dataclasses.is_dataclass(cls) or cls.__name__ in {"ExplorerParams"}, cls
