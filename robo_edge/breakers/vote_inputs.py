"""What sensor_guard keeps to cast the third votes at a scan slot (pure).

The map vote checks the LiDAR scan of slot s against the map and the localiser's correction
of the slot before (the mapper publishes both for every `/safety/scan`, stamped like it), at
the base pose that correction and the odometry of s give. In lockstep the guard waits, bounded,
for that map and correction, so the vote is the same in every run; it stops waiting when the
mapper falls silent (no mapper in the graph, or a dead one), and waits again once it is back.
The motion vote compares the newest virtual scan with the newest earlier one at least
`motion_window_s` older and `motion_min_travel` behind (by odometry), up to `motion_max_age_s`:
a robot slowing in front of an obstacle still gets a vote. It is cast on the camera's obstacles
the slot's LiDAR scan does not corroborate (no LiDAR return on their bearing up to their range
plus `motion_corroboration`).
"""

import dataclasses
import functools
import math
from collections.abc import Callable

import numpy as np

from robo_edge.breakers.arbiter import Votes
from robo_edge.breakers.cross_check import BeamScan, bearing_bins, bin_scan
from robo_edge.breakers.votes import (
    Sighting,
    Vote,
    VoteConfig,
    into_frame,
    map_vote,
    motion_vote,
    solo_motion_vote,
)
from robo_edge.exceptions import GridError
from robo_edge.lockstep import StampedBuffer
from robo_edge.mapping.mapper import compose_pose
from robo_edge.robot.grid import Grid
from robo_edge.robot.kinematics import Pose2D

NS_PER_S = 1_000_000_000
_ORIGIN = Pose2D(0.0, 0.0, 0.0)


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
        self.odom = StampedBuffer(256)
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
        """Hold a virtual scan's obstacle points and its view (the pose is added at the vote)."""
        last = scan.angle_min + scan.angle_increment * max(len(scan.ranges) - 1, 0)
        bearings = (min(scan.angle_min, last) + scan.mount.yaw,
                    max(scan.angle_min, last) + scan.mount.yaw)
        self.virtual.add(stamp_ns, Sighting(obstacle_points(scan), _ORIGIN, bearings,
                                            scan.range_max, (scan.mount.x, scan.mount.y)))

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

    def seen_from(self, taken_ns: int, scan: BeamScan, at_ns: int) -> BeamScan:
        """Return a scan taken at `taken_ns` mounted where the base at `at_ns` holds it.

        The cross-check compares a virtual scan with a LiDAR scan of another stamp (a camera
        frame up to `max_virtual_age_s` older); a base turning at 2 rad/s turns 4 degrees in
        33 ms, enough to make a far oblique wall read half a metre apart. The odometry between
        the two stamps moves the scan's mount instead. Without both poses: the scan as it is.
        """
        then, now = self.odom.latest_not_after(taken_ns), self.odom.latest_not_after(at_ns)
        if then is None or now is None:
            return scan
        mount = scan.mount
        ((x, y),) = into_frame(np.array([[mount.x, mount.y]]), then[1], now[1])
        yaw = math.remainder(then[1].yaw + mount.yaw - now[1].yaw, math.tau)
        return dataclasses.replace(scan, mount=Pose2D(float(x), float(y), yaw))

    def votes(self, slot_ns: int, lidar: BeamScan) -> Votes:
        """Return the map and motion votes for the LiDAR scan of a slot."""
        return Votes(map=self._map_vote(slot_ns, lidar), motion=self._motion_vote(slot_ns, lidar))

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

    def _motion_vote(self, slot_ns: int, lidar: BeamScan) -> Vote:
        later = self._sighting(self.virtual.latest_not_after(slot_ns))
        slot_pose = self.odom.latest_not_after(slot_ns)
        if later is None or slot_pose is None:
            return Votes().motion
        earlier = self._earlier(later[0], later[1].pose)
        if earlier is None:
            return Votes().motion
        disputed = self._disputed(later[1], slot_pose[1], lidar)
        return motion_vote(earlier, later[1], self.config, disputed)

    def solo_vote(self, at_ns: int) -> Vote:
        """Return the odometry vote on the newest virtual scan at `at_ns`, with no LiDAR."""
        later = self._sighting(self.virtual.latest_not_after(at_ns))
        if later is None:
            return Votes().motion
        earlier = self._earlier(later[0], later[1].pose)
        if earlier is None:
            return Votes().motion
        return solo_motion_vote(earlier, later[1], self.config)

    def _sighting(self, held: tuple[int, object] | None) -> tuple[int, Sighting] | None:
        """Return a held virtual scan with the odometry pose of its stamp."""
        pose = None if held is None else self.odom.latest_not_after(held[0])
        if pose is None:
            return None
        return held[0], dataclasses.replace(held[1], pose=pose[1])

    def _earlier(self, later_ns: int, later_pose: Pose2D) -> Sighting | None:
        """Return the newest virtual scan old enough and far enough behind, if any."""
        youngest = later_ns - round(self.config.motion_window_s * NS_PER_S)
        oldest = later_ns - round(self.config.motion_max_age_s * NS_PER_S)
        for stamp in sorted((s for s in self.virtual.items if oldest <= s <= youngest),
                            reverse=True):
            sighting = self._sighting((stamp, self.virtual.items[stamp]))
            if sighting is None:
                return None
            pose = sighting[1].pose
            if math.hypot(later_pose.x - pose.x,
                          later_pose.y - pose.y) >= self.config.motion_min_travel:
                return sighting[1]
        return None

    def _disputed(self, later: Sighting, slot_pose: Pose2D, lidar: BeamScan) -> np.ndarray:
        """Return which camera obstacles the slot's LiDAR scan does not corroborate."""
        bin_rad = math.radians(self.config.motion_bin_deg)
        nearest, _ = bin_scan(lidar, bin_rad)
        at_slot = into_frame(later.points, later.pose, slot_pose)
        index = bearing_bins(np.arctan2(at_slot[:, 1], at_slot[:, 0]), bin_rad)
        reach = np.hypot(at_slot[:, 0], at_slot[:, 1]) + self.config.motion_corroboration
        return nearest[index] > reach
