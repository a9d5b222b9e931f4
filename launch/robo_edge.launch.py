"""Launch a robo_edge bringup with ROS 2 launch (on a full ROS install).

Argument `bringup`: the bringup YAML (default share/robo_edge/config/bringup/robot.yaml, the
robot graph on its drivers; `bringup:=<share>/config/bringup/demo.yaml` is the twin demo). Each
node becomes a launch_ros Node (or an ExecuteProcess for `command:` nodes), with the shipped
Fast DDS profile set for all of them. `robo-edge up` is the supervisor-based equivalent.
"""

from launch.actions import (
    DeclareLaunchArgument,
    ExecuteProcess,
    OpaqueFunction,
    SetEnvironmentVariable,
    Shutdown,
)
from launch.launch_description import LaunchDescription
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from robo_edge.supervisor.bringup import load_bringup
from robo_edge.supervisor.launch_description import (
    command_arguments,
    ends_bringup,
    node_arguments,
)
from robo_edge.supervisor.transport import PROFILE_NAME, profile_variables


def _bringup_actions(context: object) -> list[object]:
    """Load the bringup named by the launch argument and return one action per node."""
    bringup = load_bringup(LaunchConfiguration('bringup').perform(context))
    ending = ends_bringup(bringup)
    actions: list[object] = []
    for kwargs in node_arguments(bringup):
        if kwargs['name'] in ending:
            kwargs['on_exit'] = Shutdown(reason=f'{kwargs["name"]} ends the bringup')
        actions.append(Node(**kwargs))
    for kwargs in command_arguments(bringup):
        if kwargs['name'] in ending:
            kwargs['on_exit'] = Shutdown(reason=f'{kwargs["name"]} ends the bringup')
        actions.append(ExecuteProcess(**kwargs))
    return actions


def generate_launch_description() -> LaunchDescription:
    """Return the launch description of a bringup file."""
    share = FindPackageShare('robo_edge')
    return LaunchDescription([
        DeclareLaunchArgument(
            'bringup',
            default_value=PathJoinSubstitution([share, 'config', 'bringup', 'robot.yaml']),
            description='bringup YAML file listing the nodes to start',
        ),
        *[
            SetEnvironmentVariable(name, PathJoinSubstitution([share, 'config', PROFILE_NAME]))
            for name in profile_variables()
        ],
        SetEnvironmentVariable(
            'ROS_AUTOMATIC_DISCOVERY_RANGE',
            EnvironmentVariable('ROS_AUTOMATIC_DISCOVERY_RANGE', default_value='LOCALHOST'),
        ),
        OpaqueFunction(function=_bringup_actions),
    ])
