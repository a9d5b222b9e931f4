"""sensor_guard's parameters: its own, and one per breaker, model, cross-check and vote setting."""

import math
from typing import Any

from robo_edge.breakers.breaker import default_config
from robo_edge.breakers.cross_check import ScanCheckConfig, YawCheckConfig
from robo_edge.breakers.faults import Source
from robo_edge.breakers.model_health import ModelHealthConfig
from robo_edge.breakers.params import describe, to_params
from robo_edge.breakers.votes import VoteConfig
from robo_edge.ros.params import Param
from robo_edge.ros.readiness import REQUIRED_READERS_DOC

NODE_PARAMS = [
    Param('tick_source', 'clock', 'clock: answer each /clock tick; timer: own wall timer'),
    Param('rate_hz', 50.0, 'Tick rate with tick_source timer: how finely silence is '
          'timed (a fallback goes live within one tick of its breaker opening)', 1.0, 200.0),
    Param('scan_rate_hz', 10.0, 'LiDAR rate: /safety/scan goes out on its schedule', 0.1, 100.0),
    Param('input_wait_s', 0.75, 'Wall time a tick waits for the samples due of trusted streams '
          '(lockstep: the LiDAR at its slots, IMU and odometry at every tick)', 0.0, 10.0),
    Param('sources', [s.value for s in Source], 'Breakers run and reported (others ignored)'),
    Param('monitor', 'breakers', 'breakers, or baseline (rate and 1 s timeout only, no '
          'fallback: the anchors, for side-by-side benchmarks)'),
    Param('max_nan_fraction', 0.5, 'A scan with more NaN beams than this is invalid', 0.0, 1.0),
    Param('max_virtual_age_s', 0.3, 'Oldest virtual scan used as the fallback (sim s)',
          0.0, 10.0),
    Param('laser_offset', [0.0, 0.0, 0.0], 'Laser mount in base_link [x, y, yaw]'),
    Param('lidar_topic', '/sensors/scan', 'Validated LiDAR scans'),
    Param('virtual_topic', '/perception/scan', 'Perception virtual scans (base_link)'),
    Param('union_range_m', 1.0, 'With the LiDAR live and perception healthy, camera returns '
          'nearer than the LiDAR within this range join /safety/scan (0: off)', 0.0, 10.0),
    Param('map_topic', '/map', "Map for the cross-check map vote (the mapper's; empty: no "
          'map vote)'),
    Param('events_path', '', 'JSON-lines file of breaker and source changes; empty: none'),
    Param('diagnostics_period_s', 1.0, 'Period of /diagnostics (steady clock)', 0.05, 60.0),
    Param('required_readers', [''], REQUIRED_READERS_DOC),
]


def breaker_params() -> list[Param]:
    """Return a Param per breaker, model, cross-check setting (defaults from the cores)."""
    sections: list[tuple[str, Any]] = [(s.value, default_config(s)) for s in Source]
    sections += [('model', ModelHealthConfig()), ('scan_check', ScanCheckConfig()),
                 ('yaw_check', YawCheckConfig()), ('votes', VoteConfig())]
    params = []
    for prefix, config in sections:
        docs = describe(type(config))
        for key, value in to_params(config, prefix).items():
            doc, low, high = docs[key.split('.', 1)[1]]
            bounded = isinstance(value, int | float) and not isinstance(value, bool)
            params.append(Param(key, float(value) if isinstance(value, float) else value, doc,
                                low if bounded and math.isfinite(low) else None,
                                high if bounded and math.isfinite(high) else None))
    return params
