"""Breaker states and the live obstacle source as diagnostic_msgs, both ways.

sensor_guard publishes one DiagnosticStatus per breaker (`robo_edge/breaker/<source>`: OK when
CLOSED, WARN when HALF_OPEN, ERROR when OPEN) and one for the guard itself holding the live
source; mode_manager reads them back. The same array goes to `/diagnostics` for operators.
"""

from collections.abc import Mapping

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from robo_edge.breakers.breaker import BreakerStatus
from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import BreakerState, Source
from robo_edge.exceptions import ConfigError
from robo_edge.ros.diagnostics import status_values, to_array

BREAKER_PREFIX = 'robo_edge/breaker/'
GUARD_STATUS = 'robo_edge/sensor_guard'
OK, WARN, ERROR = 0, 1, 2
LEVELS = {BreakerState.CLOSED: OK, BreakerState.HALF_OPEN: WARN, BreakerState.OPEN: ERROR}


def breaker_status(status: BreakerStatus) -> DiagnosticStatus:
    """Return the DiagnosticStatus of one breaker."""
    trip = status.last_trip
    message = status.state.value + (f' ({trip.text()})' if trip and not status.closed else '')
    if status.latched:
        message += ', latched until reset'
    values = {
        'state': status.state.value, 'since_ns': str(status.since_ns),
        'latched': str(status.latched).lower(), 'trips': str(status.trips),
        'last_trip': trip.text() if trip else '',
        'last_trip_ns': str(trip.time_ns) if trip else '',
    }
    return DiagnosticStatus(
        level=bytes([LEVELS[status.state]]), name=BREAKER_PREFIX + status.source.value,
        message=message, hardware_id=status.source.value,
        values=[KeyValue(key=k, value=v) for k, v in values.items()])


def guard_status(selection: Selection, extra: Mapping[str, str]) -> DiagnosticStatus:
    """Return the guard's own status: the live obstacle source and counters."""
    level = ERROR if selection.source is None else WARN if selection.fallback else OK
    values = {'source': selection.name, 'since_ns': str(selection.since_ns),
              'fallback': str(selection.fallback).lower(),
              'previous': 'none' if selection.previous is None else selection.previous.value,
              **extra}
    return DiagnosticStatus(
        level=bytes([level]), name=GUARD_STATUS, hardware_id='sensor_guard',
        message=f'obstacles from {selection.name}',
        values=[KeyValue(key=k, value=v) for k, v in values.items()])


def breakers_array(statuses: Mapping[Source, BreakerStatus], selection: Selection,
                   extra: Mapping[str, str], stamp_ns: int) -> DiagnosticArray:
    """Return every breaker and the guard's status in one array stamped `stamp_ns`."""
    items = [breaker_status(statuses[s]) for s in Source if s in statuses]
    return to_array([*items, guard_status(selection, extra)], stamp_ns)


def breaker_names(names: list[str], source: str, key: str) -> list[str]:
    """Return breaker status names (`robo_edge/breaker/<source>`); ConfigError for another."""
    known = [BREAKER_PREFIX + s.value for s in Source]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(source, key, f'breaker statuses among {known}', unknown)
    return list(names)


def read_states(array: DiagnosticArray) -> dict[Source, BreakerState]:
    """Return the breaker states an array reports (sources it does not report are absent)."""
    states: dict[Source, BreakerState] = {}
    for status in array.status:
        if status.name.startswith(BREAKER_PREFIX):
            try:
                source = Source(status.name[len(BREAKER_PREFIX):])
                states[source] = BreakerState(status_values(status).get('state', ''))
            except ValueError:
                continue
    return states


def read_selection(array: DiagnosticArray) -> Selection | None:
    """Return the live obstacle source an array reports, None when it holds no guard status."""
    for status in array.status:
        if status.name == GUARD_STATUS:
            values = status_values(status)
            return Selection(_source(values.get('source')), int(values.get('since_ns', '0')),
                             _source(values.get('previous')), False,
                             values.get('fallback') == 'true')
    return None


def _source(name: str | None) -> Source | None:
    try:
        return Source(name)
    except ValueError:
        return None
