"""Navigation messages <-> core types, and the exact-stamp join of an input with odometry.

Frames: `map` is the world frame; the correction is the pose of `odom` in `map` (the
localiser's, or `initial_pose` under dead reckoning), so the map pose of the base is the
correction composed with the odometry pose. The join holds items (scans, maps) until the
odometry (and, when asked, the correction) stamped exactly like them arrives, releasing them in
stamp order; one that waited longer than its bound goes with the newest ones not later than its
stamp (docs/architecture.md, Navigation lockstep).
"""

import array
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import (
    PoseStamped,
    PoseWithCovarianceStamped,
    Quaternion,
    TransformStamped,
)
from nav_msgs.msg import OccupancyGrid, Odometry, Path

from robo_edge.lockstep import PendingTick, StampedBuffer, latest_due
from robo_edge.mapping.mapper import GridGeometry, compose_pose
from robo_edge.robot.grid import UNKNOWN, Grid
from robo_edge.robot.kinematics import Pose2D, wrap_angle, yaw_to_quaternion
from robo_edge.ros import qos
from robo_edge.ros.stamps import from_msg, to_msg

FRAME_MAP = 'map'
FRAME_ODOM = 'odom'
FRAME_BASE = 'base_link'
CORRECTION_TOPIC = '/localization/map_to_odom'
# /map with the fallback's short-lived obstacles laid over it (mapping/transient.py): what
# the planner plans on. /map itself holds only what the LiDAR mapped (votes, uploads).
NAVIGATION_MAP_TOPIC = '/map/navigation'
POSE_TOPIC = '/localization/pose'
Point = tuple[float, float]


def quaternion_yaw(q: Quaternion) -> float:
    """Return the yaw (rotation about z) of a quaternion."""
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def yaw_quaternion(yaw: float) -> Quaternion:
    """Return the quaternion of a planar rotation."""
    x, y, z, w = yaw_to_quaternion(yaw)
    return Quaternion(x=x, y=y, z=z, w=w)


def pose_from_list(values: Sequence[float], name: str) -> Pose2D:
    """Return the Pose2D of an [x, y, yaw] parameter; raise ValueError naming it otherwise."""
    floats = [float(v) for v in values]
    if len(floats) != 3 or not all(map(math.isfinite, floats)):
        raise ValueError(f'parameter {name} must be [x, y, yaw] (finite), got {floats}')
    return Pose2D(*floats)


def odom_pose(msg: Odometry) -> Pose2D:
    """Return the base pose an Odometry message holds, in its own frame (odom)."""
    p = msg.pose.pose
    return Pose2D(p.position.x, p.position.y, quaternion_yaw(p.orientation))


def map_pose(initial_pose: Pose2D, odom: Pose2D) -> Pose2D:
    """Return the map pose of the base: `odom` seen from `initial_pose` (odom in map)."""
    pose = compose_pose(initial_pose, odom)
    return Pose2D(pose.x, pose.y, wrap_angle(pose.yaw))


def correction_msg(correction: Pose2D, stamp_ns: int) -> TransformStamped:
    """Return the map -> odom transform (the pose of odom in map), stamped `stamp_ns`."""
    msg = TransformStamped()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id, msg.child_frame_id = FRAME_MAP, FRAME_ODOM
    msg.transform.translation.x = float(correction.x)
    msg.transform.translation.y = float(correction.y)
    msg.transform.rotation = yaw_quaternion(correction.yaw)
    return msg


def correction_from_msg(msg: TransformStamped) -> Pose2D:
    """Return the pose of odom in map a map -> odom TransformStamped holds."""
    t = msg.transform
    return Pose2D(t.translation.x, t.translation.y, quaternion_yaw(t.rotation))


def pose_with_covariance_msg(
    pose: Pose2D, variances: tuple[float, float, float], stamp_ns: int,
) -> PoseWithCovarianceStamped:
    """Return the base pose in map with x, y, yaw variances (inf: unknown, REP 103 order)."""
    msg = PoseWithCovarianceStamped()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id = FRAME_MAP
    msg.pose.pose.position.x, msg.pose.pose.position.y = float(pose.x), float(pose.y)
    msg.pose.pose.orientation = yaw_quaternion(pose.yaw)
    covariance = [0.0] * 36
    covariance[0], covariance[7], covariance[35] = (float(v) for v in variances)
    msg.pose.covariance = covariance
    return msg


def goal_pose(msg: PoseStamped) -> Pose2D:
    """Return the planar pose of a PoseStamped (RViz's goal)."""
    p = msg.pose
    return Pose2D(p.position.x, p.position.y, quaternion_yaw(p.orientation))


def grid_msg(grid: Grid, stamp_ns: int, frame_id: str = FRAME_MAP) -> OccupancyGrid:
    """Return the OccupancyGrid of a grid, stamped `stamp_ns`."""
    msg = OccupancyGrid()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id = frame_id
    msg.info.map_load_time = to_msg(stamp_ns)
    msg.info.resolution = float(grid.resolution)
    msg.info.width, msg.info.height = grid.width, grid.height
    msg.info.origin.position.x = float(grid.origin_x)
    msg.info.origin.position.y = float(grid.origin_y)
    msg.info.origin.orientation = yaw_quaternion(grid.origin_yaw)
    msg.data = array.array('b', np.ascontiguousarray(grid.data, dtype=np.int8).tobytes())
    return msg


def grid_from_msg(msg: OccupancyGrid) -> Grid:
    """Return the Grid of an OccupancyGrid (raises GridError when inconsistent)."""
    info = msg.info
    data = np.frombuffer(msg.data, dtype=np.int8) if len(msg.data) else np.zeros(0, np.int8)
    return Grid.from_flat(
        data, info.width, info.height, info.resolution, info.origin.position.x,
        info.origin.position.y, quaternion_yaw(info.origin.orientation),
    )


def path_msg(
    points: Sequence[Point], goal_yaw: float, stamp_ns: int, frame_id: str = FRAME_MAP,
) -> Path:
    """Return a Path through `points`: each pose faces the next, the last one the goal yaw."""
    msg = Path()
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id = frame_id
    for i, (x, y) in enumerate(points):
        if i + 1 < len(points):
            nx, ny = points[i + 1]
            yaw = math.atan2(ny - y, nx - x)
        else:
            yaw = goal_yaw
        pose = PoseStamped()
        pose.header = msg.header
        pose.pose.position.x, pose.pose.position.y = float(x), float(y)
        pose.pose.orientation = yaw_quaternion(yaw)
        msg.poses.append(pose)
    return msg


def path_points(msg: Path) -> list[Point]:
    """Return the (x, y) points of a Path."""
    return [(p.pose.position.x, p.pose.position.y) for p in msg.poses]


def resample(grid: Grid, geometry: GridGeometry) -> np.ndarray:
    """Return `grid` sampled onto the mapper's `geometry`: int8 (height, width), -1 outside.

    Each target cell takes the highest value of the source cells under a k x k set of samples
    (k covers a finer source), so a thin wall survives a coarser grid and known beats unknown.
    """
    k = max(1, math.ceil(geometry.resolution / grid.resolution - 1e-9))
    offsets = (np.arange(k) + 0.5) / k
    cols = np.arange(geometry.width)[:, None] + offsets[None, :]
    rows = np.arange(geometry.height)[:, None] + offsets[None, :]
    xs = geometry.origin_x + cols.ravel() * geometry.resolution
    ys = geometry.origin_y + rows.ravel() * geometry.resolution
    gx, gy = np.meshgrid(xs, ys)
    uv = np.floor(grid.world_to_grid(np.stack([gx.ravel(), gy.ravel()], axis=1))).astype(int)
    inside = ((uv[:, 0] >= 0) & (uv[:, 0] < grid.width)
              & (uv[:, 1] >= 0) & (uv[:, 1] < grid.height))
    values = np.full(uv.shape[0], UNKNOWN, dtype=np.int8)
    values[inside] = grid.data[uv[inside, 1], uv[inside, 0]]
    samples = values.reshape(geometry.height, k, geometry.width, k)
    return samples.max(axis=(1, 3)).astype(np.int8)


@dataclass(frozen=True)
class Joined:
    """An item released with the pose it goes with; `pose` None: no odometry to use.

    `correction` is the pose of odom in map stamped like the item (or the newest before it
    once the wait is over; None when the join takes no corrections or none came yet).
    """

    stamp_ns: int
    item: object
    pose: Pose2D | None
    pose_stamp_ns: int | None
    correction: Pose2D | None = None
    correction_stamp_ns: int | None = None
    wants_correction: bool = False
    pose_due_ns: int | None = None  # the odometry stamp due at stamp_ns (default: stamp_ns)

    @property
    def late(self) -> bool:
        """Whether the item went with other inputs than its own stamp's (or none)."""
        if self.wants_correction and self.correction_stamp_ns != self.stamp_ns:
            return True
        due = self.stamp_ns if self.pose_due_ns is None else self.pose_due_ns
        return self.pose_stamp_ns != due


class ExactStampJoin:
    """Items waiting for the pose (and correction) stamped exactly like them, in stamp order.

    With `pose_rate_hz` the pose an item at s waits for is the odometry sample due at s
    (latest_due(s, pose_rate_hz)): a 15 Hz scan falls between 50 Hz odometry stamps.
    """

    def __init__(self, wait_s: float, keep: int = 256, corrections: bool = False,
                 pose_rate_hz: float | None = None) -> None:
        self.wait_s = wait_s
        self.pose_rate_hz = pose_rate_hz
        self.poses = StampedBuffer(keep=keep)
        self.corrections = StampedBuffer(keep=keep) if corrections else None
        # Another input an item waits for (bounded like the rest): whether it is here at s.
        self.also_wait_for: Callable[[int], bool] = lambda _stamp_ns: True
        self._pending: list[tuple[PendingTick, object]] = []
        self._last_ns: int | None = None

    @property
    def pending(self) -> int:
        """Return how many items are waiting."""
        return len(self._pending)

    def add_pose(self, stamp_ns: int, pose: Pose2D) -> None:
        """Hold a pose for the items stamped like it."""
        self.poses.add(stamp_ns, pose)

    def add_correction(self, stamp_ns: int, correction: Pose2D) -> None:
        """Hold a correction (odom in map) for the items stamped like it."""
        if self.corrections is not None:
            self.corrections.add(stamp_ns, correction)

    def add_item(self, stamp_ns: int, item: object, now_wall_s: float) -> bool:
        """Queue an item; False (not queued) when it is not newer than every earlier one."""
        newest = self._pending[-1][0].tick_ns if self._pending else self._last_ns
        if newest is not None and stamp_ns <= newest:
            return False
        self._pending.append((PendingTick(stamp_ns, now_wall_s), item))
        return True

    def release(self, now_wall_s: float) -> list[Joined]:
        """Return the items whose pose is here or whose wait is over, oldest first."""
        out: list[Joined] = []
        while self._pending:
            tick, item = self._pending[0]
            s = tick.tick_ns
            due = self._pose_due(s)
            pose, correction = self.poses.at(due), self._correction_at(s)
            if pose is not None and correction is not None and self.also_wait_for(s):
                out.append(self._joined(s, item, (due, pose), correction, due))
            elif tick.overdue(now_wall_s, self.wait_s):
                pose_at = (due, pose) if pose is not None else self.poses.latest_not_after(s)
                if correction is None and self.corrections is not None:
                    correction = self.corrections.latest_not_after(s)
                out.append(self._joined(s, item, pose_at, correction, due))
            else:
                break
            self._pending.pop(0)
            self._last_ns = s
        return out

    def _pose_due(self, stamp_ns: int) -> int:
        """Return the stamp of the pose an item stamped `stamp_ns` goes with."""
        if self.pose_rate_hz is None:
            return stamp_ns
        due = latest_due(stamp_ns, self.pose_rate_hz)
        return stamp_ns if due is None else due

    def _correction_at(self, stamp_ns: int) -> tuple[int, Pose2D] | bool | None:
        """(stamp, correction) held at the stamp; True when the join takes none."""
        if self.corrections is None:
            return True
        correction = self.corrections.at(stamp_ns)
        return None if correction is None else (stamp_ns, correction)

    def _joined(self, stamp_ns: int, item: object, pose: tuple[int, Pose2D] | None,
                correction: tuple[int, Pose2D] | bool | None, pose_due_ns: int) -> Joined:
        pose_stamp, pose_value = pose if pose is not None else (None, None)
        held = correction if isinstance(correction, tuple) else None
        return Joined(stamp_ns, item, pose_value, pose_stamp, held[1] if held else None,
                      held[0] if held else None, self.corrections is not None, pose_due_ns)


def stamp_of(msg: object) -> int:
    """Return the header stamp of a message in nanoseconds."""
    return from_msg(msg.header.stamp)


def localization_subscriptions(node: object, on_correction: object, on_pose: object) -> list:
    """Subscribe to the localiser's correction and pose (covariance), to be joined by stamp."""
    return [
        node.create_subscription(TransformStamped, CORRECTION_TOPIC, on_correction,
                                 qos.CORRECTION),
        node.create_subscription(PoseWithCovarianceStamped, POSE_TOPIC, on_pose,
                                 qos.CORRECTION)]
