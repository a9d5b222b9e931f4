"""Declared faults of a scenario (`faults:`), validated, and their twin-parameter form (pure).

The twin injects the sensor faults (silence, delay, drop, freeze, noise, nan, lie, clock_skew;
a camera lie paints the image, robo_edge.chaos.camera_lies);
`kill` is parsed here and carried out by the scenario runner, `cut_link` is reserved for cloud
sync. See docs/architecture.md, "Chaos as code".
"""

import json
import math
from dataclasses import dataclass

from robo_edge.exceptions import ConfigError
from robo_edge.yaml_fields import Fields

NS_PER_S = 1_000_000_000
SENSOR_TARGETS = ('lidar', 'camera', 'imu', 'odom')
SENSOR_TYPES = ('silence', 'delay', 'drop', 'freeze', 'noise', 'nan', 'lie', 'clock_skew')
FAULT_TYPES = (*SENSOR_TYPES, 'kill', 'cut_link')
COMMON_KEYS = {'type', 'target', 'start_s', 'duration_s'}
# The keys each type accepts besides the common ones, and whether each is required.
TYPE_KEYS: dict[str, dict[str, bool]] = {
    'silence': {}, 'freeze': {}, 'kill': {}, 'cut_link': {},
    'delay': {'delay_s': True},
    'drop': {'probability': True},
    'noise': {'std': True},
    'nan': {'fraction': False},
    'lie': {'mode': True, 'value': True},
    'clock_skew': {'skew_s': True},
}
# Types not injected by the twin, and who carries them out (reported as such).
EXTERNAL = {'kill': 'scenario_runner', 'cut_link': 'cloud_sync'}
LIE_MODES = ('constant', 'offset')
# A camera lie paints the image instead: its modes and their keys (none required).
CAMERA_LIE_KEYS: dict[str, dict[str, bool]] = {
    'phantom': {'columns': False, 'bottom': False},
    'missed': {'columns': False, 'top': False},
}
CAMERA_LIE_MODES = tuple(CAMERA_LIE_KEYS)
DEFAULT_COLUMNS = (0.35, 0.65)  # a central band, as fractions of the image width
# Rows as fractions of the height from the top. With the default mount and 58 degree camera,
# the phantom's foot at 0.5 lies about 1.3 m ahead, and floor painted up to 0.25 reaches about
# 5.4 m (past the virtual scan's 4 m); the horizon is near 0.17.
DEFAULT_BOTTOM = 0.5
DEFAULT_TOP = 0.25
MAX_TIME_S = 86400.0


@dataclass(frozen=True)
class FaultSpec:
    """One declared fault; parameters that do not apply to its type keep their defaults."""

    type: str
    target: str
    start_s: float
    duration_s: float = 0.0  # 0: until the end of the run
    delay_s: float = 0.0
    probability: float = 0.0
    std: float = 0.0
    fraction: float = 1.0
    mode: str = ''
    value: float = 0.0
    skew_s: float = 0.0
    columns: tuple[float, float] = DEFAULT_COLUMNS
    bottom: float = DEFAULT_BOTTOM
    top: float = DEFAULT_TOP

    @property
    def start_ns(self) -> int:
        """Start of the window in integer nanoseconds of simulated time."""
        return round(self.start_s * NS_PER_S)

    @property
    def end_ns(self) -> int | None:
        """End of the window (exclusive), or None when it lasts to the end of the run."""
        return self.start_ns + round(self.duration_s * NS_PER_S) if self.duration_s > 0 else None

    def active(self, stamp_ns: int) -> bool:
        """Whether a reading stamped `stamp_ns` falls inside [start, start + duration)."""
        end = self.end_ns
        return stamp_ns >= self.start_ns and (end is None or stamp_ns < end)

    @property
    def injected_by(self) -> str:
        """Who carries the fault out: the twin, the scenario runner or cloud sync."""
        return EXTERNAL.get(self.type, 'twin')

    def to_dict(self) -> dict[str, object]:
        """Return the YAML form: the common keys and only the type's own parameters."""
        data: dict[str, object] = {'type': self.type, 'target': self.target,
                                   'start_s': self.start_s}
        if self.duration_s > 0:
            data['duration_s'] = self.duration_s
        for key in type_keys(self.type, self.target, self.mode):
            value = getattr(self, key)
            data[key] = list(value) if isinstance(value, tuple) else value
        return data


def type_keys(kind: str, target: object = None, mode: object = None) -> dict[str, bool]:
    """Return the keys a fault of `kind` accepts besides the common ones (required or not).

    A camera lie has its own keys; an unknown camera mode accepts those of every mode, so the
    error that follows names the mode rather than a key.
    """
    if kind != 'lie' or target != 'camera':
        return TYPE_KEYS[kind]
    modes = [mode] if mode in CAMERA_LIE_MODES else CAMERA_LIE_MODES
    keys = {'mode': True}
    for name in modes:
        keys.update(CAMERA_LIE_KEYS[name])
    return keys


def parse_faults(fields: Fields, name: str = 'faults') -> tuple[FaultSpec, ...]:
    """Parse the list at `name` (absent: no faults); errors name the file, key and expectation."""
    return tuple(fields.each(name, parse_fault, []))


def parse_fault(fields: Fields) -> FaultSpec:
    """Validate one fault mapping."""
    kind = fields.string('type')
    if kind not in FAULT_TYPES:
        raise fields.fail('type', f'one of {list(FAULT_TYPES)}', kind)
    data = fields.data
    fields.reject_unknown(COMMON_KEYS | set(type_keys(kind, data.get('target'), data.get('mode'))))
    target = _target(fields, kind)
    common = {
        'type': kind, 'target': target,
        'start_s': fields.number('start_s', low=0.0, high=MAX_TIME_S),
        'duration_s': fields.number('duration_s', 0.0, low=0.0, high=MAX_TIME_S),
    }
    return FaultSpec(**common, **_type_parameters(fields, kind, target, common['start_s']))


def _target(fields: Fields, kind: str) -> str:
    target = fields.string('target')
    if kind == 'kill':
        if not (target[0].isalpha() and all(c.isalnum() or c == '_' for c in target)):
            raise fields.fail('target', 'a node name (letters, digits, _; e.g. controller)',
                              target)
    elif kind == 'cut_link':
        if target != 'cloud':
            raise fields.fail('target', 'cloud (the only link cut_link knows)', target)
    elif target not in SENSOR_TARGETS:
        raise fields.fail('target', f'a sensor for {kind}: one of {list(SENSOR_TARGETS)}',
                          target)
    elif target == 'camera' and kind == 'nan':
        raise fields.fail('target', 'lidar, imu or odom for nan (images have no NaN; use '
                          'noise, freeze, silence or lie on the camera)', target)
    return target


def _type_parameters(
    fields: Fields, kind: str, target: str, start_s: float
) -> dict[str, object]:
    if kind == 'delay':
        return {'delay_s': fields.number('delay_s', low=1e-9, high=3600.0)}
    if kind == 'drop':
        return {'probability': fields.number('probability', low=0.0, high=1.0)}
    if kind == 'noise':
        return {'std': fields.number('std', low=1e-12, high=1e6)}
    if kind == 'nan':
        return {'fraction': fields.number('fraction', 1.0, low=1e-12, high=1.0)}
    if kind == 'lie':
        return _lie(fields, target)
    if kind == 'clock_skew':
        skew = fields.number('skew_s', low=-3600.0, high=3600.0)
        if skew == 0 or start_s + skew <= 0:
            raise fields.fail('skew_s', 'a non-zero number of seconds with start_s + skew_s > 0 '
                              '(nothing is stamped at or before t = 0)', skew)
        return {'skew_s': skew}
    return {}


def _lie(fields: Fields, target: str) -> dict[str, object]:
    if target == 'camera':
        return _camera_lie(fields)
    mode = fields.string('mode')
    if mode not in LIE_MODES:
        raise fields.fail('mode', f'one of {list(LIE_MODES)}', mode)
    raw = fields.raw('value')
    value = _float(raw)
    infinite_ok = target == 'lidar' and mode == 'constant'
    if value is None or math.isnan(value) or (math.isinf(value) and not infinite_ok):
        expected = ('a number (.inf or -.inf allowed: REP 117 no return / too close)'
                    if infinite_ok else 'a finite number')
        raise fields.fail('value', expected, raw)
    return {'mode': mode, 'value': value}


def _camera_lie(fields: Fields) -> dict[str, object]:
    mode = fields.string('mode')
    if mode not in CAMERA_LIE_MODES:
        raise fields.fail('mode', f'one of {list(CAMERA_LIE_MODES)} for the camera (a camera '
                          'lie paints the image)', mode)
    low, high = fields.vector('columns', 2, list(DEFAULT_COLUMNS))
    if not 0.0 <= low < high <= 1.0:
        raise fields.fail('columns', 'a list [c0, c1] of fractions of the image width with '
                          '0 <= c0 < c1 <= 1', [low, high])
    params: dict[str, object] = {'mode': mode, 'columns': (low, high)}
    if mode == 'phantom':
        params['bottom'] = fields.number('bottom', DEFAULT_BOTTOM, low=1e-12, high=1.0)
    else:
        top = fields.number('top', DEFAULT_TOP, low=0.0, high=1.0)
        if top >= 1.0:
            raise fields.fail('top', 'a finite number in [0.0, 1.0) (1 paints no floor)', top)
        params['top'] = top
    return params


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond float range
        return None


def to_params(faults: tuple[FaultSpec, ...] | list[FaultSpec]) -> str:
    """Return the faults as one JSON string (the twin's `faults` parameter; '' for none)."""
    if not faults:
        return ''
    # Python's json writes and reads Infinity, which a constant LiDAR lie may hold.
    return json.dumps([fault.to_dict() for fault in faults])


def from_params(text: str, source: str = 'twin parameters') -> tuple[FaultSpec, ...]:
    """Parse the `faults` parameter back, validating it as a scenario's list is validated."""
    if not text.strip():
        return ()
    try:
        items = json.loads(text)
    except ValueError as e:
        raise ConfigError(source, 'faults', 'a JSON list of faults', text[:80]) from e
    return parse_faults(Fields({'faults': items}, source, ''))
