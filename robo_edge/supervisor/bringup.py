"""Bringup files: the declarative list of node processes the supervisor keeps running.

A pure core: it reads YAML and checks every key, so a malformed file fails at load time with a
BringupError naming the file, the key path (for example `bringup.nodes[2].restart`) and what
was expected, never halfway through a start.
"""

import dataclasses
import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from robo_edge.exceptions import BringupError, ConfigError, ResourceNotFound
from robo_edge.paths import share_dir
from robo_edge.robot.profile import load_profile
from robo_edge.robot.profile import node_parameters as robot_parameters

NODE_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
PARAM_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_./]*$')
ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
DEFAULT_MAX_RESTARTS = 5
DEFAULT_RESTART_WINDOW_S = 60.0
TOP_KEYS = ('bringup',)
BRINGUP_KEYS = ('name', 'nodes', 'robot')
NODE_KEYS = (
    'name', 'executable', 'command', 'parameters', 'overrides', 'remappings', 'restart',
    'max_restarts', 'restart_window_s', 'exit_ends_bringup', 'env', 'safety_critical',
)


class RestartPolicy(enum.Enum):
    """When the supervisor starts a node again after its process exits."""

    ALWAYS = 'always'
    ON_FAILURE = 'on-failure'
    NEVER = 'never'

    def wants_restart(self, exit_code: int) -> bool:
        """Return whether an exit with `exit_code` (negative: killed by a signal) restarts."""
        if self is RestartPolicy.ALWAYS:
            return True
        return self is RestartPolicy.ON_FAILURE and exit_code != 0


@dataclass(frozen=True)
class NodeSpec:
    """One node process: what to run, its parameters and how it is supervised."""

    name: str
    executable: str | None = None
    command: tuple[str, ...] | None = None
    parameters: tuple[Path, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)
    remappings: Mapping[str, str] = field(default_factory=dict)
    restart: RestartPolicy = RestartPolicy.ON_FAILURE
    max_restarts: int = DEFAULT_MAX_RESTARTS
    restart_window_s: float = DEFAULT_RESTART_WINDOW_S
    exit_ends_bringup: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    # Reconciling names it whenever it is down or re-applies its parameters (never silently).
    safety_critical: bool = False


@dataclass(frozen=True)
class Bringup:
    """A named set of nodes, and the file (or in-memory source) it came from."""

    name: str
    nodes: tuple[NodeSpec, ...]
    source: str = '<memory>'
    robot: Path | None = None  # the robot profile its nodes' values came from, if any

    def node(self, name: str) -> NodeSpec:
        """Return the node called `name` (KeyError when there is none)."""
        for spec in self.nodes:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Return the node names in declaration order."""
        return tuple(spec.name for spec in self.nodes)


def load_bringup(path: str | Path, config_dirs: Sequence[Path] | None = None,
                 robot: Path | None = None) -> Bringup:
    """Read, parse and validate a bringup YAML file (`robot`: a profile to use instead)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as e:
        raise BringupError(source, '(file)', 'a readable UTF-8 YAML file', str(e)) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise BringupError(source, _yaml_position(e), 'valid YAML', _yaml_problem(e)) from e
    return parse_bringup(data, source, base_dir=Path(path).parent, config_dirs=config_dirs,
                         robot=robot)


def parse_bringup(data: Any, source: str, base_dir: Path | None = None,
                  config_dirs: Sequence[Path] | None = None,
                  robot: Path | None = None) -> Bringup:
    """Validate an already-loaded bringup document and return it.

    Parameter files are looked up as given when absolute, else in `base_dir` (the bringup
    file's folder), the config folder holding a `bringup/` folder, then `config_dirs`
    (default: the installed share/robo_edge/config). `robot`, when given, is the robot
    profile the nodes get instead of the one `bringup.robot` names (a scenario's robot).
    """
    ctx = _Context(source, _search_dirs(base_dir, config_dirs), _self_path(source))
    if data is None:
        raise ctx.fail('bringup', 'this key to be present (the document is empty)')
    top = _mapping(ctx, data, '', TOP_KEYS, required=TOP_KEYS)
    body = _mapping(ctx, top['bringup'], 'bringup', BRINGUP_KEYS, required=('name', 'nodes'))
    name = _string(ctx, body['name'], 'bringup.name')
    nodes = _list(ctx, body['nodes'], 'bringup.nodes', non_empty=True)
    specs = tuple(_node(ctx, item, f'bringup.nodes[{i}]') for i, item in enumerate(nodes))
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        if spec.name in seen:
            raise BringupError(source, f'bringup.nodes[{i}].name', 'a unique node name',
                               spec.name)
        seen.add(spec.name)
    profile = None
    if robot is not None:
        specs, profile = _with_robot(ctx, str(Path(robot).resolve()), specs)
    elif 'robot' in body:
        specs, profile = _with_robot(ctx, body['robot'], specs)
    return Bringup(name=name, nodes=specs, source=source, robot=profile)


def _with_robot(ctx: '_Context', data: Any,
                specs: tuple[NodeSpec, ...]) -> tuple[tuple[NodeSpec, ...], Path]:
    """Give each node the parameters the robot profile sets (under its own overrides)."""
    name = _string(ctx, data, 'bringup.robot')
    given = Path(name)
    candidates = [given] if given.is_absolute() else [d / given for d in ctx.search_dirs]
    found = next((c for c in candidates if _is_file(c)), None)
    if found is None:
        looked = ', '.join(str(c) for c in candidates) or 'nowhere'
        raise ctx.fail('bringup.robot', f'an existing robot profile (looked in {looked})', name)
    try:
        derived = robot_parameters(load_profile(found))
    except ConfigError as e:
        raise ctx.fail('bringup.robot', 'a valid robot profile', str(e)) from e
    return tuple(dataclasses.replace(spec, overrides={**derived.get(spec.name, {}),
                                                      **spec.overrides})
                 for spec in specs), found.resolve()


def encode_override(value: Any) -> str:
    """Return a parameter value as the YAML text a `-p name:=value` argument expects."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    return text.removesuffix('...').strip()


# ---------------------------------------------------------------- validation helpers


@dataclass(frozen=True)
class _Context:
    source: str
    search_dirs: tuple[Path, ...]
    self_path: Path | None

    def fail(self, key: str, expected: str, found: Any = None) -> BringupError:
        return BringupError(self.source, key or '(document)', expected, _short(found))


def _node(ctx: _Context, data: Any, key: str) -> NodeSpec:
    body = _mapping(ctx, data, key, NODE_KEYS, required=('name',))
    name = _string(ctx, body['name'], f'{key}.name')
    if not NODE_NAME.match(name):
        raise ctx.fail(f'{key}.name', 'a ROS node name ([A-Za-z_][A-Za-z0-9_]*)', name)
    executable, command = _program(ctx, body, key)
    return NodeSpec(
        name=name,
        executable=executable,
        command=command,
        parameters=_parameters(ctx, body.get('parameters', []), f'{key}.parameters'),
        overrides=_overrides(ctx, body.get('overrides', {}), f'{key}.overrides'),
        remappings=_remappings(ctx, body.get('remappings', {}), f'{key}.remappings'),
        restart=_restart(ctx, body.get('restart', RestartPolicy.ON_FAILURE.value),
                         f'{key}.restart'),
        max_restarts=_count(ctx, body.get('max_restarts', DEFAULT_MAX_RESTARTS),
                            f'{key}.max_restarts'),
        restart_window_s=_positive(ctx, body.get('restart_window_s', DEFAULT_RESTART_WINDOW_S),
                                   f'{key}.restart_window_s'),
        exit_ends_bringup=_bool(ctx, body.get('exit_ends_bringup', False),
                                f'{key}.exit_ends_bringup'),
        env=_env(ctx, body.get('env', {}), f'{key}.env'),
        safety_critical=_bool(ctx, body.get('safety_critical', False),
                              f'{key}.safety_critical'),
    )


def _program(ctx: _Context, body: dict[str, Any],
             key: str) -> tuple[str | None, tuple[str, ...] | None]:
    if ('executable' in body) == ('command' in body):
        raise ctx.fail(f'{key}.executable', 'exactly one of "executable" or "command"',
                       sorted(k for k in body if k in ('executable', 'command')) or None)
    if 'executable' in body:
        exe = _string(ctx, body['executable'], f'{key}.executable')
        if '/' in exe:
            raise ctx.fail(f'{key}.executable',
                           'a bare executable name under lib/robo_edge (use "command" for a path)',
                           exe)
        return exe, None
    argv = _list(ctx, body['command'], f'{key}.command', non_empty=True)
    return None, tuple(_string(ctx, arg, f'{key}.command[{i}]') for i, arg in enumerate(argv))


def _parameters(ctx: _Context, data: Any, key: str) -> tuple[Path, ...]:
    items = _list(ctx, data, key)
    return tuple(_param_file(ctx, item, f'{key}[{i}]') for i, item in enumerate(items))


def _param_file(ctx: _Context, data: Any, key: str) -> Path:
    name = _string(ctx, data, key)
    given = Path(name)
    candidates = [given] if given.is_absolute() else [d / given for d in ctx.search_dirs]
    for candidate in candidates:
        # config/bringup/ingest.yaml may sit next to config/ingest.yaml: skip bringup files.
        if _is_file(candidate) and not _same_file(candidate, ctx.self_path) \
                and _is_params_file(candidate):
            return candidate.resolve()
    looked = ', '.join(str(c) for c in candidates) or 'nowhere (no search folder)'
    raise ctx.fail(key, f'an existing ROS parameters file (looked in {looked})', name)


def _overrides(ctx: _Context, data: Any, key: str) -> dict[str, Any]:
    body = _mapping(ctx, data, key)
    result: dict[str, Any] = {}
    for name, value in body.items():
        if not PARAM_NAME.match(name):
            raise ctx.fail(f'{key}.{name}', 'a parameter name', name)
        result[name] = _param_value(ctx, value, f'{key}.{name}')
    return result


def _param_value(ctx: _Context, value: Any, key: str) -> Any:
    scalar = (bool, int, float, str)
    if isinstance(value, float) and not math.isfinite(value):
        raise ctx.fail(key, 'a finite number', value)
    if isinstance(value, scalar):
        _no_nul(ctx, value, key)
        return value
    if isinstance(value, list) and value:
        kinds = {bool if isinstance(v, bool) else type(v) for v in value}
        if len(kinds) == 1 and kinds <= {bool, int, float, str}:
            for i, item in enumerate(value):
                _param_value(ctx, item, f'{key}[{i}]')
            return list(value)
    raise ctx.fail(key, 'a bool, int, float, string or non-empty list of one of those', value)


def _remappings(ctx: _Context, data: Any, key: str) -> dict[str, str]:
    body = _mapping(ctx, data, key)
    return {name: _string(ctx, value, f'{key}.{name}') for name, value in body.items()}


def _env(ctx: _Context, data: Any, key: str) -> dict[str, str]:
    body = _mapping(ctx, data, key)
    result: dict[str, str] = {}
    for name, value in body.items():
        if not ENV_NAME.match(name):
            raise ctx.fail(f'{key}.{name}', 'an environment variable name', name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        result[name] = _string(ctx, value, f'{key}.{name}', allow_empty=True)
    return result


def _restart(ctx: _Context, data: Any, key: str) -> RestartPolicy:
    choices = [p.value for p in RestartPolicy]
    if isinstance(data, str) and data in choices:
        return RestartPolicy(data)
    raise ctx.fail(key, f'one of {choices}', data)


def _mapping(ctx: _Context, data: Any, key: str, allowed: Sequence[str] | None = None,
             required: Sequence[str] = ()) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ctx.fail(key, 'a mapping', data)
    prefix = f'{key}.' if key else ''
    for name in data:
        if not isinstance(name, str) or not name:
            raise ctx.fail(f'{prefix}{name}', 'string keys', name)
        if allowed is not None and name not in allowed:
            raise ctx.fail(f'{prefix}{name}', f'a known key (one of {list(allowed)})', name)
    for name in required:
        if name not in data:
            raise ctx.fail(f'{prefix}{name}', 'this key to be present')
    return data


def _list(ctx: _Context, data: Any, key: str, non_empty: bool = False) -> list[Any]:
    if not isinstance(data, list):
        raise ctx.fail(key, 'a list', data)
    if non_empty and not data:
        raise ctx.fail(key, 'a non-empty list', data)
    return data


def _string(ctx: _Context, data: Any, key: str, allow_empty: bool = False) -> str:
    if not isinstance(data, str) or (not data and not allow_empty):
        raise ctx.fail(key, 'a non-empty string' if not allow_empty else 'a string', data)
    _no_nul(ctx, data, key)
    return data


def _no_nul(ctx: _Context, data: Any, key: str) -> None:
    if isinstance(data, str) and '\x00' in data:
        raise ctx.fail(key, 'text without NUL characters', data)


def _bool(ctx: _Context, data: Any, key: str) -> bool:
    if not isinstance(data, bool):
        raise ctx.fail(key, 'true or false', data)
    return data


def _count(ctx: _Context, data: Any, key: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int) or data < 0:
        raise ctx.fail(key, 'an integer >= 0', data)
    return data


def _positive(ctx: _Context, data: Any, key: str) -> float:
    if isinstance(data, bool) or not isinstance(data, (int, float)) or not 0 < data < math.inf:
        raise ctx.fail(key, 'a number of seconds > 0', data)
    return float(data)


# ---------------------------------------------------------------- file lookup


def _search_dirs(base_dir: Path | None, config_dirs: Sequence[Path] | None) -> tuple[Path, ...]:
    dirs: list[Path] = []
    if base_dir is not None:
        dirs.append(Path(base_dir))
        # config/bringup/x.yaml names parameter files of config/ (installed or in the source).
        if Path(base_dir).name == 'bringup':
            dirs.append(Path(base_dir).parent)
    dirs.extend(_installed_config_dirs() if config_dirs is None else config_dirs)
    return tuple(dict.fromkeys(dirs))


def _installed_config_dirs() -> list[Path]:
    try:
        return [share_dir() / 'config']
    except (ResourceNotFound, OSError):  # not installed, or no workspace sourced
        return []


def _self_path(source: str) -> Path | None:
    path = Path(source)
    return path if _is_file(path) else None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # too long, NUL byte, permission
        return False


def _is_params_file(path: Path) -> bool:
    """Return whether `path` is YAML in the `<node>: ros__parameters:` form."""
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return _has_ros_parameters(data, depth=4)


def _has_ros_parameters(data: Any, depth: int) -> bool:
    if not isinstance(data, dict) or depth == 0:
        return False
    if 'ros__parameters' in data:
        return True
    return any(_has_ros_parameters(value, depth - 1) for value in data.values())


def _same_file(path: Path, other: Path | None) -> bool:
    if other is None:
        return False
    try:
        return path.samefile(other)
    except OSError:
        return False


def _yaml_position(error: yaml.YAMLError) -> str:
    mark = getattr(error, 'problem_mark', None)
    if mark is None:
        return '(syntax)'
    return f'(syntax) line {mark.line + 1}, column {mark.column + 1}'


def _yaml_problem(error: yaml.YAMLError) -> str:
    return str(getattr(error, 'problem', None) or error).strip()


def _short(value: Any, limit: int = 80) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + '...'
