"""Scenario files: shipped ones load; malformed ones name the file and key; scoring works."""

import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.control.script import DriveScript, DriveSegment
from robo_edge.exceptions import ConfigError, ScenarioError
from robo_edge.robot.kinematics import Velocity
from robo_edge.scenario.domains import lease_domain
from robo_edge.scenario.evaluate import evaluate, goals_reached
from robo_edge.scenario.junit import write_junit
from robo_edge.scenario.spec import load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / 'sim' / 'scenarios').glob('*.yaml'))
MINIMAL = {'name': 's', 'world': 'empty_room', 'start': [0, 0, 0], 'duration_s': 5}


@pytest.mark.parametrize('path', SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert (REPO / 'sim' / 'worlds' / f'{scenario.world_ref}.yaml').exists()


def test_defaults_of_a_minimal_scenario() -> None:
    scenario = parse_scenario(MINIMAL, 'mem')
    assert scenario.clock_mode == 'lockstep'
    assert scenario.expect.collisions == 0
    assert scenario.goals == () and scenario.faults == ()


@pytest.mark.parametrize('change, key', [
    ({'start': [0, 0]}, 'start'),
    ({'duration_s': -1}, 'duration_s'),
    ({'seed': 'x'}, 'seed'),
    ({'name': 'a b'}, 'name'),
    ({'goals': [[1, 2]]}, 'goals.0'),
    ({'drive': [{'for_s': 0, 'linear': 1}]}, 'drive[0].for_s'),
    ({'drive': [{'for_s': 1, 'speed': 1}]}, 'drive[0].speed'),
    ({'expect': {'goals_reached': 'some'}}, 'expect.goals_reached'),
    ({'expect': {'colisions': 0}}, 'expect.colisions'),
    ({'clock_mode': 'fast'}, 'clock_mode'),
    ({'twin': {'scan.rate': 10}}, 'twin.scan.rate'),
    ({'world': 42}, 'world'),
    ({'faults': [{'type': 'silence'}]}, 'faults[0].target'),
    ({'unknown': 1}, 'unknown'),
])
def test_malformed_scenario_names_the_key(change: dict, key: str) -> None:
    with pytest.raises(ScenarioError) as error:
        parse_scenario({**MINIMAL, **change}, 'scenarios/bad.yaml')
    assert f'"{key}"' in str(error.value)
    assert 'scenarios/bad.yaml' in str(error.value)


def test_inline_world_is_validated() -> None:
    with pytest.raises(ConfigError, match='inline world'):
        parse_scenario({**MINIMAL, 'world': {'name': 'w', 'obstacles': [{'type': 'x'}]}}, 'f')


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(MINIMAL) + ['goals', 'drive', 'expect']),
                       st.none() | st.integers() | st.text(max_size=3)
                       | st.lists(st.floats(allow_nan=True), max_size=4)))
def test_any_document_is_a_scenario_or_a_scenario_error(document: dict) -> None:
    try:
        parse_scenario({**MINIMAL, **document}, 'fuzz.yaml')
    except ScenarioError as e:
        assert 'fuzz.yaml' in str(e)


def test_drive_script_segments_and_flat_round_trip() -> None:
    script = DriveScript([DriveSegment(1.0, 0.5, 0.0), DriveSegment(2.0, 0.0, 1.0)])
    assert script.command_at(0.0).linear == 0.5
    assert script.command_at(1.0).angular == 1.0
    assert script.command_at(3.0).linear == 0.0 and script.command_at(3.0).angular == 0.0
    again = DriveScript.from_flat(script.to_flat())
    assert again.segments == script.segments
    with pytest.raises(Exception, match='segments'):
        DriveScript.from_flat([1.0, 2.0])


def test_drive_script_commands_zero_before_its_start() -> None:
    script = DriveScript([DriveSegment(1.0, 0.5, 0.2)])
    for t_s in (-1e-9, -0.5, -100.0, math.nan):
        assert script.command_at(t_s) == Velocity()
    assert script.command_at(0.0) == Velocity(0.5, 0.2)


def test_goals_are_reached_in_order_within_tolerance() -> None:
    scenario = parse_scenario({**MINIMAL, 'goals': [[1, 0, 0], [2, 0, 0]]}, 'mem')
    out_of_order = [(0.0, 2.0, 0.0, 0.0), (1.0, 1.0, 0.0, 0.0)]
    assert goals_reached(scenario, out_of_order) == [1.0]
    in_order = [(0.0, 1.1, 0.0, 0.1), (1.0, 1.9, 0.1, 0.0)]
    assert goals_reached(scenario, in_order) == [0.0, 1.0]
    wrong_heading = [(0.0, 1.0, 0.0, 3.0)]
    assert goals_reached(scenario, wrong_heading) == []


def test_evaluate_lists_every_failed_expectation() -> None:
    scenario = parse_scenario({**MINIMAL, 'goals': [[5, 5, 0]], 'expect': {
        'collisions': 0, 'goals_reached': 'all', 'min_clearance_m': 0.3,
        'max_path_length_m': 1.0}}, 'mem')
    record = {'outcome': 'completed', 'collisions': [{'contact': [0, 0]}],
              'trajectory': [(0.0, 0.0, 0.0, 0.0)], 'min_clearance_m': 0.1,
              'path_length_m': 3.0}
    verdict = evaluate(scenario, record)
    assert not verdict.passed
    keys = sorted(f.split(':')[0] for f in verdict.failures)
    assert keys == ['collisions', 'goals_reached', 'max_path_length_m', 'min_clearance_m']
    good = {**record, 'collisions': [], 'trajectory': [(1.0, 5.0, 5.0, 0.0)],
            'min_clearance_m': 0.5, 'path_length_m': 0.5}
    assert evaluate(scenario, good).passed


def test_lockstep_timeout_outcome_fails_the_run() -> None:
    scenario = parse_scenario(MINIMAL, 'mem')
    verdict = evaluate(scenario, {'outcome': 'lockstep_timeout', 'error': 'no /cmd_vel'})
    assert not verdict.passed and 'lockstep_timeout' in verdict.failures[0]


def test_junit_counts_failures(tmp_path: Path) -> None:
    path = tmp_path / 'junit.xml'
    write_junit(path, 'suite', [
        {'name': 'a', 'passed': True, 'failures': [], 'wall_time_s': 1.0},
        {'name': 'b', 'passed': False, 'failures': ['collisions: 2'], 'wall_time_s': 2.0},
    ])
    root = ElementTree.parse(path).getroot()
    assert root.get('tests') == '2' and root.get('failures') == '1'
    assert root.find("testcase[@name='b']/failure").text == 'collisions: 2'


def test_domain_leases_are_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv('ROBO_EDGE_DOMAIN_LOCKS', str(tmp_path))
    with lease_domain() as first, lease_domain() as second:
        assert first.domain_id != second.domain_id
    with lease_domain(avoid={1}) as third:
        assert third.domain_id != 1


def test_world_path_relative_to_the_scenario_file(tmp_path: Path) -> None:
    from robo_edge.scenario.stack import world_file

    (tmp_path / 'worlds').mkdir()
    source = REPO / 'sim' / 'worlds' / 'empty_room.yaml'
    (tmp_path / 'worlds' / 'mine.yaml').write_text(source.read_text())
    scenario_file = tmp_path / 'mine.yaml'
    scenario_file.write_text(yaml.safe_dump({**MINIMAL, 'world': 'worlds/mine.yaml'}))
    resolved = world_file(load_scenario(scenario_file), tmp_path)
    assert resolved == (tmp_path / 'worlds' / 'mine.yaml').resolve()


def test_goals_and_drive_are_exclusive() -> None:
    with pytest.raises(ScenarioError, match='"drive"'):
        parse_scenario({**MINIMAL, 'goals': [[1, 0, 0]],
                        'drive': [{'for_s': 1, 'linear': 1}]}, 'mem')


def test_reported_goal_failures_are_checked() -> None:
    scenario = parse_scenario({**MINIMAL, 'goals': [[1, 0, 0], [9, 9, 0]],
                               'expect': {'goals_failed': [1]}}, 'mem')
    record = {'outcome': 'completed', 'trajectory': [], 'planner_goals': [
        {'index': 0, 'outcome': 'reached'}, {'index': 1, 'outcome': 'failed'}]}
    assert evaluate(scenario, record).passed
    record['planner_goals'][1]['outcome'] = 'pending'
    verdict = evaluate(scenario, record)
    assert not verdict.passed and verdict.failures[0].startswith('goals_failed')
    with pytest.raises(ScenarioError, match='goals_failed'):
        parse_scenario({**MINIMAL, 'expect': {'goals_failed': ['x']}}, 'mem')


def test_navigation_bringup_replaces_the_script(tmp_path: Path) -> None:
    from robo_edge.scenario.stack import node_parameters, required_subscribers

    scenario = parse_scenario({**MINIMAL, 'start': [1, 2, 0.5], 'goals': [[3, 4, 0]]}, 'mem')
    params = node_parameters(scenario, tmp_path / 'w.yaml', tmp_path / 'r.json', None,
                             tmp_path / 'p.json')
    assert 'drive_script' not in params
    planner = params['planner']['ros__parameters']
    assert planner['goals'] == [3.0, 4.0, 0.0] and planner['initial_pose'] == [1.0, 2.0, 0.5]
    assert required_subscribers(False, False, True) == ['/scan:1', '/imu/data:1', '/odom:4']
    guard = params['sensor_guard']['ros__parameters']
    # The camera renders by default, so the camera and perception breakers run too.
    assert guard['sources'] == ['lidar', 'imu', 'odometry', 'controller', 'camera', 'perception']
    blind = parse_scenario({**MINIMAL, 'goals': [[3, 4, 0]], 'twin': {'camera.rate_hz': 0}},
                           'mem')
    blind_params = node_parameters(blind, tmp_path / 'w.yaml', tmp_path / 'r.json', None,
                                   tmp_path / 'p.json')
    assert 'perception' not in blind_params['sensor_guard']['ros__parameters']['sources']
    assert guard['events_path'].endswith('breaker_events.jsonl')
    assert 'mode_manager' in params
    assert required_subscribers(True, True, False)[-2:] == ['/odom:1', '/twin/ground_truth:1']


def test_parameter_file_has_no_yaml_aliases(tmp_path: Path) -> None:
    from robo_edge.scenario.runner import NoAliasDumper
    from robo_edge.scenario.stack import node_parameters

    scenario = parse_scenario({**MINIMAL, 'goals': [[3, 4, 0]]}, 'mem')
    params = node_parameters(scenario, tmp_path / 'w.yaml', tmp_path / 'r.json', None,
                             tmp_path / 'p.json')
    text = yaml.dump(params, Dumper=NoAliasDumper)
    assert '&id' not in text and '*id' not in text  # rcl cannot parse YAML aliases


def test_localization_errors_compare_poses_with_the_truth_at_the_same_stamps() -> None:
    from robo_edge.scenario.evaluate import localization_errors

    trajectory = [(0.95, 9.0, 9.0, 0.0), (1.0, 1.0, 2.0, 0.1), (2.0, 3.0, 4.0, -3.1)]
    poses = [[1.0, 1.03, 2.04, 0.1, 1.0, 2.5, 0.2], [2.0, 3.0, 4.0, 3.1, 3.0, 4.0, -3.1],
             [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]  # no truth at 3 s: not compared
    errors = localization_errors(trajectory, poses)
    assert errors['samples'] == 2
    assert errors['localized']['xy_max_m'] == pytest.approx(0.05)
    assert errors['localized']['xy_last_m'] == pytest.approx(0.0)
    assert errors['localized']['yaw_max_rad'] == pytest.approx(2 * math.pi - 6.2)
    assert errors['dead_reckoning']['xy_max_m'] == pytest.approx(0.5)
