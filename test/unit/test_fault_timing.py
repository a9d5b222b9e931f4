"""Fault detection and reaction from the breaker/mode timeline, and the chaos expectations."""

import pytest

from robo_edge.exceptions import ScenarioError
from robo_edge.scenario.evaluate import evaluate
from robo_edge.scenario.fault_timing import (
    breaker_trips,
    highest_mode,
    time_fault,
    time_faults,
)
from robo_edge.scenario.spec import parse_scenario

SILENCE = {'index': 0, 'type': 'silence', 'target': 'lidar', 'start_s': 4.0, 'duration_s': 6.0,
           'affected': 60, 'first_affected_s': 4.0, 'last_affected_s': 9.9}
EVENTS = [
    {'t': 2.5, 'kind': 'breaker', 'source': 'imu', 'state': 'open'},  # before: not this fault
    {'t': 4.3, 'kind': 'breaker', 'source': 'camera', 'state': 'open'},  # not its source
    {'t': 4.35, 'kind': 'breaker', 'source': 'lidar', 'state': 'open'},
    {'t': 4.35, 'kind': 'source', 'source': 'perception', 'fallback': True},
    {'t': 4.35, 'kind': 'mode', 'mode': 'DEGRADED'},
    {'t': 12.0, 'kind': 'breaker', 'source': 'lidar', 'state': 'closed'},
]


def test_detection_is_the_first_opening_of_the_faults_breaker_after_injection() -> None:
    timed = time_fault(SILENCE, EVENTS)
    assert timed['detected_s'] == 4.35 and timed['detected_by'] == 'lidar'
    assert timed['detect_latency_s'] == pytest.approx(0.35)
    assert timed['reaction'] == 'obstacles from perception'
    assert timed['react_latency_s'] == pytest.approx(0.35)


def test_a_fault_that_changed_nothing_is_not_timed() -> None:
    timed = time_fault({**SILENCE, 'affected': 0, 'first_affected_s': None}, EVENTS)
    assert timed['injected_s'] is None and timed['detected_s'] is None


def test_an_unknown_kill_target_is_detected_by_any_breaker() -> None:
    kill = {'type': 'kill', 'target': 'mystery_node', 'start_s': 4.0, 'affected': 1,
            'first_affected_s': 4.0}
    assert time_fault(kill, EVENTS)['detected_by'] == 'camera'


def test_modes_and_trips_of_a_timeline() -> None:
    assert highest_mode(EVENTS) == 'DEGRADED'
    assert highest_mode([]) == 'NOMINAL'
    assert breaker_trips(EVENTS) == 3


def scenario(**expect: object):
    return parse_scenario({'name': 's', 'world': 'empty_room', 'start': [0, 0, 0],
                           'duration_s': 20, 'expect': {'collisions': 0, **expect}}, 'mem')


def record(timing: list[dict], events: list[dict]) -> dict:
    return {'outcome': 'completed', 'collisions': [], 'trajectory': [],
            'fault_timing': timing, 'highest_mode': highest_mode(events),
            'breaker_trips': breaker_trips(events)}


def test_expectations_on_detection_reaction_and_modes() -> None:
    timed = [time_fault(SILENCE, EVENTS)]
    assert evaluate(scenario(detect_within_s=0.4, react_within_s=0.4, max_mode='DEGRADED',
                             min_mode='DEGRADED'), record(timed, EVENTS)).passed
    failures = evaluate(scenario(detect_within_s=0.3, max_mode='NOMINAL', max_breaker_trips=0),
                        record(timed, EVENTS)).failures
    assert any('silence on lidar at 4.00 s: detected after 0.350 s' in f for f in failures)
    assert any(f.startswith('max_mode') for f in failures)
    assert any(f.startswith('max_breaker_trips') for f in failures)
    unseen = [time_fault(SILENCE, [])]
    failures = evaluate(scenario(detect_within_s=1.0, min_mode='SAFE_STOP'),
                        record(unseen, [])).failures
    assert any('detected never' in f for f in failures)
    assert any(f.startswith('min_mode') for f in failures)


def test_a_kill_that_found_no_process_fails_the_run() -> None:
    kill = {'type': 'kill', 'target': 'mode_manager', 'start_s': 4.0, 'affected': 0,
            'first_affected_s': None, 'not_injected': 'no running mode_manager process at 4.00 s'}
    failures = evaluate(scenario(), record([time_fault(kill, EVENTS)], EVENTS)).failures
    assert failures == ['kill on mode_manager at 4.00 s: not injected '
                        '(no running mode_manager process at 4.00 s)']
    assert evaluate(scenario(), record([time_fault(SILENCE, EVENTS)], EVENTS)).passed
    pending = {**kill, 'not_injected': None}  # the agent never acted on it
    failures = evaluate(scenario(), {**record([time_fault(pending, [])], []),
                                     'sim_time_s': 20.0}).failures
    assert failures == ['kill on mode_manager at 4.00 s: not injected (simulated time reached '
                        '20.00 s and the kill never came)']
    ended_first = {**record([time_fault(pending, [])], []), 'sim_time_s': 3.5}
    assert evaluate(scenario(), ended_first).passed


def test_bad_chaos_expectations_and_params_are_refused() -> None:
    with pytest.raises(ScenarioError, match='max_mode'):
        scenario(max_mode='PANIC')
    with pytest.raises(ScenarioError, match='params'):
        parse_scenario({'name': 's', 'world': 'empty_room', 'start': [0, 0, 0],
                        'duration_s': 5, 'params': {'not_a_node': {'x': 1}}}, 'mem')
    tuned = parse_scenario({'name': 's', 'world': 'empty_room', 'start': [0, 0, 0],
                            'duration_s': 5,
                            'params': {'sensor_guard': {'monitor': 'baseline'}}}, 'mem')
    assert tuned.node_params == {'sensor_guard': {'monitor': 'baseline'}}


def test_a_lying_camera_is_detected_by_the_perception_breaker_and_blame_is_checked():
    fault = {'type': 'lie', 'target': 'camera', 'affected': 30, 'first_affected_s': 4.0}
    events = [{'t': 5.7, 'kind': 'breaker', 'source': 'perception', 'state': 'open'}]
    timed = time_fault(fault, events)
    assert timed['detected_by'] == 'perception' and timed['blamed_right'] is True
    assert abs(timed['detect_latency_s'] - 1.7) < 1e-9
    wrong = [{'t': 4.5, 'kind': 'breaker', 'source': 'lidar', 'state': 'open'}]
    timed = time_fault(fault, wrong)
    assert timed['blamed'] == 'lidar' and timed['blamed_right'] is False
    assert timed['detected_s'] is None


def test_a_lying_camera_beside_a_lidar_outage_is_blamed_apart_from_it() -> None:
    lie = {'index': 1, 'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'start_s': 4.0,
           'duration_s': 6.0, 'affected': 90, 'first_affected_s': 4.0}
    events = [{'t': 4.35, 'kind': 'breaker', 'source': 'lidar', 'state': 'open'},
              {'t': 5.1, 'kind': 'breaker', 'source': 'perception', 'state': 'open'}]
    assert time_fault(lie, events)['blamed'] == 'lidar'  # alone, the outage's trip comes first
    silence, camera = time_faults([SILENCE, lie], events)
    assert (silence['blamed'], silence['blamed_right']) == ('lidar', True)
    assert (camera['blamed'], camera['blamed_right']) == ('perception', True)
    assert camera['detected_by'] == 'perception'
    # Had only the LiDAR's breaker opened, the camera's lie is not blamed on anyone.
    assert time_faults([SILENCE, lie], events[:1])[1]['blamed'] is None
