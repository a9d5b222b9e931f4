"""The arguments of launch actions for a bringup, kept free of `launch` so they unit-test.

`launch/robo_edge.launch.py` passes these to launch_ros.actions.Node (nodes with an
`executable`) and launch.actions.ExecuteProcess (nodes with a `command`).
"""

from typing import Any

from robo_edge.supervisor.bringup import Bringup, NodeSpec, RestartPolicy
from robo_edge.supervisor.process import node_argv
from robo_edge.supervisor.restart import BACKOFF_BASE_S

PACKAGE = 'robo_edge'


def node_arguments(bringup: Bringup) -> list[dict[str, Any]]:
    """Return the launch_ros Node kwargs of each node that names an installed executable.

    launch respawns whatever the exit code, so `on-failure` maps to respawn like `always`;
    max_restarts bounds the retries (launch has no window, so it is a lifetime budget).
    """
    return [_node_kwargs(spec) for spec in bringup.nodes if spec.executable is not None]


def command_arguments(bringup: Bringup) -> list[dict[str, Any]]:
    """Return the ExecuteProcess kwargs of each node given as a `command`."""
    result = []
    for spec in bringup.nodes:
        if spec.command is None:
            continue
        kwargs = {
            'name': spec.name,
            'cmd': node_argv(spec, list(spec.command)),
            'output': 'screen',
            **_respawn(spec),
        }
        if spec.env:
            kwargs['additional_env'] = dict(spec.env)
        result.append(kwargs)
    return result


def ends_bringup(bringup: Bringup) -> set[str]:
    """Return the names of the nodes whose exit ends the whole launch."""
    return {spec.name for spec in bringup.nodes if spec.exit_ends_bringup}


def _node_kwargs(spec: NodeSpec) -> dict[str, Any]:
    parameters: list[Any] = [str(path) for path in spec.parameters]
    if spec.overrides:
        parameters.append(dict(spec.overrides))
    kwargs: dict[str, Any] = {
        'package': PACKAGE,
        'executable': spec.executable,
        'name': spec.name,
        'parameters': parameters,
        'remappings': list(spec.remappings.items()),
        'output': 'screen',
        **_respawn(spec),
    }
    if spec.env:
        kwargs['additional_env'] = dict(spec.env)
    return kwargs


def _respawn(spec: NodeSpec) -> dict[str, Any]:
    respawn = spec.restart is not RestartPolicy.NEVER and not spec.exit_ends_bringup
    if not respawn:
        return {'respawn': False}
    return {'respawn': True, 'respawn_delay': BACKOFF_BASE_S,
            'respawn_max_retries': spec.max_restarts}
