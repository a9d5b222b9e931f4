"""What sensor_guard keeps to cast the third votes at a scan slot (pure).

The map vote checks the LiDAR scan of slot s against the map and the localiser's correction
of the slot before (the mapper publishes both for every `/safety/scan`, stamped like it), at
the base pose that correction and the odometry of s give. In lockstep the guard waits, bounded,
for that map and correction, so the vote is the same in every run; it stops waiting when the
mapper falls silent (no mapper in the graph, or a dead one), and waits again once it is back.
The motion vote compares the newest virtual scan with one about `motion_window_s` older, each
at the odometry pose of its stamp.
"""

import functools
from collections.abc import Callable

import numpy as np

from robo_edge.breakers.arbiter import Votes
from robo_edge.breakers.cross_check import BeamScan
from robo_edge.breakers.votes import Vote, VoteConfig, map_vote, motion_vote
from robo_edge.exceptions import GridError
from robo_edge.lockstep import StampedBuffer
from robo_edge.mapping.mapper import compose_pose
from robo_edge.planning.grid import Grid
from robo_edge.twin.kinematics import Pose2D

NS_PER_S = 1_000_000_000


def obstacle_points(scan: BeamScan) -> np.ndarray:
    """Return the finite returns of a scan as points (N x 2) in base_link."""
    r = np.asarray(scan.ranges, dtype=np.float64)
    angles = scan.angle_min + scan.angle_increment * np.arange(r.size) + scan.mount.yaw
    keep = np.isfinite(r) & (r >= scan.range_min) & (r <= scan.range_max)
    return np.stack([scan.mount.x + r[keep] * np.cos(angles[keep]),
                     scan.mount.y + r[keep] * np.sin(angles[keep])], axis=1)


class VoteInputs:
    """Maps, corrections, odometry poses and virtual scans by stamp; votes at a slot."""

    def __init__(self, config: VoteConfig, laser: Pose2D) -> None:
        self.config = config
        self.laser = laser
        self.maps = StampedBuffer(4)
        self.corrections = StampedBuffer(32)
        self.odom = StampedBuffer(128)
        self.virtual = StampedBuffer(32)
        self.mapper_alive = False  # the last map the guard waited for came

    def add_map(self, stamp_ns: int, grid: Callable[[], Grid]) -> None:
        """Hold a map, read only if a vote needs it (a mapper that answers is waited for)."""
        self.maps.add(stamp_ns, functools.cache(grid))
        self.mapper_alive = True

    def add_correction(self, stamp_ns: int, correction: Pose2D) -> None:
        """Hold the localiser's correction (odom in map) stamped like its scan."""
        self.corrections.add(stamp_ns, correction)

    def add_odom(self, stamp_ns: int, pose: Pose2D) -> None:
        """Hold an odometry pose."""
        self.odom.add(stamp_ns, pose)

    def add_virtual(self, stamp_ns: int, scan: BeamScan) -> None:
        """Hold a virtual scan's obstacle points."""
        self.virtual.add(stamp_ns, obstacle_points(scan))

    def missing(self, previous_slot_ns: int | None) -> list[str]:
        """Return what the vote of a slot still waits for (lockstep), '' when nothing."""
        if previous_slot_ns is None or not self.mapper_alive:
            return []
        gone = [name for name, buffer in (('map', self.maps), ('correction', self.corrections))
                if buffer.at(previous_slot_ns) is None]
        return [f'{name}@{previous_slot_ns / 1e9:.3f}' for name in gone]

    def ran_out(self) -> None:
        """Record a wait for the mapper that ran out: wait no more until it answers again."""
        self.mapper_alive = False

    def votes(self, slot_ns: int, lidar: BeamScan) -> Votes:
        """Return the map and motion votes for the LiDAR scan of a slot."""
        return Votes(map=self._map_vote(slot_ns, lidar), motion=self._motion_vote(slot_ns))

    def _map_vote(self, slot_ns: int, lidar: BeamScan) -> Vote:
        newest = self.maps.latest_not_after(slot_ns - 1)
        odom = self.odom.latest_not_after(slot_ns)
        if newest is None or odom is None:
            return Votes().map
        correction = self.corrections.latest_not_after(newest[0])
        if correction is None:
            return Votes().map
        try:
            grid = newest[1]()
        except GridError:  # a malformed /map from elsewhere casts no vote
            return Votes().map
        base = compose_pose(correction[1], odom[1])
        laser = compose_pose(base, self.laser)
        return map_vote(grid, laser, lidar.ranges, lidar.angle_min, lidar.angle_increment,
                        self.config)

    def _motion_vote(self, slot_ns: int) -> Vote:
        later = self.virtual.latest_not_after(slot_ns)
        if later is None:
            return Votes().motion
        window = round(self.config.motion_window_s * NS_PER_S)
        earlier = self.virtual.latest_not_after(later[0] - window)
        if earlier is None:
            return Votes().motion
        poses = [self.odom.latest_not_after(s) for s in (earlier[0], later[0])]
        if poses[0] is None or poses[1] is None:
            return Votes().motion
        return motion_vote(earlier[1], poses[0][1], later[1], poses[1][1], self.config)

