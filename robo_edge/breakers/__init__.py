"""robo_edge.breakers: circuit breakers per source, cross-checks, fallback chain, modes (pure).

`breaker` (state machine and config), `detectors` (silence, stale, frozen, invalid),
`model_health`, `cross_check`, `fallback` (the obstacle source of /safety/scan), `mode`
(NOMINAL / DEGRADED / SAFE_STOP), `guard` (all of them together, and config loading),
`baseline` (a rate-and-timeout monitor with the same interface, for benchmarks).
"""

from robo_edge.breakers.breaker import Breaker, BreakerConfig, BreakerStatus, default_config
from robo_edge.breakers.faults import BreakerState, Fault, Source, Trip, TripReason
from robo_edge.breakers.mode import Mode, ModeConfig, ModeManager, ModeOutput

__all__ = [
    'Breaker', 'BreakerConfig', 'BreakerState', 'BreakerStatus', 'Fault', 'Mode', 'ModeConfig',
    'ModeManager', 'ModeOutput', 'Source', 'Trip', 'TripReason', 'default_config',
]
