"""Config dataclasses from `ros__parameters`-style dicts, with errors naming key and expectation.

Every config field is declared with `param(default, doc, low, high)`; the bounds and the text
live in the field's metadata, so one declaration gives the default, the validation, the YAML
and (for the nodes) the ParameterDescriptor. ROS hands parameters over flat
(`lidar.silence_periods`); YAML nests them (`lidar: {silence_periods: ...}`); both are accepted.
"""

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from robo_edge.exceptions import ConfigError
from robo_edge.yaml_fields import Fields

T = TypeVar('T')


def param(default: Any, doc: str, low: float = -math.inf, high: float = math.inf) -> Any:
    """Declare a config field: its default, what it means, and its inclusive range."""
    return dataclasses.field(default=default, metadata={'doc': doc, 'low': low, 'high': high})


def flatten(params: Mapping[str, Any], prefix: str = '') -> dict[str, Any]:
    """Return nested mappings as one flat dict with dotted keys (ROS's parameter names)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f'{prefix}.{key}' if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def prefixes(params: Mapping[str, Any]) -> set[str]:
    """Return the first components of the dotted keys."""
    return {key.split('.', 1)[0] for key in flatten(params)}


def from_params(cls: type[T], params: Mapping[str, Any], prefix: str, source: str) -> T:
    """Build `cls` from the keys under `prefix` (missing keys take their defaults).

    Raises ConfigError naming `source`, the full key and the expected value.
    """
    flat = flatten(params)
    head = f'{prefix}.' if prefix else ''
    mine = {key[len(head):]: value for key, value in flat.items() if key.startswith(head)}
    fields = Fields(mine, source, prefix)
    names = {f.name for f in dataclasses.fields(cls)}
    fields.reject_unknown(names)
    hints = typing.get_type_hints(cls)
    values = {
        f.name: _read(fields, f, hints[f.name]) for f in dataclasses.fields(cls) if f.name in mine
    }
    try:
        return cls(**values)
    except ValueError as e:
        raise ConfigError(source, prefix or '<root>', 'consistent values', str(e)) from e


def to_params(config: object, prefix: str = '') -> dict[str, Any]:
    """Return a config as a flat parameter dict (enums by value, tuples as lists)."""
    head = f'{prefix}.' if prefix else ''
    return {
        head + f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)
    }


def describe(cls: type) -> dict[str, tuple[str, float, float]]:
    """Return (doc, low, high) per field, for parameter descriptors."""
    return {
        f.name: (f.metadata.get('doc', ''), f.metadata.get('low', -math.inf),
                 f.metadata.get('high', math.inf))
        for f in dataclasses.fields(cls)
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _read(fields: Fields, field: dataclasses.Field, hint: Any) -> Any:
    name, low, high = field.name, field.metadata.get('low', -math.inf), field.metadata.get(
        'high', math.inf)
    if hint is bool:
        return fields.boolean(name)
    if hint is int:
        value = fields.integer(name, low=int(low) if math.isfinite(low) else -(2**63))
        if value > high:
            raise fields.fail(name, f'an integer in [{low}, {high}]', value)
        return value
    if hint is float:
        return fields.number(name, low=low, high=high)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum(fields, name, hint, fields.raw(name))
    if typing.get_origin(hint) is tuple:
        kind = typing.get_args(hint)[0]
        items = fields.raw(name)
        if not isinstance(items, list | tuple):
            raise fields.fail(name, f'a list of {_choices(kind)}', items)
        return tuple(_enum(fields, name, kind, item) for item in items)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        raise TypeError(f'unsupported config field type {hint}')  # pragma: no cover
    return fields.string(name)


def _enum(fields: Fields, name: str, kind: type[Enum], value: object) -> Enum:
    try:
        return kind(value)
    except ValueError as e:
        raise fields.fail(name, f'one of {_choices(kind)}', value) from e


def _choices(kind: type[Enum]) -> list[str]:
    return [member.value for member in kind]
