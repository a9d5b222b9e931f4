"""What the world model takes from a scan, by the scan's source (pure).

The mapper reads `/safety/scan`, which may be the LiDAR, the LiDAR with camera returns folded
in near the robot, the camera's virtual scan alone, or nothing. Degraded data must never enter
the persistent map or correct localisation, so each scan is joined, by exact stamp, with the
`/safety/scan_source` sensor_guard publishes beside it (robo_edge/ros/scan_source.py), and:

- LiDAR (and odometry trusted): matched against the map and folded in, camera beams left out;
- anything else, a source that never came, or odometry whose breaker is open: neither matched
  nor folded; the correction is held and its covariance keeps growing.

`SourceJoin` holds scans (already joined with their odometry) until their source arrives or a
bounded wall-clock wait runs out (then: untrusted, fail closed), releasing them in order.
"""

from dataclasses import dataclass

from robo_edge.lockstep import PendingTick, StampedBuffer

USE = 'use'
HOLD_FALLBACK = 'fallback'  # the scan is not the LiDAR's
HOLD_NO_SOURCE = 'no_source'  # no source came within the wait: untrusted
HOLD_ODOMETRY = 'odometry_untrusted'  # the pose it would be folded at is not trusted


@dataclass(frozen=True, slots=True)
class Sourced:
    """A joined scan with its source (None: none came) and what the world model does with it."""

    joined: object
    source: object | None
    action: str


def action_of(source: object | None) -> str:
    """Return what the world model does with a scan from `source` (a ScanSource or None)."""
    if source is None:
        return HOLD_NO_SOURCE
    if not source.lidar_made:
        return HOLD_FALLBACK
    if not source.odometry_trusted:
        return HOLD_ODOMETRY
    return USE


class SourceJoin:
    """Scans waiting for their `/safety/scan_source`, released in stamp order."""

    def __init__(self, wait_s: float, keep: int = 64) -> None:
        self.wait_s = wait_s
        self.sources = StampedBuffer(keep=keep)
        self._pending: list[tuple[PendingTick, object]] = []

    @property
    def pending(self) -> int:
        """Return how many scans wait for their source."""
        return len(self._pending)

    def add_source(self, stamp_ns: int, source: object) -> None:
        """Hold a scan's source."""
        self.sources.add(stamp_ns, source)

    def add(self, stamp_ns: int, joined: object, now_wall_s: float) -> None:
        """Queue a scan (joined with its odometry) stamped `stamp_ns`."""
        self._pending.append((PendingTick(stamp_ns, now_wall_s), joined))

    def release(self, now_wall_s: float) -> list[Sourced]:
        """Return the scans whose source is here or whose wait is over, oldest first."""
        out: list[Sourced] = []
        while self._pending:
            tick, joined = self._pending[0]
            source = self.sources.at(tick.tick_ns)
            if source is None and not tick.overdue(now_wall_s, self.wait_s):
                break
            out.append(Sourced(joined, source, action_of(source)))
            self._pending.pop(0)
        return out
