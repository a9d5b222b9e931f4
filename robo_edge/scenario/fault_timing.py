"""Each injected fault's detection and reaction, from the breaker and mode timeline (pure).

- injected: the simulated time of the first reading the fault changed (or of the kill);
- detected: the first breaker of the fault's source (any breaker when the target maps to
  none) that opened at or after injection;
- reacted: the first change after injection that protects the robot: a fallback obstacle
  source went live, or the mode left NOMINAL (a speed cap or a stop was commanded).
A fault that changed nothing (a drop that dropped nothing, a kill never reached) is not timed.
"""

from collections.abc import Sequence

# The breaker that should see a fault on each target (kill targets are node names).
SOURCE_OF_TARGET = {
    'lidar': 'lidar', 'camera': 'camera', 'imu': 'imu', 'odom': 'odometry',
    'lidar_ingest': 'lidar', 'camera_ingest': 'camera', 'imu_ingest': 'imu',
    'perception': 'perception', 'controller': 'controller',
}
# A lying camera is caught on what the model makes of its frames: the perception breaker.
SOURCES_OF_LIE = {'camera': ('camera', 'perception')}
MODES = ('NOMINAL', 'DEGRADED', 'SAFE_STOP')


def expected_sources(fault: dict) -> tuple[str, ...] | None:
    """Return the breakers that may rightly open for a fault (None: any)."""
    target = str(fault.get('target'))
    if fault.get('type') == 'lie' and target in SOURCES_OF_LIE:
        return SOURCES_OF_LIE[target]
    source = SOURCE_OF_TARGET.get(target)
    return None if source is None else (source,)


def injected_at(fault: dict) -> float | None:
    """Return when a fault first changed something (None: it changed nothing)."""
    if not fault.get('affected'):
        return None
    first = fault.get('first_affected_s')
    return float(first) if first is not None else None


def _first(events: Sequence[dict], after: float, wanted: callable) -> dict | None:
    return next((e for e in events if e['t'] >= after - 1e-9 and wanted(e)), None)


def time_fault(fault: dict, events: Sequence[dict],
               explained: Sequence[str] = ()) -> dict:
    """Return the fault with `injected_s`, `detected_s`, `detected_by`, `reacted_s`, latencies.

    `blamed` is the first breaker that opened at or after injection, and `blamed_right`
    whether it is one the fault should open (None: nothing opened). Breakers in `explained`
    (those other faults of the run should open: a LiDAR outage beside a lying camera) are
    not blamed for this one, unless this fault should open them too.
    """
    start = injected_at(fault)
    out = {**fault, 'injected_s': start, 'detected_s': None, 'detected_by': None,
           'reacted_s': None, 'reaction': None, 'detect_latency_s': None,
           'react_latency_s': None, 'blamed': None, 'blamed_right': None}
    if start is None:
        return out
    sources = expected_sources(fault)
    others = set(explained) - set(sources or ())
    first = _first(events, start, lambda e: e.get('kind') == 'breaker'
                   and e.get('state') == 'open' and e.get('source') not in others)
    if first is not None:
        out.update(blamed=first['source'],
                   blamed_right=sources is None or first['source'] in sources)
    opened = _first(events, start, lambda e: e.get('kind') == 'breaker'
                    and e.get('state') == 'open'
                    and (sources is None or e.get('source') in sources))
    if opened is not None:
        out.update(detected_s=opened['t'], detected_by=opened['source'],
                   detect_latency_s=opened['t'] - start)
    reaction = _first(events, start, _protective)
    if reaction is not None:
        what = (f'obstacles from {reaction["source"]}' if reaction['kind'] == 'source'
                else f'mode {reaction["mode"]}')
        out.update(reacted_s=reaction['t'], reaction=what,
                   react_latency_s=reaction['t'] - start)
    return out


def time_faults(faults: Sequence[dict], events: Sequence[dict]) -> list[dict]:
    """Return every fault of a run timed, each blamed apart from what the others explain."""
    timed = []
    for index, fault in enumerate(faults):
        explained = [source for other in faults[:index] + faults[index + 1:]
                     for source in (expected_sources(other) or ())]
        timed.append(time_fault(fault, events, explained))
    return timed


def _protective(event: dict) -> bool:
    if event.get('kind') == 'source':
        return bool(event.get('fallback')) or event.get('source') == 'none'
    return event.get('kind') == 'mode' and event.get('mode') != 'NOMINAL'


def highest_mode(events: Sequence[dict]) -> str:
    """Return the most severe mode the run entered (NOMINAL when none was logged)."""
    seen = [MODES.index(e['mode']) for e in events
            if e.get('kind') == 'mode' and e.get('mode') in MODES]
    return MODES[max(seen, default=0)]


def breaker_trips(events: Sequence[dict]) -> int:
    """Return how many times any breaker opened."""
    return sum(1 for e in events if e.get('kind') == 'breaker' and e.get('state') == 'open')
