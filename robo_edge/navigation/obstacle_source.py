"""Which sensor backs each map the planner plans on, by stamp (pure).

The map is written from the LiDAR alone (robo_edge/mapping/containment.py). While the LiDAR
backs `/safety/scan`, unknown cells may be planned through: the LiDAR sees into them as the
robot goes, and the map fills. While the camera's virtual scan stands in for it (a narrow
view, blind to what it misreads), or no source is known, nothing will fill them: the planner
then keeps to the cells the LiDAR saw free, and unknown cells count as obstacles. A goal beyond
them is held (an empty plan: the robot waits where the map is known) rather than failed, since
the LiDAR may come back; a hold that lasts is ended by the goal's progress timeout.

The origin comes from sensor_guard's `/safety/scan_source` (robo_edge/ros/scan_source.py),
stamped like the scan the map at that stamp was made from. A map waits (bounded) for the origin
of its own stamp; one that does not come is judged by the newest origin before it (fail
closed: none known means not backed).
"""

from dataclasses import dataclass, field

from robo_edge.lockstep import StampedBuffer


@dataclass
class ObstacleSources:
    """The LiDAR's backing of `/safety/scan`, by stamp; `enabled` False trusts every map."""

    enabled: bool = True
    keep: int = 256
    _history: StampedBuffer = field(init=False)

    def __post_init__(self) -> None:
        self._history = StampedBuffer(keep=self.keep)

    def add(self, stamp_ns: int, lidar_backed: bool) -> None:
        """Record whether the scan stamped `stamp_ns` came from the LiDAR."""
        self._history.add(stamp_ns, bool(lidar_backed))

    def has(self, stamp_ns: int) -> bool:
        """Whether the origin of the scan stamped `stamp_ns` is known (always, when disabled)."""
        return not self.enabled or self._history.at(stamp_ns) is not None

    def lidar_backed(self, stamp_ns: int) -> bool:
        """Whether the LiDAR backs the map stamped `stamp_ns` (the newest origin not after it)."""
        if not self.enabled:
            return True
        found = self._history.latest_not_after(stamp_ns)
        return found is not None and bool(found[1])
