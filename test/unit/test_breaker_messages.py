"""Breaker states and the live source survive the trip through diagnostic_msgs."""

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from robo_edge.breakers.breaker import BreakerStatus
from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import BreakerState, Source, Trip, TripReason
from robo_edge.ros.breaker_messages import breakers_array, read_selection, read_states
from robo_edge.ros.diagnostics import status_level


def test_round_trip_of_states_levels_and_selection() -> None:
    trip = Trip(TripReason.SILENCE, 'no message for 400 ms', 4_300_000_000)
    statuses = {
        Source.LIDAR: BreakerStatus(Source.LIDAR, BreakerState.OPEN, 4_300_000_000, True, trip,
                                    3),
        Source.IMU: BreakerStatus(Source.IMU, BreakerState.HALF_OPEN, 0, False, None, 1),
        Source.ODOMETRY: BreakerStatus(Source.ODOMETRY, BreakerState.CLOSED, 0, False, None, 0),
    }
    selection = Selection(Source.PERCEPTION, 4_300_000_000, Source.LIDAR, True, True)
    array = breakers_array(statuses, selection, {'fallback_slots': '7'}, 5_000_000_000)
    assert read_states(array) == {s: st.state for s, st in statuses.items()}
    back = read_selection(array)
    assert (back.source, back.previous, back.fallback) == (Source.PERCEPTION, Source.LIDAR,
                                                           True)
    levels = {s.name: status_level(s) for s in array.status}
    assert levels['robo_edge/breaker/lidar'] == 2 and levels['robo_edge/breaker/imu'] == 1
    assert levels['robo_edge/sensor_guard'] == 1  # on a fallback: WARN
    lidar = next(s for s in array.status if s.name == 'robo_edge/breaker/lidar')
    assert 'latched until reset' in lidar.message and 'silence' in lidar.message


def test_unknown_names_and_states_are_ignored() -> None:
    junk = DiagnosticArray(status=[
        DiagnosticStatus(name='robo_edge/breaker/sonar', values=[KeyValue(key='state',
                                                                         value='open')]),
        DiagnosticStatus(name='robo_edge/breaker/lidar', values=[KeyValue(key='state',
                                                                         value='melted')]),
        DiagnosticStatus(name='someone/else')])
    assert read_states(junk) == {}
    assert read_selection(junk) is None
