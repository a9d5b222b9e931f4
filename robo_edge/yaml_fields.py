"""Typed reads from parsed YAML with errors that name the file, the key path and the expectation.

PyYAML parses; this module only checks shapes, so every config error reads the same way:
`worlds/x.yaml: key "world.obstacles[3].size": expected a list of 3 positive numbers`.
"""

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from robo_edge.exceptions import ConfigError

E = TypeVar('E', bound=ConfigError)
_MISSING = object()


class Fields:
    """A mapping read at a key path of a file, raising `error` for anything malformed."""

    def __init__(
        self, data: object, source: str, path: str, error: type[ConfigError] = ConfigError
    ) -> None:
        if not isinstance(data, dict):
            raise error(source, path or '<root>', 'a mapping', type(data).__name__)
        self.data = data
        self.source = source
        self.path = path
        self.error = error

    def key(self, name: str) -> str:
        """Return the full key path of `name`."""
        return f'{self.path}.{name}' if self.path else name

    def fail(self, name: str, expected: str, found: object = None) -> ConfigError:
        """Build the error for key `name`."""
        return self.error(self.source, self.key(name), expected, found)

    def reject_unknown(self, allowed: set[str]) -> None:
        """Raise on any key that is not in `allowed` (typos must not pass silently)."""
        for name in self.data:
            if name not in allowed:
                raise self.fail(str(name), f'one of {sorted(allowed)} (unknown key)', name)

    def raw(self, name: str, default: object = _MISSING) -> object:
        """Return the value at `name`, or the default; a missing required key raises."""
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise self.fail(name, 'a value (the key is required)')
        return default

    def sub(self, name: str) -> 'Fields':
        """Return the nested mapping at `name`."""
        return Fields(self.raw(name), self.source, self.key(name), self.error)

    def string(self, name: str, default: object = _MISSING) -> str:
        """Return a non-empty string."""
        value = self.raw(name, default)
        if not isinstance(value, str) or not value:
            raise self.fail(name, 'a non-empty string', value)
        return value

    def number(
        self, name: str, default: object = _MISSING, low: float = -math.inf,
        high: float = math.inf,
    ) -> float:
        """Return a finite number within [low, high]."""
        value = self.raw(name, default)
        if not _is_number(value) or not low <= float(value) <= high:
            raise self.fail(name, f'a finite number in [{low}, {high}]', value)
        return float(value)

    def integer(self, name: str, default: object = _MISSING, low: int = -(2**63)) -> int:
        """Return an integer not below `low`."""
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(name, f'an integer >= {low}', value)
        return value

    def boolean(self, name: str, default: object = _MISSING) -> bool:
        """Return a boolean."""
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, 'true or false', value)
        return value

    def vector(
        self, name: str, length: int, default: object = _MISSING, positive: bool = False
    ) -> tuple[float, ...]:
        """Return a list of `length` finite numbers (all > 0 when `positive`)."""
        value = self.raw(name, default)
        kind = 'positive numbers' if positive else 'numbers'
        if (
            not isinstance(value, list | tuple)
            or len(value) != length
            or not all(_is_number(v) and (not positive or v > 0) for v in value)
        ):
            raise self.fail(name, f'a list of {length} {kind}', value)
        return tuple(float(v) for v in value)

    def items(self, name: str, default: object = _MISSING) -> list[object]:
        """Return a list."""
        value = self.raw(name, default)
        if not isinstance(value, list):
            raise self.fail(name, 'a list', value)
        return value

    def each(
        self, name: str, parse: Callable[['Fields'], Any], default: object = _MISSING
    ) -> list:
        """Parse each mapping of the list at `name` with `parse`."""
        return [
            parse(Fields(item, self.source, f'{self.key(name)}[{index}]', self.error))
            for index, item in enumerate(self.items(name, default))
        ]


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def load_yaml(path: Path, error: type[ConfigError] = ConfigError) -> object:
    """Parse a YAML file, turning I/O and syntax errors into `error` naming the file."""
    try:
        text = Path(path).read_text(encoding='utf-8')
    except OSError as e:
        raise error(str(path), '<file>', 'a readable file', str(e)) from e
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        where = f'line {mark.line + 1}, column {mark.column + 1}' if mark else '<file>'
        raise error(str(path), where, 'valid YAML', str(e).splitlines()[0]) from e
