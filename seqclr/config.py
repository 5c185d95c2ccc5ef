"""Typed, validated parameters shared by notebooks, YAML files and command lines.

Every notebook's ``parameters`` cell mirrors a dataclass (its fields, types and defaults). The
dataclass is the single source of truth: papermill YAML files, the notebook's injected values and
``--key value`` overrides are all checked against it before any compute starts, so a typo or a bad
value fails at once with a message naming the file, the key and the value.

Renamed parameters. A config class lists its old parameter names in ``RENAMED`` (old -> new, one
table per class). For one release an old name is still read, from a YAML file, a notebook's
injected parameters, ``--key value`` overrides and keyword construction alike, under its new name
with a :class:`RenamedParameterWarning` naming the source, the old and the new key; giving an old
name and its new name together is an error naming both. :func:`upgrade_keys` does it, and
normalizes a config saved before the rename (a checkpoint's, a metrics.json's) the same way.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import types
import typing
import warnings
from pathlib import Path
from typing import Any, Literal, Mapping, TypeVar, Union

import yaml

T = TypeVar("T")

# Names a Jupyter kernel defines by itself; they are never parameters.
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


class ParameterError(ValueError):
    """A parameter is unknown, of the wrong type or out of range. The message names it."""

    exit_code = 2  # seqclr.exits: one line and this exit status on the command line


class RenamedParameterWarning(DeprecationWarning):
    """A parameter was given under its old name (read under the new one until the next release)."""


# Python hides a DeprecationWarning raised outside __main__; an old parameter name is shown where
# the run is set up (a notebook, a command line), once per message.
warnings.filterwarnings("default", category=RenamedParameterWarning)


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def renames(cls: type) -> Mapping[str, str]:
    """The old -> new parameter names of the config class ``cls`` (its ``RENAMED`` table)."""
    return getattr(cls, "RENAMED", None) or {}


def upgrade_keys(cls: type, values: Mapping[str, Any], source: str | None = None, warn: bool = True) -> dict[str, Any]:
    """``values`` with every old name of ``renames(cls)`` under its new name, each announced by a
    RenamedParameterWarning naming ``source``, the old and the new key (unless ``warn`` is False:
    a config saved before the rename, normalized for a comparison). An old name given together
    with its new name is a ParameterError naming both. Old names that fold into one new key are
    merged by the class's ``merge_renamed(moved, values)`` (else each moves as it is)."""
    table = renames(cls)
    old = [k for k in values if k in table]
    if not old:
        return dict(values)
    for k in old:
        if table[k] in values:
            raise ParameterError(
                f"{_where(source)}{k!r} and {table[k]!r} are the same parameter ({k!r} is its old name): give only {table[k]!r}"
            )
    if warn:
        hints = getattr(cls, "RENAMED_HINTS", {})
        for k in old:
            hint = f" ({hints[k]})" if k in hints else ""
            warnings.warn(
                f"{_where(source)}{k!r} is deprecated, use {table[k]!r}{hint} (old names are read until the next release)",
                RenamedParameterWarning, stacklevel=3,
            )
    moved = {k: values[k] for k in old}
    merge = getattr(cls, "merge_renamed", None)
    out = {k: v for k, v in values.items() if k not in table}
    out.update(merge(moved, values) if merge is not None else {table[k]: v for k, v in moved.items()})
    return out


def suggest(name: str, valid: typing.Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest valid name, or ''."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# A decimal number as text, with an exponent or not ("1e-4", "-2.5E+3", ".5"); not "nan"/"inf".
_FLOAT_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, key: str, source: str | None = None) -> Any:
    """Check ``value`` against the annotation ``tp`` and return it (ints widen to floats,
    lists to tuples). Raise ParameterError naming ``key`` otherwise."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    bad = ParameterError(
        f"{_where(source)}parameter {key!r} must be {_type_name(tp)}, got {value!r} "
        f"({type(value).__name__})"
    )
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, key, source)
            except ParameterError:
                pass
        raise bad
    if origin is Literal:
        if value in args:
            return value
        raise ParameterError(
            f"{_where(source)}parameter {key!r} must be one of {list(args)}, got {value!r}"
            + (suggest(value, [str(a) for a in args]) if isinstance(value, str) else "")
        )
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            return float(value)  # "1e-4": YAML 1.1 (PyYAML, papermill) reads it as a string
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise bad
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ParameterError(
                    f"{_where(source)}parameter {key!r} needs {len(args)} values, got {value!r}"
                )
            return tuple(coerce(v, a, f"{key}[{i}]", source) for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [coerce(v, item, f"{key}[{i}]", source) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise bad
        vt = args[1] if len(args) == 2 else Any
        return {k: coerce(v, vt, f"{key}.{k}", source) for k, v in value.items()}
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise bad
    return value


def from_dict(cls: type[T], values: Mapping[str, Any], source: str | None = None) -> T:
    """Build the dataclass ``cls`` from ``values``: unknown keys, wrong types and (through the
    class's ``validate()`` method, if any) bad values raise ParameterError."""
    if not isinstance(values, Mapping):
        raise ParameterError(f"{_where(source)}expected a mapping of parameters, got {type(values).__name__}")
    values = upgrade_keys(cls, values, source)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    unknown = [k for k in values if k not in fields]
    if unknown:
        k = unknown[0]
        raise ParameterError(
            f"{_where(source)}unknown parameter {k!r}{suggest(k, fields)}; "
            f"valid parameters: {', '.join(sorted(fields))}"
        )
    kwargs = {k: coerce(v, hints[k], k, source) for k, v in values.items()}
    try:
        obj = cls(**kwargs)  # a class may validate in __post_init__ already
        validate = getattr(obj, "validate", None)
        if callable(validate):
            validate()
    except ParameterError as err:
        if source and not str(err).startswith(source):
            raise ParameterError(f"{source}: {err}") from None
        raise
    except ValueError as err:
        raise ParameterError(f"{_where(source)}{err}") from None
    return obj


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping of parameters; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ParameterError(f"{path}: parameter file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ParameterError(f"{path}: not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of parameters, got {type(data).__name__}")
    return data


def from_yaml(
    cls: type[T], path: str | Path, overrides: Mapping[str, Any] | None = None, overrides_source: str = "command line"
) -> T:
    """Build ``cls`` from a YAML file (plus optional overrides); an error in a value of the file
    names the file, an error in an override (unknown key, wrong type) names ``overrides_source``.
    Old parameter names are read in both (each renamed where it was given)."""
    values = upgrade_keys(cls, load_yaml(path), str(path))
    if overrides:
        overrides = upgrade_keys(cls, overrides, overrides_source)
        _check_keys_and_types(cls, overrides, overrides_source)
        values.update(overrides)
    return from_dict(cls, values, source=str(path))


def _check_keys_and_types(cls: type, values: Mapping[str, Any], source: str) -> None:
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for k, v in values.items():
        if k not in fields:
            raise ParameterError(f"{_where(source)}unknown parameter {k!r}{suggest(k, fields)}; "
                                 f"valid parameters: {', '.join(sorted(fields))}")
        coerce(v, hints[k], k, source)


def from_namespace(cls: type[T], namespace: Mapping[str, Any], source: str = "notebook parameters") -> T:
    """Build ``cls`` from a notebook's globals right after its parameters cell.

    Every public, non-module global at that point is either a default from the parameters cell
    or a value papermill injected, so any name that is not a field is a typo and fails here. An
    old parameter name injected (``-p feature V``) replaces the cell's default of its new name.
    """
    values = {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_")
        and k not in _KERNEL_NAMES
        and not isinstance(v, types.ModuleType)
        and not callable(v)
    }
    defaults = {f.name: _default(f) for f in dataclasses.fields(cls) if f.init}
    for old, new in renames(cls).items():
        if old in values and new in values and values[new] == defaults.get(new, dataclasses.MISSING):
            del values[new]  # the parameters cell's default, beside the injected old name
    return from_dict(cls, values, source=source)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def field_comments(cls: type) -> dict[str, str]:
    """name -> the comment written after the field in the class source (inherited fields too)."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for m in re.finditer(r"^    (\w+): [^\n]*?  # ([^\n]*)$", source, flags=re.M):
            out[m.group(1)] = m.group(2).strip()
    return out


def parameters_help(cls: type) -> str:
    """Every parameter of the config dataclass ``cls``: --name, type, default and the one-line
    meaning from its source comment (the --help of the command lines built on it)."""
    comments = field_comments(cls)
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = _default(f)
        default = "(required)" if default is dataclasses.MISSING else default
        head = f"  --{f.name} {_type_name(hints[f.name])} (default: {default!r})"
        rows.append(head + (f"\n      {comments[f.name]}" if f.name in comments else ""))
    return "parameters (--key value; values are YAML scalars):\n" + "\n".join(rows)


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain dict (tuples as lists) suitable for YAML, JSON and ``torch.save(weights_only)``."""

    def plain(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``--key value`` pairs from a command line, values parsed as YAML scalars."""
    out: dict[str, Any] = {}
    it = iter(args)
    for arg in it:
        if not arg.startswith("--"):
            raise ParameterError(f"expected --key value, got {arg!r}")
        key = arg[2:].replace("-", "_")
        if "=" in key:
            key, raw = key.split("=", 1)
        else:
            try:
                raw = next(it)
            except StopIteration:
                raise ParameterError(f"--{key} needs a value") from None
        out[key] = yaml.safe_load(raw)
    return out


class _ReadsOldNames(type):
    """Keyword construction reads the class's old parameter names too (:func:`upgrade_keys`)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if any(k in renames(cls) for k in kwargs):
            kwargs = upgrade_keys(cls, kwargs, f"{cls.__name__}()")
        return super().__call__(*args, **kwargs)


class ConfigIO(metaclass=_ReadsOldNames):
    """Mixin for config dataclasses: plain-dict, YAML and copy-with-changes round trips, every
    path going through :func:`from_dict` so errors name the key, the value and the source.
    ``RENAMED`` (old -> new) lists the class's old parameter names, read for one release."""

    RENAMED: typing.ClassVar[Mapping[str, str]] = {}

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (tuples become lists): safe for YAML, JSON and weights-only checkpoints."""
        return to_dict(self)

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any], source: str | None = None) -> T:
        return from_dict(cls, data, source=source)

    @classmethod
    def from_yaml(cls: type[T], path: str | Path, overrides: Mapping[str, Any] | None = None) -> T:
        """From a YAML file (a mapping of fields; empty means the defaults), then ``overrides``."""
        return from_yaml(cls, path, overrides)

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    def replace(self: T, **changes: Any) -> T:
        """A checked copy with ``changes``."""
        source = f"{type(self).__name__}.replace()"
        return from_dict(type(self), {**self.to_dict(), **upgrade_keys(type(self), changes, source)}, source=source)
