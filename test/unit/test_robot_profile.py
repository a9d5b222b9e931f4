"""The robot profile: one file, the parameters it gives every node, and where it applies."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from robo_edge.breakers.guard import GuardConfig
from robo_edge.breakers.params import to_params
from robo_edge.exceptions import BringupError, ConfigError, ResourceNotFound
from robo_edge.nodes import (
    camera_ingest,
    controller,
    imu_ingest,
    lidar_ingest,
    live_view,
    mapper,
    perception,
)
from robo_edge.nodes import frames as frames_node
from robo_edge.nodes import twin as twin_node
from robo_edge.nodes._ingest_base import common_params
from robo_edge.robot.profile import (
    check_twin_can_play,
    load_profile,
    node_parameters,
    parse_profile,
)
from robo_edge.ros import gate_params, guard_params, planner_params
from robo_edge.scenario import stack
from robo_edge.scenario.spec import parse_scenario
from robo_edge.supervisor.bringup import load_bringup, parse_bringup

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / 'config' / 'robot'
SHIPPED = sorted(PROFILES.glob('*.yaml'))


def declared() -> dict[str, dict[str, object]]:
    """Return every node's declared parameters and their defaults."""
    def defaults(params):
        return {p.name: p.default for p in params}

    def ingest(module):
        return defaults(common_params(module.SPEC) + module.EXTRA_PARAMS)

    guard = GuardConfig()
    breakers = {}
    for source, config in guard.breakers.items():
        breakers.update(to_params(config, source.value))
    return {
        'twin': defaults(twin_node.PARAMS),
        'lidar_ingest': ingest(lidar_ingest), 'camera_ingest': ingest(camera_ingest),
        'imu_ingest': ingest(imu_ingest), 'perception': defaults(perception.PARAMS),
        'sensor_guard': {**defaults(guard_params.NODE_PARAMS), **breakers},
        'mapper': defaults(mapper.PARAMS), 'planner': defaults(planner_params.PARAMS),
        'controller': defaults(controller.PARAMS), 'safety_gate': defaults(gate_params.PARAMS),
        'frames': defaults(frames_node.PARAMS), 'live_view': defaults(live_view.PARAMS),
    }


def test_three_robots_ship_and_each_value_lands_on_a_declared_parameter() -> None:
    assert {p.stem for p in SHIPPED} >= {'default', 'fast_lidar', 'slow_wide'}
    nodes = declared()
    for path in SHIPPED:
        for node, values in node_parameters(load_profile(path)).items():
            unknown = set(values) - set(nodes[node])
            assert not unknown, (path.name, node, unknown)


def test_the_default_robot_is_what_every_node_and_the_twin_default_to() -> None:
    # A node started without the profile (a bare `ros2 run`) still behaves as the default robot.
    nodes = declared()
    for node, values in node_parameters(load_profile(PROFILES / 'default.yaml')).items():
        for name, value in values.items():
            assert nodes[node][name] == pytest.approx(value), (node, name)


def test_the_default_mounts_are_the_twins_urdf() -> None:
    urdf = ET.parse(REPO / 'sim' / 'robot' / 'diff_drive.urdf').getroot()
    joints = {j.get('name'): j.find('origin') for j in urdf.iter('joint')}
    camera = next(o for n, o in joints.items() if 'camera' in n)
    profile = load_profile(PROFILES / 'default.yaml')
    assert profile.camera.xyz == pytest.approx([float(v) for v in camera.get('xyz').split()])
    assert profile.camera.rpy == pytest.approx([float(v) for v in camera.get('rpy').split()])


def test_the_rates_of_another_robot_reach_the_schedules_that_wait_for_them() -> None:
    fast = node_parameters(load_profile(PROFILES / 'fast_lidar.yaml'))
    assert fast['twin']['scan.rate_hz'] == 15 and fast['twin']['scan.beams'] == 720
    assert fast['twin']['camera.rate_hz'] == 30
    for node in ('sensor_guard', 'controller', 'safety_gate'):
        assert fast[node]['scan_rate_hz'] == 15.0, node
    assert fast['sensor_guard']['lidar.nominal_rate_hz'] == 15.0
    assert fast['lidar_ingest']['nominal_rate_hz'] == 15.0
    slow = node_parameters(load_profile(PROFILES / 'slow_wide.yaml'))
    assert slow['planner']['robot_radius'] == slow['safety_gate']['robot_radius'] == 0.25
    assert slow['controller']['control_period_s'] == pytest.approx(1 / 15)
    assert slow['safety_gate']['max_linear'] == slow['twin']['limits.max_linear'] == 0.5


def test_a_malformed_profile_names_the_key() -> None:
    good = yaml.safe_load((PROFILES / 'default.yaml').read_text())
    for change, key in (({'lidar': {'rate_hz': 0}}, 'robot.lidar.rate_hz'),
                        ({'lidar': {'hz': 10}}, 'robot.lidar.hz'),
                        ({'footprint_radius': -1}, 'robot.footprint_radius')):
        doc = {'robot': {**good['robot'], **change}}
        with pytest.raises(ConfigError, match=key.replace('.', r'\.')):
            parse_profile(doc, 'bad.yaml')


def test_a_lidar_off_centre_suits_a_robot_but_not_the_twins_body() -> None:
    doc = yaml.safe_load((PROFILES / 'default.yaml').read_text())
    doc['robot']['lidar']['mount'] = [0.1, 0.0, 0.0]
    profile = parse_profile(doc, 'mounted.yaml')
    assert node_parameters(profile)['safety_gate']['laser_offset'] == [0.1, 0.0, 0.0]
    with pytest.raises(ConfigError, match=r'robot\.lidar\.mount'):
        check_twin_can_play(profile, 'mounted.yaml')


def test_a_bringup_gives_each_node_its_robot_values_under_its_own_overrides() -> None:
    bringup = load_bringup(REPO / 'config' / 'bringup' / 'ingest.yaml',
                           config_dirs=[REPO / 'config'])
    assert bringup.node('lidar_ingest').overrides['nominal_rate_hz'] == 10.0
    doc = {'bringup': {'name': 'b', 'robot': str(PROFILES / 'fast_lidar.yaml'), 'nodes': [
        {'name': 'lidar_ingest', 'executable': 'lidar_ingest',
         'overrides': {'nominal_rate_hz': 12.0}},
        {'name': 'sensor_guard', 'executable': 'sensor_guard'}]}}
    spec = parse_bringup(doc, 'mem', config_dirs=[REPO / 'config'])
    assert spec.node('lidar_ingest').overrides['nominal_rate_hz'] == 12.0  # its own wins
    assert spec.node('lidar_ingest').overrides['input_topic'] == '/scan'
    assert spec.node('sensor_guard').overrides['scan_rate_hz'] == 15.0
    doc['bringup']['robot'] = 'robot/nobody.yaml'
    with pytest.raises(BringupError, match='bringup.robot'):
        parse_bringup(doc, 'mem', config_dirs=[REPO / 'config'])


def test_a_scenario_runs_another_robot_and_its_own_tuning_still_wins(tmp_path: Path) -> None:
    doc = {'name': 's', 'world': 'empty_room', 'start': [0, 0, 0], 'duration_s': 5.0,
           'goals': [[1.0, 0.0, 0.0]], 'robot': 'fast_lidar',
           'params': {'safety_gate': {'robot_radius': 0.3}}}
    scenario = parse_scenario(doc, str(tmp_path / 's.yaml'))
    params = stack.node_parameters(scenario, tmp_path / 'w.yaml', tmp_path / 'r.json', None,
                                   tmp_path / 'p.json')
    assert params['twin']['ros__parameters']['scan.rate_hz'] == 15
    assert params['sensor_guard']['ros__parameters']['scan_rate_hz'] == 15.0
    assert params['safety_gate']['ros__parameters']['robot_radius'] == 0.3
    assert params['controller']['ros__parameters']['use_sim_time'] is True
    with pytest.raises(ResourceNotFound, match='nobody'):
        stack.robot_profile(parse_scenario({**doc, 'robot': 'nobody'}, 's.yaml'))
