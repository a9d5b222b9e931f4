"""Turn a scenario into the bringup the supervisor starts: the twin and the stack under test."""

import functools
from pathlib import Path

import yaml

from robo_edge import paths
from robo_edge.chaos.spec import to_params
from robo_edge.robot.profile import RobotProfile, check_twin_can_play, load_profile
from robo_edge.robot.profile import node_parameters as robot_parameters
from robo_edge.scenario import graph
from robo_edge.scenario.spec import Scenario
from robo_edge.supervisor.bringup import NodeSpec

INGESTED = ('/scan', '/imu/data')
ODOM_READERS_IN_NAVIGATION = 4  # mapper, planner, controller, sensor_guard
# The outputs whose first samples a navigating lockstep run waits for, and their readers: the
# writer must have matched them all before its node reports ready (robo_edge/ros/readiness.py).
READERS_IN_NAVIGATION = {
    'sensor_guard': (('/safety/scan', 3),  # mapper, controller, safety_gate
                     ('/safety/scan_source', 2)),  # mapper, planner
    'lidar_ingest': (('/sensors/scan', 1),),  # sensor_guard
    'imu_ingest': (('/sensors/imu', 1),),  # sensor_guard
    'controller': (('/cmd_vel_raw', 2),),  # safety_gate, sensor_guard
}
GUARD_INPUT_WAIT_S = 0.75  # well under the navigation nodes' wait for /safety/scan
BREAKER_EVENTS = 'breaker_events.jsonl'
MODE_EVENTS = 'mode_events.jsonl'
NAV_INPUT_WAIT_S = 1.5
GATE_INPUT_WAIT_S = 2.5
NAV_STARTUP_TIMEOUT_S = 90.0
NAV_LOCKSTEP_TIMEOUT_S = 3.5  # above the gate's wait, so a dead controller is not a failed run
END_AFTER_GOALS_S = 2.0  # simulated seconds a goal run goes on after its last goal ended
POSE_LOG = 'localization.json'  # the mapper's poses, next to the planner's report


def required_subscribers(camera_on: bool, recorded: bool, navigating: bool) -> list[str]:
    """Return `topic:count` for every twin topic that must be matched before t = 0."""
    extra = 1 if recorded else 0
    ingested = [*INGESTED, '/camera/image_raw'] if camera_on else list(INGESTED)
    required = [f'{topic}:{1 + extra}' for topic in ingested]
    odom_readers = (ODOM_READERS_IN_NAVIGATION if navigating else 0) + extra
    if odom_readers:
        required.append(f'/odom:{odom_readers}')
    if recorded:
        required.append('/twin/ground_truth:1')
    return required


def required_ready(nodes: list[NodeSpec], recorded: bool = False) -> list[str]:
    """Return the nodes whose inputs must have matched their writers before t = 0."""
    return graph.awaited(nodes) + (['recorder'] if recorded else [])


def recorded_from_start(camera_on: bool) -> list[str]:
    """Return the topics a recording holds from t = 0.

    The clock, the commands, the raw and validated sensor streams and, with the camera,
    perception's outputs.
    """
    camera = ['/camera/image_raw', '/sensors/camera/image', '/perception/scan',
              '/perception/mask'] if camera_on else []
    return ['/clock', '/cmd_vel', '/odom', *INGESTED, '/sensors/scan', '/sensors/imu', *camera]


def renders_camera(scenario: Scenario) -> bool:
    """Whether the twin renders the camera in this scenario (on unless overridden)."""
    default = robot_profile(scenario).camera.rate_hz
    return int(scenario.twin_overrides.get('camera.rate_hz', default)) > 0


def navigating(scenario: Scenario) -> bool:
    """Whether the navigation stack drives (goals), rather than the scripted driver."""
    return bool(scenario.goals)


def robot_profile(scenario: Scenario) -> RobotProfile:
    """Return the scenario's robot profile (a shipped name, or a file next to the scenario)."""
    return _twin_robot(robot_profile_path(scenario))


def robot_profile_path(scenario: Scenario) -> Path:
    """Return the file of the scenario's robot profile."""
    scenario_dir = Path(scenario.source).resolve().parent
    return paths.resolve(scenario.robot, 'config/robot', relative_to=scenario_dir)


@functools.cache
def _twin_robot(path: Path) -> RobotProfile:
    """Load a profile once per file, checked for the twin to play it."""
    profile = load_profile(path)
    check_twin_can_play(profile, str(path))
    return profile


def graph_nodes(scenario: Scenario) -> list[NodeSpec]:
    """Return the robot bringup's nodes this scenario runs, with its robot profile."""
    robot = robot_profile_path(scenario)
    return graph.kept_nodes(graph.robot_graph(robot), navigating(scenario),
                            renders_camera(scenario))


def world_file(scenario: Scenario, work_dir: Path) -> Path:
    """Return the world file the twin loads (an inline world is written out first)."""
    if scenario.world_ref is not None:
        scenario_dir = Path(scenario.source).resolve().parent
        return paths.resolve(scenario.world_ref, 'sim/worlds', relative_to=scenario_dir)
    world = scenario.world_inline
    path = work_dir / 'world.yaml'
    path.write_text(yaml.safe_dump({'world': _world_document(world)}), encoding='utf-8')
    return path


def _world_document(world: object) -> dict:
    obstacles: list[dict] = []
    for box in world.boxes:
        obstacles.append({'type': 'box', 'name': box.name, 'pose': [box.x, box.y, box.yaw],
                          'size': list(box.size), 'color': list(box.color)})
    for cyl in world.cylinders:
        obstacles.append({'type': 'cylinder', 'name': cyl.name, 'position': [cyl.x, cyl.y],
                          'radius': cyl.radius, 'height': cyl.height,
                          'color': list(cyl.color)})
    return {'name': world.name, 'floor': {'color': list(world.floor_color),
                                          'size': list(world.floor_size)},
            'obstacles': obstacles}


def _driver_parameters(scenario: Scenario, planner_report: Path) -> dict[str, dict]:
    """Parameters of whatever drives: the navigation stack for goals, else the script."""
    if not navigating(scenario):
        # An open-loop harness of the twin (ingest, the twin itself): the script drives the
        # simulated base directly; on a robot it goes through the gate (/cmd_vel_raw).
        return {'drive_script': {
            'use_sim_time': True, 'segments': scenario.drive.to_flat() or [0.0],
            'output_topic': '/cmd_vel',
        }}
    start = [scenario.start.x, scenario.start.y, scenario.start.yaw]
    goals = [v for g in scenario.goals for v in (g.x, g.y, g.yaw)]
    # Bounded waits for exact inputs: long enough that a loaded machine still answers every
    # tick from the inputs the schedule says exist (repeatable), short enough that the gate
    # answers within the twin's lockstep timeout even when the controller is dead.
    common = {'use_sim_time': True, 'initial_pose': start, 'input_wait_s': NAV_INPUT_WAIT_S}
    return {
        'mapper': {**common, 'pose_log_path': str(planner_report.with_name(POSE_LOG))},
        'planner': {**common, 'goals': goals, 'report_path': str(planner_report)},
        'controller': dict(common),
        'safety_gate': {'use_sim_time': True, 'input_wait_s': GATE_INPUT_WAIT_S},
    }


def _breaker_parameters(scenario: Scenario, run_dir: Path) -> dict[str, dict]:
    """Parameters of sensor_guard and mode_manager: the sources this run has, event files."""
    sources = ['lidar', 'imu', 'odometry', 'controller']
    if renders_camera(scenario):
        sources += ['camera', 'perception']
    return {
        'sensor_guard': {'use_sim_time': True, 'input_wait_s': GUARD_INPUT_WAIT_S,
                         'sources': sources, 'events_path': str(run_dir / BREAKER_EVENTS),
                         # In lockstep simulated time stands still while the model runs: its
                         # wall-clock latency ages nothing (the budget is a robot's concern).
                         'model.latency_budget_s': 0.0},
        'mode_manager': {'use_sim_time': True, 'events_path': str(run_dir / MODE_EVENTS)},
    }


def _twin_parameters(scenario: Scenario, world: Path, result_path: Path, recorded: bool,
                     nodes: list[NodeSpec]) -> dict:
    """Return the twin's parameters: the robot it plays, the run, its clock, whom to wait for."""
    camera, goals = renders_camera(scenario), navigating(scenario)
    return {
        **robot_parameters(robot_profile(scenario))['twin'],
        'world': str(world),
        'seed': scenario.seed,
        'start': [scenario.start.x, scenario.start.y, scenario.start.yaw],
        'duration_s': scenario.duration_s,
        'clock_mode': scenario.clock_mode,
        # On the wall clock the twin keeps real time, as a robot's world does.
        'max_real_time_factor': 0.0 if scenario.clock_mode == 'lockstep' else 1.0,
        'lockstep_timeout_s': max(scenario.lockstep_timeout_s, NAV_LOCKSTEP_TIMEOUT_S)
        if goals else scenario.lockstep_timeout_s,
        'result_path': str(result_path),
        'progress_period_s': max(5.0, scenario.duration_s / 10),
        'required_subscribers': required_subscribers(camera, recorded, goals),
        # Every node, the recorder included, reports when its own readers have matched
        # their writers.
        'required_ready': required_ready(nodes, recorded),
        'startup_settle_s': 0.25,
        # Eleven processes discovering each other on a loaded 2-core host (CI runs two
        # scenarios at once) once took over 30 s; only a slow start waits this long.
        'startup_timeout_s': NAV_STARTUP_TIMEOUT_S if goals else 30.0,
        # A goal run ends 2 s after its last goal ended instead of idling to duration_s.
        'end_after_goals_s': END_AFTER_GOALS_S if goals else 0.0,
        'faults': to_params(scenario.faults),
        **scenario.twin_overrides,
    }


def node_parameters(
    scenario: Scenario, world: Path, result_path: Path, mcap_path: Path | None,
    planner_report: Path,
) -> dict[str, dict]:
    """Return the ros__parameters document for every node of the scenario's bringup.

    Each node of the robot graph starts from its bringup values under the twin overlay
    (graph.overlay_parameters); the run's own values go on top, the scenario's last.
    """
    nodes = graph_nodes(scenario)
    recorded = mcap_path is not None
    lockstep = scenario.clock_mode == 'lockstep'
    params: dict[str, dict] = {
        spec.name: graph.overlay_parameters(spec, lockstep) for spec in nodes}
    params['twin'] = _twin_parameters(scenario, world, result_path, recorded, nodes)
    run_values = _driver_parameters(scenario, planner_report)
    if navigating(scenario):
        run_values.update(_breaker_parameters(scenario, result_path.parent))
        for name, outputs in READERS_IN_NAVIGATION.items():  # the recorder reads them too
            run_values.setdefault(name, {})['required_readers'] = [
                f'{topic}:{readers + int(recorded)}' for topic, readers in outputs]
    if recorded:
        run_values['recorder'] = {'use_sim_time': True, 'output_path': str(mcap_path),
                                  'ready_topics': recorded_from_start(renders_camera(scenario))}
    for node, values in run_values.items():
        params[node] = {**params.get(node, {}), **values}
    for node, values in scenario.node_params.items():  # the scenario's own tuning wins
        params.setdefault(node, {'use_sim_time': True}).update(values)
    return {name: {'ros__parameters': values} for name, values in params.items()}


def bringup_document(scenario: Scenario, params_file: Path, record: bool) -> dict:
    """Return the bringup (supervisor) document of a scenario run: the graph and the twin."""
    nodes = [
        # The twin ends the run: when it exits (duration reached or failed), all stop.
        _node('twin', [str(params_file)], restart='never', ends=True),
        *[graph.node_entry(spec, params_file) for spec in graph_nodes(scenario)],
    ]
    if not navigating(scenario):
        nodes.append(_node('drive_script', [str(params_file)]))
    if record:
        nodes.append(_node('recorder', [str(params_file)], restart='never'))
    return {'bringup': {'name': f'scenario_{scenario.name}', 'nodes': nodes}}


def _node(name: str, parameters: list[str], restart: str = 'on-failure',
          ends: bool = False) -> dict:
    return {
        'name': name,
        'executable': name,
        'parameters': parameters,
        'restart': restart,
        'exit_ends_bringup': ends,
    }


def with_overrides(params: dict[str, dict], overrides: dict[str, dict]) -> dict[str, dict]:
    """Return the parameter document with per-node overrides merged in (nodes it has only)."""
    merged = {name: {'ros__parameters': dict(doc['ros__parameters'])}
              for name, doc in params.items()}
    for name, values in overrides.items():
        if name in merged:
            merged[name]['ros__parameters'].update(values)
    return merged
