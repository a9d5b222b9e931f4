"""A scenario's graph: the robot bringup (config/bringup/robot.yaml) under the twin overlay.

The runner keeps no node list of its own. It loads the robot graph with the scenario's robot
profile in place of the bringup's, and keeps what the run can serve:
- a goal run keeps every node but those the twin has nothing for (`DROPPED_IN_TWIN`);
- a scripted run, an open-loop harness of the twin, keeps the sensing nodes (`OPEN_LOOP`); the
  scenario stack adds its scripted driver;
- without a camera, the camera's nodes (`CAMERA_NODES`) go.
The overlay puts each kept node on simulated time and replaces the robot's own timers
(`tick_source: timer`) with the /clock ticks of lockstep. The scenario stack adds the twin,
which ends the run, the recorder, and the run's own parameters on top.
"""

import dataclasses
import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from robo_edge import paths
from robo_edge.exceptions import ConfigError
from robo_edge.robot.profile import check_twin_can_play, load_profile, node_parameters
from robo_edge.supervisor.bringup import Bringup, NodeSpec, RestartPolicy, load_bringup

ROBOT_BRINGUP = ('config', 'bringup', 'robot.yaml')
# No fleet server answers inside a twin run: releases are canaried with the cloud tools.
DROPPED_IN_TWIN = ('cloud_sync',)
OPEN_LOOP = ('lidar_ingest', 'camera_ingest', 'imu_ingest', 'perception')
CAMERA_NODES = ('camera_ingest', 'perception')
# The twin holds t = 0 until the other nodes are ready; perception's model loads meanwhile and
# its first virtual scan is not awaited (sensor_guard treats a late one as absent). No node
# reads /tf: frames is not awaited (where tf2_msgs is not importable it exits at once).
NOT_AWAITED = ('perception', 'frames')
TICK_SOURCE = 'tick_source'
LOCALISING = ('mapper', 'planner', 'controller')  # the nodes with an `initial_pose`
LOCKSTEP_TICKS = 'clock'


def robot_bringup_path() -> Path:
    """Return the installed robot bringup file."""
    return paths.share_file(*ROBOT_BRINGUP)


@functools.cache
def robot_graph(profile: Path) -> Bringup:
    """Return the robot bringup with `profile` as its robot (loaded once per profile)."""
    return load_bringup(robot_bringup_path(), robot=profile)


def kept_nodes(bringup: Bringup, navigating: bool, camera: bool) -> list[NodeSpec]:
    """Return the bringup's nodes a run keeps, in declaration order."""
    kept = [spec for spec in bringup.nodes if spec.name not in DROPPED_IN_TWIN]
    if not navigating:
        kept = [spec for spec in kept if spec.name in OPEN_LOOP]
    if not camera:
        kept = [spec for spec in kept if spec.name not in CAMERA_NODES]
    return kept


def overlay_parameters(spec: NodeSpec, lockstep: bool = True) -> dict[str, Any]:
    """Return a kept node's bringup parameters with the overlay: sim time, lockstep ticks.

    On the wall clock (a free-running twin) the robot's own timers stay: they run on the
    twin's simulated time, which the twin paces at real time.
    """
    values = {**spec.overrides, 'use_sim_time': True}
    if lockstep and TICK_SOURCE in values:
        values[TICK_SOURCE] = LOCKSTEP_TICKS
    return values


def awaited(nodes: Iterable[NodeSpec]) -> list[str]:
    """Return the kept nodes the twin waits for before t = 0."""
    return [spec.name for spec in nodes if spec.name not in NOT_AWAITED]


def node_entry(spec: NodeSpec, params_file: Path) -> dict[str, Any]:
    """Return a kept node as a bringup document entry, its overlay parameters in `params_file`.

    The bringup's own parameter files come first and the run's file last, so the overlay and
    the scenario win over the robot's values (which `overlay_parameters` carries over).
    """
    program = ({'executable': spec.executable} if spec.executable is not None
               else {'command': list(spec.command or ())})
    return {
        'name': spec.name, **program,
        'parameters': [*(str(p) for p in spec.parameters), str(params_file)],
        'remappings': dict(spec.remappings), 'env': dict(spec.env),
        'restart': spec.restart.value, 'max_restarts': spec.max_restarts,
        'restart_window_s': spec.restart_window_s, 'exit_ends_bringup': False,
    }


def twin_bringup(bringup: Bringup, world: str, start: Sequence[float], seed: int = 0
                 ) -> Bringup:
    """Return a robot bringup with the twin as its hardware, free-running at real time.

    The twin plays the bringup's robot profile (its drivers' topics, rates and base) in
    `world`; every node runs on the twin's clock with the robot's own timers; cloud sync is
    left out as in every twin run. The map frame is the world's (the localising nodes start at
    `start`), so goals on /goal_pose are world coordinates. The twin's exit ends the bringup.
    """
    if bringup.robot is None:
        raise ConfigError(bringup.source, 'bringup.robot', 'a robot profile for the twin to play')
    profile = load_profile(bringup.robot)
    check_twin_can_play(profile, str(bringup.robot))
    twin = NodeSpec(name='twin', executable='twin', restart=RestartPolicy.NEVER,
                    exit_ends_bringup=True, overrides={
                        **node_parameters(profile).get('twin', {}), 'world': world,
                        'seed': seed, 'start': [float(v) for v in start],
                        'clock_mode': 'free_run', 'max_real_time_factor': 1.0,
                        'duration_s': 0.0, 'progress_period_s': 30.0})
    nodes = [dataclasses.replace(spec, overrides=_with_start(
        overlay_parameters(spec, lockstep=False), spec.name, twin.overrides['start']))
        for spec in bringup.nodes if spec.name not in DROPPED_IN_TWIN]
    return dataclasses.replace(bringup, name=f'{bringup.name}+twin', nodes=(twin, *nodes))


def _with_start(values: dict[str, Any], node: str, start: list[float]) -> dict[str, Any]:
    """Give the nodes that localise the robot's start pose in the map."""
    return {**values, 'initial_pose': start} if node in LOCALISING else values
