"""`robo-edge up BRINGUP --live`: the live view laid over a bringup as one more node.

The bringup's declared nodes stay as they are; the overlay adds `live_view`
(robo_edge/nodes/live_view.py), which serves a Foxglove websocket on localhost with the
robot's mode, breakers, scans, map, plan, pose and camera. Its topics and mounts come from
the bringup's robot profile, its port from the command line.
"""

import dataclasses
from collections.abc import Callable, Sequence

from robo_edge.exceptions import ConfigError
from robo_edge.robot.profile import load_profile, node_parameters
from robo_edge.supervisor.bringup import Bringup, NodeSpec

LIVE_NODE = 'live_view'
DEFAULT_PORT = 8765
DEFAULT_HOST = '127.0.0.1'

Overlay = Callable[[Bringup], Bringup]


def live_url(port: int, host: str = DEFAULT_HOST) -> str:
    """Return the address an operator opens in Foxglove (Open connection, Foxglove WebSocket)."""
    return f'ws://{"localhost" if host == DEFAULT_HOST else host}:{port}'


def with_live_view(bringup: Bringup, port: int = DEFAULT_PORT) -> Bringup:
    """Return `bringup` with the live view added, serving on localhost:`port`."""
    if LIVE_NODE in bringup.names:
        raise ConfigError(bringup.source, 'bringup.nodes', f'no node named {LIVE_NODE!r} '
                          '(--live adds it)', LIVE_NODE)
    values = {}
    if bringup.robot is not None:
        values = node_parameters(load_profile(bringup.robot)).get(LIVE_NODE, {})
    spec = NodeSpec(name=LIVE_NODE, executable=LIVE_NODE, overrides={**values, 'port': port})
    return dataclasses.replace(bringup, name=f'{bringup.name}+live', nodes=(*bringup.nodes, spec))


def live_overlay(port: int = DEFAULT_PORT) -> Overlay:
    """Return the overlay that adds the live view on `port`."""
    return lambda bringup: with_live_view(bringup, port)


def chained(overlays: Sequence[Overlay]) -> Overlay | None:
    """Return one overlay applying `overlays` in order (None when there are none)."""
    if not overlays:
        return None

    def apply(bringup: Bringup) -> Bringup:
        for overlay in overlays:
            bringup = overlay(bringup)
        return bringup

    return apply
