"""`robo-edge up BRINGUP --twin WORLD`: the twin as the robot's hardware, on the wall clock.

The twin side of `robo-edge up`: it resolves the world and its start pose (the world's first
spawn hint unless `--start` is given) and lays graph.twin_bringup over the loaded bringup.
Goals come from /goal_pose, as on a robot.
"""

from collections.abc import Callable, Sequence

from robo_edge import paths
from robo_edge.scenario.graph import twin_bringup
from robo_edge.supervisor.bringup import Bringup
from robo_edge.twin.world import load_world


def twin_overlay(world: str, start: Sequence[float] | None = None
                 ) -> Callable[[Bringup], Bringup]:
    """Return the overlay that plays `world` (a name under sim/worlds, or a file) for a bringup."""
    path = paths.resolve(world, 'sim/worlds')
    if start is None:
        hints = load_world(path).spawn_hints
        start = hints[0] if hints else (0.0, 0.0, 0.0)
    pose = tuple(float(v) for v in start)
    return lambda bringup: twin_bringup(bringup, str(path), pose)
