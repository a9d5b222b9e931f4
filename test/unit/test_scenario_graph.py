"""The scenario graph is the robot bringup under the twin overlay: no second node list."""

from pathlib import Path

import pytest
import yaml

from robo_edge.scenario import graph
from robo_edge.scenario.spec import parse_scenario
from robo_edge.scenario.stack import bringup_document, node_parameters
from robo_edge.supervisor.bringup import load_bringup, parse_bringup

REPO = Path(__file__).resolve().parents[2]
ROBOT = REPO / 'config' / 'bringup' / 'robot.yaml'
MINIMAL = {'name': 's', 'world': 'empty_room', 'start': [0, 0, 0], 'duration_s': 5}
GOAL_RUN = {**MINIMAL, 'goals': [[3, 4, 0]]}
REQUIRED_ROBOT_NODES = {'lidar_ingest', 'camera_ingest', 'imu_ingest', 'perception',
                        'sensor_guard', 'mode_manager', 'mapper', 'planner', 'controller',
                        'safety_gate', 'frames', 'cloud_sync'}


def _graph(doc: dict, tmp_path: Path, record: bool = False) -> tuple[dict, dict]:
    """Return a scenario's bringup nodes by name and its parameters by node."""
    scenario = parse_scenario(doc, str(tmp_path / 'scenario.yaml'))
    params_file = tmp_path / 'params.yaml'
    params = node_parameters(scenario, tmp_path / 'w.yaml', tmp_path / 'r.json',
                             tmp_path / 'run.mcap' if record else None, tmp_path / 'p.json')
    params_file.write_text(yaml.safe_dump(params), encoding='utf-8')
    bringup = parse_bringup(bringup_document(scenario, params_file, record), 'scenario')
    return ({spec.name: spec for spec in bringup.nodes},
            {name: doc['ros__parameters'] for name, doc in params.items()})


def test_the_robot_bringup_declares_the_whole_robot_graph() -> None:
    bringup = load_bringup(ROBOT)
    assert set(bringup.names) == REQUIRED_ROBOT_NODES
    for name in ('controller', 'safety_gate', 'sensor_guard'):  # the wall clock: own timers
        assert bringup.node(name).overrides['tick_source'] == 'timer'
    assert not any(spec.overrides.get('use_sim_time') for spec in bringup.nodes)
    assert bringup.node('cloud_sync').overrides['gate_scenarios'] == ['']
    # The robot profile's values are in every node that has some.
    assert bringup.node('lidar_ingest').overrides['nominal_rate_hz'] == 10.0


def test_a_goal_run_has_every_node_and_parameter_of_the_robot_graph(tmp_path: Path) -> None:
    nodes, params = _graph(GOAL_RUN, tmp_path)
    robot = load_bringup(graph.robot_bringup_path())  # the installed file the runner reads
    assert graph.DROPPED_IN_TWIN == ('cloud_sync',)  # the only node a twin run leaves out
    for spec in robot.nodes:
        if spec.name in graph.DROPPED_IN_TWIN:
            assert spec.name not in nodes
            continue
        assert spec.name in nodes, f'{spec.name} of the robot bringup is not in the run'
        run = nodes[spec.name]
        assert run.executable == spec.executable
        assert set(spec.parameters) <= set(run.parameters), spec.name
        assert run.remappings == spec.remappings and run.restart == spec.restart
        missing = set(spec.overrides) - set(params[spec.name])
        assert not missing, f'{spec.name}: {sorted(missing)} missing from the run'
        assert params[spec.name]['use_sim_time'] is True
    assert nodes['twin'].exit_ends_bringup
    assert 'drive_script' not in nodes


def test_the_overlay_ticks_on_the_clock_and_keeps_the_robot_values(tmp_path: Path) -> None:
    _, params = _graph(GOAL_RUN, tmp_path)
    robot = load_bringup(graph.robot_bringup_path())
    for spec in robot.nodes:
        if spec.name in graph.DROPPED_IN_TWIN:
            continue
        for key, value in spec.overrides.items():
            if key == 'tick_source':
                assert params[spec.name][key] == 'clock'
            elif key not in ('use_sim_time',):
                assert params[spec.name][key] == value or key in _run_keys(spec.name), (
                    spec.name, key)


def _run_keys(node: str) -> set[str]:
    """Keys a goal run sets itself on top of the robot's (the run's own parameters)."""
    return {'mapper': {'initial_pose'}, 'planner': {'initial_pose'},
            'controller': {'initial_pose'}}.get(node, set())


def test_the_scenario_robot_replaces_the_bringup_robot(tmp_path: Path) -> None:
    _, params = _graph({**GOAL_RUN, 'robot': 'fast_lidar'}, tmp_path)
    assert params['lidar_ingest']['nominal_rate_hz'] == 15.0
    assert params['twin']['scan.rate_hz'] == 15.0


def test_a_scripted_run_keeps_the_sensing_nodes_and_adds_its_driver(tmp_path: Path) -> None:
    nodes, params = _graph({**MINIMAL, 'drive': [{'for_s': 1, 'linear': 0.2}]}, tmp_path)
    assert set(nodes) == {'twin', 'drive_script', *graph.OPEN_LOOP}
    assert params['drive_script']['output_topic'] == '/cmd_vel'
    awaited = params['twin']['required_ready']
    assert 'perception' not in awaited and 'lidar_ingest' in awaited


@pytest.mark.parametrize('record', [False, True])
def test_without_a_camera_its_nodes_go(tmp_path: Path, record: bool) -> None:
    nodes, params = _graph({**GOAL_RUN, 'twin': {'camera.rate_hz': 0}}, tmp_path, record)
    assert not set(graph.CAMERA_NODES) & set(nodes)
    assert ('recorder' in nodes) is record
    assert set(params['twin']['required_ready']) == (
        set(nodes) - {'twin', *graph.NOT_AWAITED})


def test_the_twin_overlay_of_robo_edge_up_keeps_the_robot_timers() -> None:
    from robo_edge.scenario.twin_up import twin_overlay

    bringup = twin_overlay('empty_room')(load_bringup(ROBOT))
    assert bringup.names[0] == 'twin' and 'cloud_sync' not in bringup.names
    twin = bringup.node('twin').overrides
    assert twin['clock_mode'] == 'free_run' and twin['max_real_time_factor'] == 1.0
    assert twin['start'] == [-2.5, -2.5, 0.0]  # the world's first spawn hint
    assert twin['scan.rate_hz'] == 10  # it plays the bringup's robot
    assert bringup.node('twin').exit_ends_bringup
    for spec in bringup.nodes[1:]:
        assert spec.overrides['use_sim_time'] is True
    for name in ('controller', 'safety_gate', 'sensor_guard'):
        assert bringup.node(name).overrides['tick_source'] == 'timer'
    for name in graph.LOCALISING:
        assert bringup.node(name).overrides['initial_pose'] == [-2.5, -2.5, 0.0]


def test_the_twin_overlay_needs_a_robot_profile(tmp_path: Path) -> None:
    from robo_edge.exceptions import ConfigError
    from robo_edge.supervisor.up import EXIT_CONFIG, up_main

    bare = tmp_path / 'bare.yaml'
    bare.write_text(yaml.safe_dump({'bringup': {'name': 'bare', 'nodes': [
        {'name': 'planner', 'executable': 'planner'}]}}))
    with pytest.raises(ConfigError, match='bringup.robot'):
        graph.twin_bringup(load_bringup(bare), 'empty_room', (0.0, 0.0, 0.0))
    overlay = lambda b: graph.twin_bringup(b, 'empty_room', (0.0, 0.0, 0.0))  # noqa: E731
    assert up_main(str(bare), None, overlay=overlay) == EXIT_CONFIG


def test_a_wall_clock_run_keeps_the_robot_timers(tmp_path: Path) -> None:
    _, params = _graph({**GOAL_RUN, 'clock_mode': 'free_run'}, tmp_path)
    assert params['controller']['tick_source'] == 'timer'
    assert params['twin']['max_real_time_factor'] == 1.0
    _, lockstep = _graph(GOAL_RUN, tmp_path)
    assert lockstep['twin']['max_real_time_factor'] == 0.0
