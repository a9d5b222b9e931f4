"""The canary suite (config/canary.yaml): worlds, faults, seeds and verdict thresholds (pure).

The file is plain YAML or the ROS form (`canary: ros__parameters: {...}`). A suite names
scenario files (run as written), shipped worlds and generated worlds (evaluation seeds), both
given goals by the goal generator; each runs nominal and under every declared fault, on every
seed. `quick:` holds a smaller suite's keys, used by `robo-edge cloud canary --quick`.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from robo_edge.exceptions import ConfigError

NOMINAL = 'nominal'
KINDS = ('model', 'map', 'policy')  # what a canary can compare
# Which way is better, per metric: +1 larger is better, -1 smaller is better.
METRICS: dict[str, int] = {
    'goals_reached': +1,
    'collisions': -1,
    'min_clearance_m': +1,
    'time_to_goal_s': -1,
    'localization_error_m': -1,
    'breaker_trips': -1,
    'perception_agreement': +1,
}
FAULT_KEYS = {'type', 'target', 'start_s', 'duration_s', 'mode', 'value'}


@dataclass(frozen=True)
class Thresholds:
    """The verdict's rules: new collisions allowed, and the metrics that must not regress."""

    max_new_collisions: int = 0  # total candidate collisions minus release collisions
    no_worse: tuple[str, ...] = tuple(METRICS)  # worse beyond the interval fails
    confidence: float = 0.95
    bootstrap: int = 2000
    # Per metric, how much worse is still no regression (run-to-run noise of the twin).
    tolerances: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A declared canary suite."""

    source: str
    scenario_files: tuple[str, ...] = ()
    shipped_worlds: tuple[str, ...] = ()
    generated_worlds: int = 0
    goals: int = 2
    faults: dict[str, tuple[dict, ...]] = field(default_factory=lambda: {NOMINAL: ()})
    seeds: tuple[int, ...] = (0,)
    retries: int = 1
    thresholds: Thresholds = Thresholds()


def load_suite(path: Path | str, quick: bool = False) -> Suite:
    """Read and validate a suite file; `quick` applies its `quick:` section over the rest."""
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(source, '<file>', 'a readable YAML file', str(e)) from e
    return parse_suite(data, source, quick)


def parse_suite(data: object, source: str, quick: bool = False) -> Suite:
    """Validate a suite document (plain or `canary: ros__parameters:`)."""
    fields = _unwrap(data, source)
    if quick:
        extra = fields.get('quick')
        if not isinstance(extra, dict):
            raise ConfigError(source, 'quick', 'a mapping (the quick suite)', extra)
        fields = {**fields, **extra}
    unknown = set(fields) - {'scenario_files', 'shipped_worlds', 'generated_worlds', 'goals',
                             'faults', 'seeds', 'retries', 'thresholds', 'quick'}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(source, key, 'a known suite key', fields[key])
    suite = Suite(
        source=source,
        scenario_files=_strings(fields, 'scenario_files', source),
        shipped_worlds=_strings(fields, 'shipped_worlds', source),
        generated_worlds=_count(fields, 'generated_worlds', source, 0),
        goals=_count(fields, 'goals', source, 2, minimum=1),
        faults=_faults(fields.get('faults', [NOMINAL]), source),
        seeds=_seeds(fields.get('seeds', [0]), source),
        retries=_count(fields, 'retries', source, 1),
        thresholds=_thresholds(fields.get('thresholds', {}), source),
    )
    if not (suite.scenario_files or suite.shipped_worlds or suite.generated_worlds):
        raise ConfigError(source, 'scenario_files', 'at least one scenario file, shipped world '
                          'or generated world')
    return suite


def _unwrap(data: object, source: str) -> dict:
    if isinstance(data, dict) and set(data) == {'canary'}:
        data = data['canary']
        if not isinstance(data, dict) or 'ros__parameters' not in data:
            raise ConfigError(source, 'canary', 'a mapping with ros__parameters', data)
        data = data['ros__parameters']
    if not isinstance(data, dict):
        raise ConfigError(source, '<document>', 'a mapping of suite keys', data)
    return data


def _strings(fields: dict, key: str, source: str) -> tuple[str, ...]:
    value = fields.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(source, key, 'a list of non-empty strings', value)
    return tuple(value)


def _count(fields: dict, key: str, source: str, default: int, minimum: int = 0) -> int:
    value = fields.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(source, key, f'an integer >= {minimum}', value)
    return value


def _seeds(value: object, source: str) -> tuple[int, ...]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
            or len(set(value)) != len(value)):
        raise ConfigError(source, 'seeds', 'a non-empty list of distinct integers >= 0', value)
    return tuple(value)


def _faults(value: object, source: str) -> dict[str, tuple[dict, ...]]:
    """Return fault categories: `nominal` (no faults) or a name with its chaos faults."""
    if not isinstance(value, list) or not value:
        raise ConfigError(source, 'faults', 'a non-empty list', value)
    out: dict[str, tuple[dict, ...]] = {}
    for i, item in enumerate(value):
        key = f'faults[{i}]'
        if item == NOMINAL:
            name, faults = NOMINAL, ()
        elif isinstance(item, dict) and set(item) == {'name', 'faults'}:
            name, faults = item['name'], tuple(_fault(f, source, key) for f in
                                               _list(item['faults'], source, key))
        else:
            raise ConfigError(source, key, f"'{NOMINAL}' or {{name, faults}}", item)
        if not isinstance(name, str) or not name or name in out:
            raise ConfigError(source, key, 'a unique non-empty name', name)
        out[name] = faults
    return out


def _list(value: object, source: str, key: str) -> list:
    if not isinstance(value, list) or not value:
        raise ConfigError(source, f'{key}.faults', 'a non-empty list of chaos faults', value)
    return value


def _fault(fault: object, source: str, key: str) -> dict:
    if not isinstance(fault, dict) or not {'type', 'target', 'start_s'} <= set(fault):
        raise ConfigError(source, f'{key}.faults', 'chaos faults with type, target, start_s',
                          fault)
    if set(fault) - FAULT_KEYS:
        raise ConfigError(source, f'{key}.faults', f'only the keys {sorted(FAULT_KEYS)}', fault)
    return dict(fault)


def _thresholds(value: object, source: str) -> Thresholds:
    if not isinstance(value, dict):
        raise ConfigError(source, 'thresholds', 'a mapping', value)
    unknown = set(value) - {'max_new_collisions', 'no_worse', 'confidence', 'bootstrap',
                            'tolerances'}
    if unknown:
        raise ConfigError(source, f'thresholds.{sorted(unknown)[0]}', 'a known threshold')
    no_worse = value.get('no_worse', list(METRICS))
    if not isinstance(no_worse, list) or not set(no_worse) <= set(METRICS):
        raise ConfigError(source, 'thresholds.no_worse', f'a list from {sorted(METRICS)}',
                          no_worse)
    confidence = value.get('confidence', 0.95)
    if not isinstance(confidence, float) or not 0.5 <= confidence < 1.0 or math.isnan(confidence):
        raise ConfigError(source, 'thresholds.confidence', 'a number in [0.5, 1)', confidence)
    return Thresholds(
        max_new_collisions=_count(value, 'max_new_collisions', source + ' thresholds', 0),
        no_worse=tuple(no_worse), confidence=confidence,
        bootstrap=_count(value, 'bootstrap', source + ' thresholds', 2000, minimum=100),
        tolerances=_tolerances(value.get('tolerances', {}), source),
    )


def _tolerances(value: object, source: str) -> dict[str, float]:
    if (not isinstance(value, dict) or not set(value) <= set(METRICS)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                       for v in value.values())):
        raise ConfigError(source, 'thresholds.tolerances',
                          f'a mapping from {sorted(METRICS)} to numbers >= 0', value)
    return {k: float(v) for k, v in value.items()}
