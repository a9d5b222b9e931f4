"""Which sensor backs each map the planner plans on, by stamp (pure).

The persistent map is written from the LiDAR alone (robo_edge/mapping/containment.py); while
the camera's virtual scan stands in, the mapper lays what it sees over a copy of it,
`/map/navigation`, as a short-lived obstacle layer (robo_edge/mapping/transient.py). So a map
stamped s is backed by:

- LIDAR: unknown cells may be planned through (the LiDAR sees into them as the robot goes);
  an unreachable goal fails.
- CAMERA: unknown cells may still be planned through, because the camera sees ahead of the
  robot (the only way a diff-drive base moves into new space; the gate refuses motion where no
  sensor looks), and its obstacles are in the layer; an unreachable goal is held rather than
  failed, since the camera's obstacles expire and the LiDAR may come back.
- NONE (no source, or one that never came: fail closed): the planner keeps to the cells the
  LiDAR saw free, unknown cells count as obstacles, and a goal beyond them is held (the
  robot waits where the map is known); a hold that lasts is ended by the goal's progress
  timeout.

The origin comes from sensor_guard's `/safety/scan_source` (robo_edge/ros/scan_source.py),
stamped like the scan the map at that stamp was made from. A map waits (bounded) for the origin
of its own stamp; one that does not come is judged by the newest origin before it.
"""

from dataclasses import dataclass, field
from enum import Enum

from robo_edge.lockstep import StampedBuffer

LIDAR_ORIGINS = ('lidar', 'lidar+perception')  # the LiDAR's own returns are in the scan
CAMERA_ORIGINS = ('perception',)


class Backing(Enum):
    """What backs a map's obstacles."""

    LIDAR = 'lidar'
    CAMERA = 'camera'
    NONE = 'none'


def backing_of(origin: str | None) -> Backing:
    """Return the backing of a scan origin (None: no source came, or a malformed one)."""
    if origin in LIDAR_ORIGINS:
        return Backing.LIDAR
    if origin in CAMERA_ORIGINS:
        return Backing.CAMERA
    return Backing.NONE


@dataclass
class ObstacleSources:
    """The backing of `/safety/scan`, by stamp; `enabled` False trusts every map as LiDAR's."""

    enabled: bool = True
    keep: int = 256
    _history: StampedBuffer = field(init=False)

    def __post_init__(self) -> None:
        self._history = StampedBuffer(keep=self.keep)

    def add(self, stamp_ns: int, origin: str | None) -> None:
        """Record the origin of the scan stamped `stamp_ns` (None: unknown)."""
        self._history.add(stamp_ns, backing_of(origin))

    def has(self, stamp_ns: int) -> bool:
        """Whether the origin of the scan stamped `stamp_ns` is known (always, when disabled)."""
        return not self.enabled or self._history.at(stamp_ns) is not None

    def backing(self, stamp_ns: int) -> Backing:
        """Return what backs the map stamped `stamp_ns` (the newest origin not after it)."""
        if not self.enabled:
            return Backing.LIDAR
        found = self._history.latest_not_after(stamp_ns)
        return Backing.NONE if found is None else found[1]
