"""Scenario files: what to run in the twin and what must come true (pure)."""

from dataclasses import dataclass, field
from pathlib import Path

from robo_edge.chaos.spec import FaultSpec, parse_faults
from robo_edge.control.script import DriveScript, DriveSegment
from robo_edge.exceptions import ScenarioError
from robo_edge.robot.kinematics import Pose2D
from robo_edge.twin.config import flatten_defaults
from robo_edge.twin.world import World, parse_world
from robo_edge.yaml_fields import Fields, load_yaml

KNOWN_KEYS = {
    'name', 'description', 'world', 'seed', 'start', 'goals', 'drive', 'duration_s', 'faults',
    'expect', 'clock_mode', 'twin', 'goal_tolerance', 'lockstep_timeout_s', 'params', 'robot',
}
EXPECT_KEYS = {
    'collisions', 'goals_reached', 'min_clearance_m', 'min_path_length_m', 'max_path_length_m',
    'outcome', 'final_pose_within', 'goals_failed', 'detect_within_s', 'react_within_s',
    'max_mode', 'min_mode', 'max_breaker_trips', 'max_localization_error_m',
}
MODES = ('NOMINAL', 'DEGRADED', 'SAFE_STOP')
# Nodes whose parameters a scenario may override (`params:`), e.g. a breaker threshold.
TUNABLE_NODES = {
    'sensor_guard', 'mode_manager', 'mapper', 'planner', 'controller', 'safety_gate',
    'perception', 'camera_ingest', 'lidar_ingest', 'imu_ingest',
}


@dataclass(frozen=True)
class Expectations:
    """Pass criteria; a criterion left as None is not checked."""

    collisions: int | None = 0
    goals_reached: str | int | None = None  # 'all' or a minimum count
    min_clearance_m: float | None = None
    min_path_length_m: float | None = None
    max_path_length_m: float | None = None
    outcome: str = 'completed'
    final_pose_within: tuple[float, float, float] | None = None  # [x, y, radius]
    goals_failed: tuple[int, ...] | None = None  # goal indices the planner must report failed
    detect_within_s: float | None = None  # every injected fault: a breaker opened within
    react_within_s: float | None = None  # every injected fault: fallback or cap within
    max_mode: str | None = None  # the most severe mode allowed (NOMINAL, DEGRADED, SAFE_STOP)
    min_mode: str | None = None  # the run must reach at least this mode
    max_breaker_trips: int | None = None  # breaker openings allowed (0: no false trips)
    max_localization_error_m: float | None = None  # localised pose vs truth, largest xy error


@dataclass(frozen=True)
class Scenario:
    """One declared run: a world, a start, commands or goals, a deadline, and expectations."""

    name: str
    source: str
    world_ref: str | None  # a world file path or installed name; None when inline
    world_inline: World | None
    seed: int
    start: Pose2D
    duration_s: float
    goals: tuple[Pose2D, ...] = ()
    drive: DriveScript = field(default_factory=lambda: DriveScript([]))
    faults: tuple[FaultSpec, ...] = ()
    expect: Expectations = field(default_factory=Expectations)
    clock_mode: str = 'lockstep'
    twin_overrides: dict[str, object] = field(default_factory=dict)
    goal_tolerance_xy: float = 0.25
    goal_tolerance_yaw: float = 0.35
    lockstep_timeout_s: float = 1.0
    description: str = ''
    node_params: dict[str, dict[str, object]] = field(default_factory=dict)
    robot: str = 'default'  # a robot profile: a shipped name (config/robot/) or a file


def load_scenario(path: Path | str) -> Scenario:
    """Load and validate a scenario file; errors name the file, the key and the expectation."""
    return parse_scenario(load_yaml(Path(path), ScenarioError), str(path))


def parse_scenario(data: object, source: str) -> Scenario:
    """Validate a parsed scenario document."""
    spec = Fields(data, source, '', ScenarioError)
    spec.reject_unknown(KNOWN_KEYS)
    world_ref, world_inline = _world(spec, source)
    if spec.raw('goals', []) and spec.raw('drive', []):
        raise spec.fail('drive', 'no scripted drive when goals are given (navigation drives)',
                        'both goals and drive')
    clock_mode = spec.string('clock_mode', 'lockstep')
    if clock_mode not in ('lockstep', 'free_run'):
        raise spec.fail('clock_mode', 'lockstep or free_run', clock_mode)
    tolerance = spec.sub('goal_tolerance') if 'goal_tolerance' in spec.data else None
    if tolerance is not None:
        tolerance.reject_unknown({'xy', 'yaw'})
    return Scenario(
        name=_name(spec),
        source=source,
        world_ref=world_ref,
        world_inline=world_inline,
        seed=spec.integer('seed', 0, low=0),
        start=_pose(spec.vector('start', 3)),
        duration_s=spec.number('duration_s', low=0.05, high=86400.0),
        goals=tuple(_pose(v) for v in _vectors(spec, 'goals')),
        drive=DriveScript(spec.each('drive', _segment, [])),
        faults=parse_faults(spec),
        expect=_expectations(spec),
        clock_mode=clock_mode,
        twin_overrides=_twin_overrides(spec),
        goal_tolerance_xy=tolerance.number('xy', 0.25, low=0.01) if tolerance else 0.25,
        goal_tolerance_yaw=tolerance.number('yaw', 0.35, low=0.01) if tolerance else 0.35,
        lockstep_timeout_s=spec.number('lockstep_timeout_s', 1.0, low=0.05, high=60.0),
        description=str(spec.raw('description', '')),
        node_params=_node_params(spec),
        robot=spec.string('robot', 'default'),
    )


def _node_params(spec: Fields) -> dict[str, dict[str, object]]:
    """Return per-node parameter overrides (`params: {node: {name: value}}`)."""
    if 'params' not in spec.data:
        return {}
    params = spec.sub('params')
    params.reject_unknown(TUNABLE_NODES)
    out: dict[str, dict[str, object]] = {}
    for node in params.data:
        values = params.sub(node).data
        if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
            raise params.fail(node, 'a mapping of parameter names to values', values)
        out[node] = dict(values)
    return out


def _name(spec: Fields) -> str:
    name = spec.string('name')
    if not all(c.isalnum() or c in '_-' for c in name):
        raise spec.fail('name', 'letters, digits, _ and - only (it names report files)', name)
    return name


def _world(spec: Fields, source: str) -> tuple[str | None, World | None]:
    value = spec.raw('world')
    if isinstance(value, str) and value:
        return value, None
    if isinstance(value, dict):
        return None, parse_world({'world': value}, f'{source} (inline world)')
    raise spec.fail('world', 'a world file name/path, or an inline world mapping', value)


def _pose(values: tuple[float, ...]) -> Pose2D:
    return Pose2D(values[0], values[1], values[2])


def _vectors(spec: Fields, name: str) -> list[tuple[float, ...]]:
    items = spec.items(name, [])
    holder = Fields({str(i): v for i, v in enumerate(items)}, spec.source, spec.key(name),
                    ScenarioError)
    return [holder.vector(str(i), 3) for i in range(len(items))]


def _segment(fields: Fields) -> DriveSegment:
    fields.reject_unknown({'for_s', 'linear', 'angular'})
    return DriveSegment(
        for_s=fields.number('for_s', low=1e-3, high=1e6),
        linear=fields.number('linear', 0.0, low=-10.0, high=10.0),
        angular=fields.number('angular', 0.0, low=-20.0, high=20.0),
    )


def _twin_overrides(spec: Fields) -> dict[str, object]:
    overrides = spec.sub('twin').data if 'twin' in spec.data else {}
    known = flatten_defaults()
    for key in overrides:
        if key not in known:
            raise spec.fail(f'twin.{key}', f'a twin setting, one of {sorted(known)}', key)
    return dict(overrides)


def _expectations(spec: Fields) -> Expectations:
    if 'expect' not in spec.data:
        return Expectations()
    expect = spec.sub('expect')
    expect.reject_unknown(EXPECT_KEYS)
    goals = expect.raw('goals_reached', None)
    if goals is not None and goals != 'all' and (
        isinstance(goals, bool) or not isinstance(goals, int) or goals < 0
    ):
        raise expect.fail('goals_reached', '"all" or a non-negative integer', goals)
    outcome = expect.string('outcome', 'completed')
    if outcome not in ('completed', 'lockstep_timeout'):
        raise expect.fail('outcome', 'completed or lockstep_timeout', outcome)
    return Expectations(
        collisions=expect.integer('collisions', 0, low=0) if expect.raw(
            'collisions', 0) is not None else None,
        goals_reached=goals,
        min_clearance_m=_optional_number(expect, 'min_clearance_m'),
        min_path_length_m=_optional_number(expect, 'min_path_length_m'),
        max_path_length_m=_optional_number(expect, 'max_path_length_m'),
        outcome=outcome,
        final_pose_within=expect.vector('final_pose_within', 3) if expect.raw(
            'final_pose_within', None) is not None else None,
        goals_failed=_indices(expect, 'goals_failed'),
        detect_within_s=_optional_number(expect, 'detect_within_s'),
        react_within_s=_optional_number(expect, 'react_within_s'),
        max_mode=_mode(expect, 'max_mode'),
        min_mode=_mode(expect, 'min_mode'),
        max_breaker_trips=expect.integer('max_breaker_trips', low=0) if expect.raw(
            'max_breaker_trips', None) is not None else None,
        max_localization_error_m=_optional_number(expect, 'max_localization_error_m'),
    )


def _mode(fields: Fields, name: str) -> str | None:
    value = fields.raw(name, None)
    if value is None:
        return None
    if value not in MODES:
        raise fields.fail(name, f'one of {list(MODES)}', value)
    return str(value)


def _indices(fields: Fields, name: str) -> tuple[int, ...] | None:
    values = fields.raw(name, None)
    if values is None:
        return None
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values
    ):
        raise fields.fail(name, 'a list of goal indices (integers >= 0)', values)
    return tuple(values)


def _optional_number(fields: Fields, name: str) -> float | None:
    return None if fields.raw(name, None) is None else fields.number(name, low=0.0)
