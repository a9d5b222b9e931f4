"""Full `ros2msg` definition text of a ROS type, as rosbag2 and MCAP readers expect it.

The text is the root .msg file followed, depth first and each type only once, by every type it
uses: a line of 80 `=`, a `MSG: pkg/Type` line, then that type's .msg text. This mirrors
rosbag2's LocalMessageDefinitionSource so files read the same in Foxglove, Lichtblick and
`ros2 bag`.
"""

import re
import sys
from collections.abc import Callable
from pathlib import Path

from robo_edge.exceptions import ResourceNotFound

SEPARATOR = '=' * 80
PRIMITIVE_TYPES = frozenset(
    'bool byte char float32 float64 int8 uint8 int16 uint16 int32 uint32 int64 uint64 '
    'string wstring'.split()
)
# Nested types cannot recurse in a valid .msg graph; this only stops a malformed one.
MAX_DEPTH = 50
_NAME = r'[A-Za-z][A-Za-z0-9_]*'
_TYPE_NAME = re.compile(rf'^({_NAME})/(?:({_NAME})/)?({_NAME})$')
# The field type is the first word of a line; an array suffix ([], [3], [<=3]) may follow.
_FIELD_TYPE = re.compile(r'^\s*([A-Za-z0-9_/]+)(?:\[[^\]]*\])?\s+\S')

ShareFinder = Callable[[str], Path | None]


def split_type_name(type_name: str) -> tuple[str, str, str]:
    """Return (package, interface kind, type) of `pkg/msg/Type` or `pkg/Type`."""
    match = _TYPE_NAME.match(type_name)
    if match is None:
        raise ValueError(f'not a ROS type name: {type_name!r} (expected pkg/msg/Type)')
    package, kind, name = match.groups()
    return package, kind or 'msg', name


def field_dependencies(msg_text: str, package: str) -> list[str]:
    """Return the sorted `pkg/Type` names of the non-primitive fields of a .msg text."""
    dependencies: set[str] = set()
    for line in msg_text.splitlines():
        match = _FIELD_TYPE.match(line.split('#', 1)[0])
        if match is None or match.group(1) in PRIMITIVE_TYPES:
            continue
        field_type = match.group(1)
        dependencies.add(field_type if '/' in field_type else f'{package}/{field_type}')
    return sorted(dependencies)


def installed_share_dir(package: str) -> Path | None:
    """Return the share directory of an installed package through the ament index or prefix."""
    from ament_index_python.packages import (  # noqa: PLC0415 - keeps the core importable alone
        PackageNotFoundError,
        get_package_share_directory,
    )

    try:
        return Path(get_package_share_directory(package))
    except (PackageNotFoundError, OSError):
        # Wheels installed into a venv (no sourced workspace) keep share/ under the prefix.
        fallback = Path(sys.prefix, 'share', package)
        return fallback if fallback.is_dir() else None


class MessageDefinitions:
    """Resolve and cache full definition texts; `find_share` maps a package to its share dir."""

    def __init__(self, find_share: ShareFinder = installed_share_dir) -> None:
        self._find_share = find_share
        self._msg_texts: dict[str, str] = {}
        self._full_texts: dict[str, str] = {}

    def full_text(self, type_name: str) -> str:
        """Return the full definition of `type_name`; ResourceNotFound if a .msg is missing."""
        cached = self._full_texts.get(type_name)
        if cached is None:
            cached = self._resolve(type_name, set(), MAX_DEPTH)
            self._full_texts[type_name] = cached
        return cached

    def _resolve(self, type_name: str, seen: set[str], depth: int) -> str:
        if depth <= 0:
            raise ResourceNotFound(f'message definition of {type_name} nests too deeply')
        package = split_type_name(type_name)[0]
        text = self._msg_text(type_name)
        parts = [text]
        for dependency in field_dependencies(text, package):
            if dependency in seen:
                continue
            seen.add(dependency)
            parts.append(f'\n{SEPARATOR}\nMSG: {dependency}\n')
            parts.append(self._resolve(dependency, seen, depth - 1))
        return ''.join(parts)

    def _msg_text(self, type_name: str) -> str:
        cached = self._msg_texts.get(type_name)
        if cached is not None:
            return cached
        package, kind, name = split_type_name(type_name)
        share = self._find_share(package)
        path = share / kind / f'{name}.msg' if share is not None else None
        if path is None or not path.is_file():
            raise ResourceNotFound(f'no .msg definition installed for {type_name}')
        try:
            text = path.read_text(encoding='utf-8')
        except OSError as e:
            raise ResourceNotFound(f'cannot read {path}: {e}') from e
        self._msg_texts[type_name] = text
        return text


_DEFAULT = MessageDefinitions()


def full_definition(type_name: str) -> str:
    """Return the cached full `ros2msg` definition of an installed type such as `pkg/msg/Type`."""
    return _DEFAULT.full_text(type_name)
