"""sensor_guard's parameters: its own, and one per breaker, model, cross-check and vote setting.

LIVE apply at once (robo_edge/ros/guard_live.py): the thresholds of every breaker, the model's
and the cross-checks' limits, the votes, and the node's input_wait_s, max_nan_fraction,
max_virtual_age_s, union_range_m and laser_offset. Read-only: topics, tick source and rates
(they size the tick and lockstep schedules), sources and monitor, the files, and the fields
that size a window or pick a breaker at start (READ_ONLY_FIELDS).
"""

import math
from typing import Any

from robo_edge.breakers.breaker import default_config
from robo_edge.breakers.cross_check import ScanCheckConfig
from robo_edge.breakers.faults import Source
from robo_edge.breakers.model_health import ModelHealthConfig
from robo_edge.breakers.params import describe, to_params
from robo_edge.breakers.votes import VoteConfig
from robo_edge.breakers.yaw_check import YawCheckConfig
from robo_edge.ros.params import Param
from robo_edge.ros.readiness import REQUIRED_READERS_DOC

NODE_PARAMS = [
    Param('tick_source', 'clock', 'clock: answer each /clock tick; timer: own wall timer',
          read_only=True),
    Param('rate_hz', 50.0, 'Tick rate with tick_source timer: how finely silence is '
          'timed (a fallback goes live within one tick of its breaker opening)', 1.0, 200.0,
          read_only=True),
    Param('scan_rate_hz', 10.0, 'LiDAR rate: /safety/scan goes out on its schedule', 0.1, 100.0,
          read_only=True),
    Param('input_wait_s', 0.75, 'Wall time a tick waits for the samples due of trusted streams '
          '(lockstep: the LiDAR at its slots, IMU and odometry at every tick)', 0.0, 10.0),
    Param('sources', [s.value for s in Source], 'Breakers run and reported (others ignored)',
          read_only=True),
    Param('monitor', 'breakers', 'breakers, or baseline (rate and 1 s timeout only, no '
          'fallback: the anchors, for side-by-side benchmarks)', read_only=True),
    Param('max_nan_fraction', 0.5, 'A scan with more NaN beams than this is invalid', 0.0, 1.0),
    Param('max_virtual_age_s', 0.3, 'Oldest virtual scan used as the fallback (sim s)',
          0.0, 10.0),
    Param('laser_offset', [0.0, 0.0, 0.0], 'Laser mount in base_link [x, y, yaw]'),
    Param('lidar_topic', '/sensors/scan', 'Validated LiDAR scans', read_only=True),
    Param('virtual_topic', '/perception/scan', 'Perception virtual scans (base_link)',
          read_only=True),
    Param('union_range_m', 1.0, 'With the LiDAR live and perception healthy, camera returns '
          'nearer than the LiDAR within this range join /safety/scan (0: off)', 0.0, 10.0),
    Param('map_topic', '/map', "Map for the cross-check map vote (the mapper's; empty: no "
          'map vote)', read_only=True),
    Param('events_path', '', 'JSON-lines file of breaker and source changes; empty: none',
          read_only=True),
    Param('diagnostics_period_s', 1.0, 'Period of /diagnostics (steady clock)', 0.05, 60.0,
          read_only=True),
    Param('required_readers', [''], REQUIRED_READERS_DOC, read_only=True),
]


# Fields fixed at start: a rate sets the lockstep schedule, the grace counts from the first
# tick, a window sizes the evidence kept, the yaw check is attached to its `blame` breaker.
READ_ONLY_FIELDS = {'breaker': {'nominal_rate_hz', 'grace_s'},
                    'model': {'window_s', 'latency_budget_s'}, 'scan_check': {'window_s'},
                    'yaw_check': {'window_s', 'blame'}, 'votes': set()}


def breaker_params() -> list[Param]:
    """Return a Param per breaker, model, cross-check setting (defaults from the cores)."""
    sections: list[tuple[str, Any]] = [(s.value, default_config(s)) for s in Source]
    sections += [('model', ModelHealthConfig()), ('scan_check', ScanCheckConfig()),
                 ('yaw_check', YawCheckConfig()), ('votes', VoteConfig())]
    params = []
    for prefix, config in sections:
        docs = describe(type(config))
        fixed = READ_ONLY_FIELDS.get(prefix, READ_ONLY_FIELDS['breaker'])
        for key, value in to_params(config, prefix).items():
            field = key.split('.', 1)[1]
            doc, low, high = docs[field]
            bounded = isinstance(value, int | float) and not isinstance(value, bool)
            params.append(Param(key, float(value) if isinstance(value, float) else value, doc,
                                low if bounded and math.isfinite(low) else None,
                                high if bounded and math.isfinite(high) else None,
                                read_only=field in fixed))
    return params


PARAMS = NODE_PARAMS + breaker_params()
BREAKER_NAMES = frozenset(p.name for p in PARAMS if '.' in p.name)
LIVE = frozenset(p.name for p in PARAMS if not p.read_only)
