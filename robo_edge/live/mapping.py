"""ROS messages -> Foxglove channel payloads (foxglove-sdk schemas, or JSON for the robot state).

Pure: no rclpy, no message package imported. Each function reads the fields of a ROS message
(sensor_msgs/LaserScan, nav_msgs/OccupancyGrid, ...) and returns what the live view logs on a
Foxglove channel: a `foxglove.messages` object where a Foxglove schema fits, else a
JSON-serialisable dict (strictly finite numbers: Foxglove parses JSON).
"""

from collections.abc import Iterable
from typing import Any

import numpy as np
from foxglove.messages import (
    FrameTransform,
    FrameTransforms,
    Grid,
    LaserScan,
    PackedElementField,
    PackedElementFieldNumericType,
    Pose,
    PoseInFrame,
    PosesInFrame,
    Quaternion,
    RawImage,
    Timestamp,
    Vector2,
    Vector3,
)

from robo_edge.robot.frames import FRAME_BASE, FRAME_MAP, FRAME_ODOM, Transform

LEVELS = {0: 'OK', 1: 'WARN', 2: 'ERROR', 3: 'STALE'}
# Occupancy -> RGBA: unknown (-1) faint grey, free (0) clear, occupied (100) black, in between
# shaded; alpha keeps the 3D panel's floor visible under free space.
_UNKNOWN_RGBA = (128, 128, 128, 60)
_RGBA_FIELDS = [PackedElementField(name=name, offset=i, type=PackedElementFieldNumericType.Uint8)
                for i, name in enumerate(('red', 'green', 'blue', 'alpha'))]


def _palette() -> np.ndarray:
    """Return the 256 x 4 RGBA lookup table of an int8 occupancy value (as uint8)."""
    table = np.tile(np.array(_UNKNOWN_RGBA, dtype=np.uint8), (256, 1))
    occupancy = np.arange(101)
    shade = (255 - occupancy * 255 // 100).astype(np.uint8)
    table[:101, 0] = table[:101, 1] = table[:101, 2] = shade
    table[:101, 3] = (40 + occupancy * 215 // 100).astype(np.uint8)
    return table


PALETTE = _palette()


def timestamp(stamp: Any) -> Timestamp:
    """Return the Foxglove timestamp of a builtin_interfaces/Time."""
    return Timestamp(int(stamp.sec), int(stamp.nanosec))


def timestamp_ns(stamp_ns: int) -> Timestamp:
    """Return the Foxglove timestamp of integer nanoseconds."""
    return Timestamp(stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000)


def laser_scan(msg: Any) -> LaserScan:
    """Return a sensor_msgs/LaserScan as a Foxglove LaserScan (beams by the increment)."""
    ranges = np.asarray(msg.ranges, dtype=np.float64)
    end = msg.angle_min + msg.angle_increment * max(len(ranges) - 1, 0)
    return LaserScan(timestamp=timestamp(msg.header.stamp), frame_id=msg.header.frame_id,
                     start_angle=float(msg.angle_min), end_angle=float(end), ranges=ranges,
                     intensities=np.asarray(msg.intensities, dtype=np.float64))


def occupancy_grid(msg: Any) -> Grid:
    """Return a nav_msgs/OccupancyGrid as an RGBA Foxglove Grid (row-major from the origin)."""
    width = int(msg.info.width)
    cells = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    resolution = float(msg.info.resolution)
    return Grid(timestamp=timestamp(msg.header.stamp), frame_id=msg.header.frame_id,
                pose=_pose(msg.info.origin), column_count=width,
                cell_size=Vector2(x=resolution, y=resolution), row_stride=4 * width,
                cell_stride=4, fields=_RGBA_FIELDS, data=PALETTE[cells].tobytes())


def raw_image(msg: Any) -> RawImage:
    """Return a sensor_msgs/Image as a Foxglove RawImage (same encoding and bytes)."""
    return RawImage(timestamp=timestamp(msg.header.stamp), frame_id=msg.header.frame_id,
                    width=int(msg.width), height=int(msg.height), encoding=msg.encoding,
                    step=int(msg.step), data=bytes(msg.data))


def pose_in_frame(msg: Any) -> PoseInFrame:
    """Return the pose of a PoseStamped, PoseWithCovarianceStamped or Odometry."""
    pose = msg.pose.pose if hasattr(msg.pose, 'pose') else msg.pose
    return PoseInFrame(timestamp=timestamp(msg.header.stamp), frame_id=msg.header.frame_id,
                       pose=_pose(pose))


def path(msg: Any) -> PosesInFrame:
    """Return a nav_msgs/Path as Foxglove PosesInFrame."""
    return PosesInFrame(timestamp=timestamp(msg.header.stamp), frame_id=msg.header.frame_id,
                        poses=[_pose(p.pose) for p in msg.poses])


def _pose(pose: Any) -> Pose:
    p, q = pose.position, pose.orientation
    return Pose(position=Vector3(x=float(p.x), y=float(p.y), z=float(p.z)),
                orientation=Quaternion(x=float(q.x), y=float(q.y), z=float(q.z), w=float(q.w)))


def correction_transform(msg: Any) -> Transform:
    """Return a geometry_msgs/TransformStamped (the map -> odom correction) as a Transform."""
    t, r = msg.transform.translation, msg.transform.rotation
    return Transform(msg.header.frame_id or FRAME_MAP, msg.child_frame_id or FRAME_ODOM,
                     (float(t.x), float(t.y), float(t.z)),
                     (float(r.x), float(r.y), float(r.z), float(r.w)),
                     _stamp_ns(msg.header.stamp))


def odometry_transform(msg: Any) -> Transform:
    """Return the odom -> base_link transform of a nav_msgs/Odometry."""
    p, q = msg.pose.pose.position, msg.pose.pose.orientation
    return Transform(msg.header.frame_id or FRAME_ODOM, msg.child_frame_id or FRAME_BASE,
                     (float(p.x), float(p.y), float(p.z)),
                     (float(q.x), float(q.y), float(q.z), float(q.w)),
                     _stamp_ns(msg.header.stamp))


def frame_transforms(transforms: Iterable[Transform]) -> FrameTransforms:
    """Return core transforms as Foxglove FrameTransforms (the 3D panel's frame tree)."""
    return FrameTransforms(transforms=[FrameTransform(
        timestamp=timestamp_ns(t.stamp_ns), parent_frame_id=t.parent, child_frame_id=t.child,
        translation=Vector3(x=t.translation[0], y=t.translation[1], z=t.translation[2]),
        rotation=Quaternion(x=t.rotation[0], y=t.rotation[1], z=t.rotation[2],
                            w=t.rotation[3])) for t in transforms])


def _stamp_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


# ---------------------------------------------------------------- JSON state channels


def mode(text: str) -> dict[str, str]:
    """Return /robo_edge/mode ('DEGRADED: obstacles from perception') as mode and reason."""
    name, _, reason = text.partition(':')
    return {'mode': name.strip(), 'reason': reason.strip(), 'text': text}


def obstacle_source(text: str) -> dict[str, str]:
    """Return /robo_edge/obstacle_source (lidar, perception, none)."""
    return {'source': text}


def diagnostics(msg: Any) -> dict[str, Any]:
    """Return a diagnostic_msgs/DiagnosticArray (breakers, scan source, /diagnostics) as JSON."""
    return {'stamp_ns': _stamp_ns(msg.header.stamp),
            'statuses': [status(s) for s in msg.status]}


def status(msg: Any) -> dict[str, Any]:
    """Return one diagnostic_msgs/DiagnosticStatus with its level named."""
    raw = msg.level
    level = raw[0] if isinstance(raw, (bytes, bytearray)) else int(raw)
    return {'name': msg.name, 'level': level, 'level_name': LEVELS.get(level, str(level)),
            'message': msg.message, 'hardware_id': msg.hardware_id,
            'values': {kv.key: kv.value for kv in msg.values}}


MODE_SCHEMA = {
    'type': 'object', 'title': 'robo_edge.Mode',
    'properties': {'mode': {'type': 'string'}, 'reason': {'type': 'string'},
                   'text': {'type': 'string'}},
}
SOURCE_SCHEMA = {'type': 'object', 'title': 'robo_edge.ObstacleSource',
                 'properties': {'source': {'type': 'string'}}}
DIAGNOSTICS_SCHEMA = {
    'type': 'object', 'title': 'robo_edge.Diagnostics',
    'properties': {
        'stamp_ns': {'type': 'integer'},
        'statuses': {'type': 'array', 'items': {'type': 'object', 'properties': {
            'name': {'type': 'string'}, 'level': {'type': 'integer'},
            'level_name': {'type': 'string'}, 'message': {'type': 'string'},
            'hardware_id': {'type': 'string'}, 'values': {'type': 'object'}}}},
    },
}
