"""A typed, validated description of an augmentation pipeline (appendix B of the paper).

One :class:`AugmentSpec` drives both backends: the imgaug reference
(:mod:`seqclr.augment.reference`) and our batched torch pipeline
(:mod:`seqclr.augment.pipeline`). It is an ordered set of named operations, each
with ``enabled``, a probability ``p`` and its parameter ranges ``(low, high)``
(values sampled uniformly per image), plus how the enabled operations are composed:

- ``"some_of"``: imgaug's ``SomeOf((1, None), ops, random_order=True)``: every image
  gets a random non-empty subset of the enabled operations (subset size uniform in
  1..n), applied in a random order. This is the SeqCLR pipeline.
- ``"sequential"``: every enabled operation is applied in the listed order, each
  with its own probability ``p`` (SimCLR style: ``Sometimes(p, op)``).

Specs round-trip through plain dicts (:meth:`AugmentSpec.to_dict` /
:meth:`AugmentSpec.from_dict`) so YAML parameter files and notebook widgets can build
them, and through spec files (:func:`save_spec` / :func:`load_spec`: that dict as YAML, what
the explorer's "save spec" button writes); a config's ``augmentation`` names a preset or such a
file (:func:`check_augmentation`), and :func:`spec_digest` fingerprints a spec's content.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

Range = tuple[float, float]

COMPOSITIONS = ("some_of", "sequential")

# Per operation: its parameters and, for each, the closed lower bound and the upper
# bound (None = unbounded) with whether the upper bound is exclusive.
# Geometric operations are fused into one grid_sample by the torch backend.
_OP_PARAMS: dict[str, dict[str, tuple[float, float | None, bool]]] = {
    # photometric
    "linear_contrast": {"alpha": (0.0, None, False)},
    "blur": {"sigma": (0.0, None, False)},
    "sharpen": {"alpha": (0.0, 1.0, False), "lightness": (0.0, None, False)},
    "color_jitter": {"brightness": (0.0, None, False), "contrast": (0.0, None, False)},
    # geometric
    "crop_vertical": {"top": (0.0, 1.0, True), "bottom": (0.0, 1.0, True)},
    "crop_horizontal": {"left": (0.0, 1.0, True), "right": (0.0, 1.0, True)},
    "crop_aggressive": {"left": (0.0, 1.0, True), "right": (0.0, 1.0, True)},
    "random_resized_crop": {"scale": (0.0, 1.0, False), "ratio": (0.0, None, False)},
    "piecewise_affine": {
        "scale": (0.0, None, False),
        "nb_rows": (2.0, 4.0, False),
        "nb_cols": (2.0, 4.0, False),
    },
    "perspective": {"scale": (0.0, None, False)},
    "flip": {},
}

OP_NAMES: tuple[str, ...] = tuple(_OP_PARAMS)
PHOTOMETRIC_OPS = ("linear_contrast", "blur", "sharpen", "color_jitter")
GEOMETRIC_OPS = (
    "crop_vertical",
    "crop_horizontal",
    "crop_aggressive",
    "random_resized_crop",
    "piecewise_affine",
    "perspective",
    "flip",
)
# Parameters that are integers (grid sizes); sampled uniformly over the integers.
INTEGER_PARAMS = {("piecewise_affine", "nb_rows"), ("piecewise_affine", "nb_cols")}
# Pairs of crop sides whose upper bounds together must leave part of the image.
_CROP_PAIRS = {
    "crop_vertical": ("top", "bottom"),
    "crop_horizontal": ("left", "right"),
    "crop_aggressive": ("left", "right"),
}


def _as_range(op: str, key: str, value: Any) -> Range:
    """A scalar ``v`` means the fixed range ``(v, v)``; a pair is ``(low, high)``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low = high = float(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        try:
            low, high = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            raise ValueError(f"augment op {op!r}: {key}={value!r} is not a pair of numbers") from None
    else:
        raise ValueError(f"augment op {op!r}: {key}={value!r} must be a number or a (low, high) pair")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"augment op {op!r}: {key}={value!r} is not finite")
    return (low, high)


@dataclass(frozen=True)
class OpSpec:
    """One operation: whether it is on, its probability and its parameter ranges."""

    name: str
    enabled: bool = True
    params: Mapping[str, Range] = field(default_factory=dict)
    p: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in _OP_PARAMS:
            close = difflib.get_close_matches(str(self.name), OP_NAMES, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown augment op {self.name!r}{hint}; known: {', '.join(OP_NAMES)}")
        allowed = _OP_PARAMS[self.name]
        unknown = set(self.params) - set(allowed)
        if unknown:
            raise ValueError(
                f"augment op {self.name!r}: unknown parameter(s) {sorted(unknown)}; "
                f"expected {sorted(allowed)}"
            )
        missing = set(allowed) - set(self.params)
        if missing:
            raise ValueError(f"augment op {self.name!r}: missing parameter(s) {sorted(missing)}")
        clean: dict[str, Range] = {}
        for key, value in self.params.items():
            low, high = _as_range(self.name, key, value)
            lo_bound, hi_bound, hi_exclusive = allowed[key]
            if low > high:
                raise ValueError(f"augment op {self.name!r}: {key} low {low} > high {high}")
            if low < lo_bound:
                raise ValueError(f"augment op {self.name!r}: {key}={low} is below {lo_bound}")
            if hi_bound is not None and (high > hi_bound or (hi_exclusive and high >= hi_bound)):
                rel = "<" if hi_exclusive else "<="
                raise ValueError(f"augment op {self.name!r}: {key}={high} must be {rel} {hi_bound}")
            if (self.name, key) in INTEGER_PARAMS and (low != int(low) or high != int(high)):
                raise ValueError(f"augment op {self.name!r}: {key}={value!r} must be integers")
            clean[key] = (low, high)
        if self.name in _CROP_PAIRS:
            a, b = _CROP_PAIRS[self.name]
            if clean[a][1] + clean[b][1] >= 1.0:
                raise ValueError(
                    f"augment op {self.name!r}: {a}+{b} upper bounds "
                    f"{clean[a][1]}+{clean[b][1]} would crop the whole image (must be < 1)"
                )
        if self.name == "random_resized_crop" and clean["scale"][0] <= 0.0:
            raise ValueError(f"augment op {self.name!r}: scale low must be > 0, got {clean['scale'][0]}")
        if self.name == "random_resized_crop" and clean["ratio"][0] <= 0.0:
            raise ValueError(f"augment op {self.name!r}: ratio low must be > 0, got {clean['ratio'][0]}")
        if not isinstance(self.p, (int, float)) or not 0.0 <= float(self.p) <= 1.0:
            raise ValueError(f"augment op {self.name!r}: p={self.p!r} must be in [0, 1]")
        object.__setattr__(self, "params", clean)
        object.__setattr__(self, "p", float(self.p))
        object.__setattr__(self, "enabled", bool(self.enabled))

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "p": self.p,
            **{k: [v[0], v[1]] for k, v in self.params.items()},
        }


@dataclass(frozen=True)
class AugmentSpec:
    """An ordered set of operations and how they are composed (see module docstring)."""

    ops: tuple[OpSpec, ...]
    composition: str = "some_of"
    random_order: bool = True

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        if self.composition not in COMPOSITIONS:
            raise ValueError(f"augment spec: composition {self.composition!r} must be one of {COMPOSITIONS}")
        names = [op.name for op in ops]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"augment spec: operation(s) listed twice: {dupes}")
        object.__setattr__(self, "ops", ops)

    @property
    def enabled_ops(self) -> tuple[OpSpec, ...]:
        return tuple(op for op in self.ops if op.enabled)

    def __getitem__(self, name: str) -> OpSpec:
        for op in self.ops:
            if op.name == name:
                return op
        raise KeyError(f"augment spec has no op {name!r}; it has {[o.name for o in self.ops]}")

    def __contains__(self, name: object) -> bool:
        return any(op.name == name for op in self.ops)

    def replace(self, name: str, **changes: Any) -> "AugmentSpec":
        """A copy with op ``name`` changed, e.g. ``spec.replace('flip', enabled=True)``.

        ``changes`` may hold ``enabled``, ``p`` and parameter names (as ranges or scalars).
        """
        op = self[name]
        params = dict(op.params)
        enabled, p = op.enabled, op.p
        for key, value in changes.items():
            if key == "enabled":
                enabled = value
            elif key == "p":
                p = value
            else:
                params[key] = value
        new = OpSpec(name, enabled=enabled, params=params, p=p)
        return AugmentSpec(
            tuple(new if o.name == name else o for o in self.ops), self.composition, self.random_order
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML-friendly): ``{"composition", "random_order", "ops": {name: {...}}}``.

        The op order matters for ``sequential`` specs: dump with ``sort_keys=False``."""
        return {
            "composition": self.composition,
            "random_order": self.random_order,
            "ops": {op.name: op.to_dict() for op in self.ops},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AugmentSpec":
        """Inverse of :meth:`to_dict`. ``ops`` is a mapping name -> settings or a list of
        settings with a ``name`` key. Settings: ``enabled`` (default true), ``p``
        (default 1), and every parameter as ``[low, high]`` or a single number."""
        if not isinstance(data, Mapping):
            raise ValueError(f"augment spec must be a mapping, got {type(data).__name__}")
        unknown = set(data) - {"composition", "random_order", "ops"}
        if unknown:
            raise ValueError(f"augment spec: unknown key(s) {sorted(unknown)}")
        raw_ops = data.get("ops")
        if isinstance(raw_ops, (list, tuple)):
            items = []
            for i, entry in enumerate(raw_ops):
                if not isinstance(entry, Mapping) or "name" not in entry:
                    raise ValueError(f"augment spec: ops[{i}]={entry!r} must be a mapping with a 'name'")
                items.append((entry["name"], {k: v for k, v in entry.items() if k != "name"}))
        elif isinstance(raw_ops, Mapping):
            items = list(raw_ops.items())
        else:
            raise ValueError("augment spec: 'ops' must be a mapping of op name -> settings (or a list)")
        ops = []
        for name, settings in items:
            if settings is None:
                settings = {}
            if not isinstance(settings, Mapping):
                raise ValueError(f"ops.{name}: augment op {name!r}: settings must be a mapping, got {settings!r}")
            settings = dict(settings)
            enabled = settings.pop("enabled", True)
            p = settings.pop("p", 1.0)
            if not isinstance(enabled, bool):
                raise ValueError(f"ops.{name}.enabled: augment op {name!r}: enabled={enabled!r} must be true or false")
            try:
                ops.append(OpSpec(str(name), enabled=enabled, params=settings, p=p))
            except ValueError as err:  # name where in the dict (a spec file) the bad setting is
                raise ValueError(f"ops.{name}: {err}") from None
        random_order = data.get("random_order", True)
        if not isinstance(random_order, bool):
            raise ValueError(f"augment spec: random_order={random_order!r} must be true or false")
        return cls(tuple(ops), composition=data.get("composition", "some_of"), random_order=random_order)


def _counter_examples() -> tuple[OpSpec, ...]:
    """Figure 2's sequence-breaking augmentations: off by default, never in SeqCLR."""
    return (
        OpSpec("flip", enabled=False, params={}, p=1.0),
        # Horizontal crop up to 30% in total (15% a side): cuts out whole characters.
        OpSpec("crop_aggressive", enabled=False, params={"left": (0.0, 0.15), "right": (0.0, 0.15)}),
    )


def seqclr_spec() -> AugmentSpec:
    """The authors' SeqCLR pipeline (appendix B; SemiMTR's public code)."""
    return AugmentSpec(
        (
            OpSpec("linear_contrast", params={"alpha": (0.5, 1.0)}),
            OpSpec("blur", params={"sigma": (0.5, 1.0)}),
            OpSpec("crop_vertical", params={"top": (0.0, 0.4), "bottom": (0.0, 0.4)}),
            OpSpec("crop_horizontal", params={"left": (0.0, 0.02), "right": (0.0, 0.02)}),
            OpSpec("sharpen", params={"alpha": (0.0, 0.5), "lightness": (0.0, 0.5)}),
            # imgaug's defaults nb_rows = nb_cols = (2, 4) are what the authors ran.
            OpSpec("piecewise_affine", params={"scale": (0.02, 0.03), "nb_rows": (2, 4), "nb_cols": (2, 4)}),
            OpSpec("perspective", params={"scale": (0.01, 0.02)}),
            *_counter_examples(),
        ),
        composition="some_of",
        random_order=True,
    )


def light_spec() -> AugmentSpec:
    """Decoder-training augmentation (appendix D): light crop, linear contrast, blur.

    Ranges are milder than SeqCLR's because the decoder is trained on labelled images
    that should stay close to the test distribution: vertical crop at most 10% a side
    (keeps ascenders/descenders), horizontal crop at most 2% a side (the SeqCLR value,
    already sequence safe), contrast alpha in [0.7, 1.0], blur sigma in [0.0, 0.7]
    (sigma < 0.5 is almost invisible at 32 px height, so many images stay sharp).
    Composed like SeqCLR: a random non-empty subset.
    """
    return AugmentSpec(
        (
            OpSpec("linear_contrast", params={"alpha": (0.7, 1.0)}),
            OpSpec("blur", params={"sigma": (0.0, 0.7)}),
            OpSpec("crop_vertical", params={"top": (0.0, 0.1), "bottom": (0.0, 0.1)}),
            OpSpec("crop_horizontal", params={"left": (0.0, 0.02), "right": (0.0, 0.02)}),
            *_counter_examples(),
        ),
        composition="some_of",
        random_order=True,
    )


def simclr_spec() -> AugmentSpec:
    """SimCLR's augmentation (Chen et al. 2020, appendix A) adapted to grayscale word images:
    what the SimCLR baselines pretrain with (appendix D: "the same augmentations ... as in
    [9]"; ``method: simclr`` / ``simclr-contextual`` imply it, METHOD_AUGMENTATION).

    Random resized crop (area 8-100%, aspect change 3/4-4/3 relative to the image),
    horizontal flip (p=0.5), brightness/contrast jitter with strength 0.8 (p=0.8) and
    Gaussian blur sigma 0.1-2.0 (p=0.5), applied in that order (torchvision's numbers:
    ``RandomResizedCrop``, ``RandomHorizontalFlip``, ``ColorJitter(0.8, 0.8, 0.8, 0.2)``,
    ``GaussianBlur(sigma=(0.1, 2.0))``; saturation, hue and random grayscale do nothing to gray
    images). It breaks sequence alignment on purpose: the non-sequential baseline of the paper.

    torchvision.transforms.v2 is the reference of each op at fixed parameters
    (tests/test_augment_simclr_torchvision.py): flip, brightness/contrast and blur agree to
    float rounding (<= 6e-6 on the [0, 1] scale); the crop box is whole pixels and is resized
    as torchvision's ``resized_crop`` does (bilinear, half-pixel centres) to 6e-6 on every
    output pixel whose source point lies in the box. Deliberate differences:

    - crop border: the fused warp samples the whole image, so the outermost output pixels
      (source point < half a pixel outside the box, ~0.5 / scale of them a side) blend in the
      pixel beyond the box where torchvision replicates the box's edge (0.1-1.3 / 255 mean
      over the view, up to 0.26 on single pixels of a 4x-upscaled box);
    - aspect ratio relative to the image, not absolute: on 32x100 words an absolute 3/4-4/3
      box fits at most 43% of the area, and torchvision falls back to a centre crop after 10
      failed draws; w and h are clipped to the image instead of redrawn;
    - brightness then contrast, in that order (torchvision's ColorJitter draws the order);
    - blur kernel size: imgaug's rule for the batch's largest sigma (7 taps at sigma 2), not
      10% of the side (3 taps on 32-pixel-high images, a near box filter at sigma 2).
    """
    return AugmentSpec(
        (
            OpSpec("random_resized_crop", params={"scale": (0.08, 1.0), "ratio": (3 / 4, 4 / 3)}),
            OpSpec("flip", params={}, p=0.5),
            OpSpec("color_jitter", params={"brightness": (0.2, 1.8), "contrast": (0.2, 1.8)}, p=0.8),
            OpSpec("blur", params={"sigma": (0.1, 2.0)}, p=0.5),
        ),
        composition="sequential",
        random_order=False,
    )


PRESETS = {"seqclr": seqclr_spec, "light": light_spec, "simclr": simclr_spec}
AUGMENTATION_PRESETS: tuple[str, ...] = tuple(PRESETS)
NO_AUGMENTATION = "none"  # check_augmentation: no augmentation (where a config allows it)


def get_spec(name_or_dict: str | Path | Mapping[str, Any] | AugmentSpec) -> AugmentSpec:
    """A preset by name (``seqclr``, ``light``, ``simclr``), a spec file (a path ending in
    ``.yaml`` / ``.yml``, :func:`load_spec`), a dict, or a spec as is."""
    if isinstance(name_or_dict, AugmentSpec):
        return name_or_dict
    if isinstance(name_or_dict, Path) or is_spec_file(name_or_dict):
        return load_spec(name_or_dict)
    if isinstance(name_or_dict, str):
        if name_or_dict not in PRESETS:
            raise ValueError(
                f"unknown augment preset {name_or_dict!r}; known: {sorted(PRESETS)} "
                f"or a spec file ({' / '.join(SPEC_FILE_SUFFIXES)})"
            )
        return PRESETS[name_or_dict]()
    return AugmentSpec.from_dict(name_or_dict)


# --------------------------------------------------------------------------------------------
# Spec files: AugmentSpec.to_dict() as YAML, what the explorer saves and configs accept.
# --------------------------------------------------------------------------------------------

SPEC_FILE_SUFFIXES = (".yaml", ".yml")
_SPEC_FILE_HEADER = """\
# An augmentation spec (seqclr.augment.spec.AugmentSpec). Train with it: `augmentation: {path}`
# in a pretraining or recognizer config (or --augmentation {path}). Ranges are [low, high],
# sampled uniformly per image; composition some_of = a random non-empty subset of the enabled
# operations in random order, sequential = each in this order with its probability p.
"""


def is_spec_file(value: Any) -> bool:
    """True for a string naming a spec file: a path ending in ``.yaml`` or ``.yml``."""
    return isinstance(value, str) and value.lower().endswith(SPEC_FILE_SUFFIXES)


def spec_yaml(spec: AugmentSpec, path: str | Path = "spec.yaml") -> str:
    """The text of a spec file: a comment on how to use it, then :meth:`AugmentSpec.to_dict`
    (op order kept, ranges as ``[low, high]``; floats written exactly, so loading gives back an
    equal spec)."""
    body = yaml.safe_dump(spec.to_dict(), sort_keys=False, default_flow_style=None)
    return _SPEC_FILE_HEADER.format(path=path) + body


def save_spec(spec: AugmentSpec, path: str | Path) -> Path:
    """Write ``spec`` as a spec file (parent folders created); returns the absolute path."""
    path = Path(path)
    if not is_spec_file(str(path)):
        raise ValueError(f"{path}: a spec file must end in {' or '.join(SPEC_FILE_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec_yaml(spec, path))
    return path.resolve()


def load_spec(path: str | Path) -> AugmentSpec:
    """The spec in a spec file, validated like any spec; every error names the file and the key
    (``ops.<op>``, ``ops.<op>.<param>``) or value at fault."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"{path}: augmentation spec file not found") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read the augmentation spec file: {err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, Mapping) or "ops" not in data:
        got = type(data).__name__ if not isinstance(data, Mapping) else f"keys {sorted(data)}"
        raise ValueError(f"{path}: expected an augmentation spec (a mapping with 'ops'), got {got}")
    try:
        return AugmentSpec.from_dict(data)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def spec_digest(spec: AugmentSpec) -> str:
    """SHA-256 of a spec's content (its dict, op order included): equal specs, equal digests,
    whatever file or preset they came from; a spec file edited since a run changes it."""
    text = json.dumps(spec.to_dict(), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def spec_record(spec: AugmentSpec | None) -> dict[str, Any]:
    """What a run records of the augmentation it used: ``augmentation_spec`` (the dict) and
    ``augmentation_sha256`` (:func:`spec_digest`); both None for no augmentation."""
    if spec is None:
        return {"augmentation_spec": None, "augmentation_sha256": None}
    return {"augmentation_spec": spec.to_dict(), "augmentation_sha256": spec_digest(spec)}


def check_augmentation(value: str, choices: Sequence[str]) -> AugmentSpec | None:
    """The spec a config's ``augmentation`` value stands for: a preset among ``choices``
    (``"none"``: None) or a spec file, loaded and validated. A ValueError (starting "must be",
    or with the file's name) otherwise; the caller prefixes the key."""
    if is_spec_file(value):
        return load_spec(value)
    if value not in choices:
        close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6) if isinstance(value, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"must be one of {', '.join(repr(c) for c in choices)} or an augmentation spec file "
            f"(a path ending in {' or '.join(SPEC_FILE_SUFFIXES)}), got {value!r}{hint}"
        )
    return None if value == NO_AUGMENTATION else get_spec(value)
