"""/tf and /tf_static where tf2_msgs can be imported (a full ROS install), nothing elsewhere.

tf2_msgs has no PyPI wheel: on this project's Kilted/Jazzy wheels it is not importable, and the
robot graph goes on without /tf (the localiser's correction stays on
/localization/map_to_odom, and the live view carries the frames to Foxglove itself).
"""

from collections.abc import Iterable
from typing import Any

from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from robo_edge.robot.frames import FRAME_BASE, FRAME_ODOM, Transform, static_transforms
from robo_edge.ros.params import Param
from robo_edge.ros.stamps import to_msg

# tf2's own profiles: /tf_static latched for every late listener, /tf reliable with a queue.
TF_STATIC_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                           reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)
TF_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                    reliability=ReliabilityPolicy.RELIABLE)
# The robot profile's mounts and odometry topic (profile.node_parameters sets them), as the
# frames node and the live view declare them: read-only, the frames are fixed at start.
FRAME_PARAMS = [
    Param('laser_offset', [0.0, 0.0, 0.0], 'Laser mount in base_link: x, y (m), yaw (rad)',
          read_only=True),
    Param('camera', True, 'The robot has a camera (its frames are published)', read_only=True),
    Param('camera_xyz', [0.12, 0.0, 0.42], 'camera_link in base_link (m)', read_only=True),
    Param('camera_rpy', [0.0, 0.35, 0.0], 'camera_link roll, pitch, yaw in base_link (rad)',
          read_only=True),
    Param('odom_topic', '/odom', 'nav_msgs/Odometry of the base (odom -> base_link)',
          read_only=True),
]
UNAVAILABLE = ('tf2_msgs is not importable here (it has no PyPI wheel; a full ROS install has '
               'it): /tf and /tf_static are not published')


def frame_values_static(values: dict[str, Any]) -> tuple[Transform, ...]:
    """Return the static transforms of declared FRAME_PARAMS values."""
    return static_transforms(values['laser_offset'],
                             values['camera_xyz'] if values['camera'] else None,
                             values['camera_rpy'])


def tf_message_type() -> type | None:
    """Return tf2_msgs/TFMessage, or None where tf2_msgs cannot be imported."""
    try:
        from tf2_msgs.msg import TFMessage  # noqa: PLC0415 - optional: a full ROS install
    except ImportError:
        return None
    return TFMessage


def transform_msg(transform: Transform, stamp_ns: int | None = None) -> TransformStamped:
    """Return a core transform as a geometry_msgs/TransformStamped (stamped `stamp_ns`)."""
    msg = TransformStamped()
    msg.header.stamp = to_msg(transform.stamp_ns if stamp_ns is None else stamp_ns)
    msg.header.frame_id, msg.child_frame_id = transform.parent, transform.child
    t, r = msg.transform.translation, msg.transform.rotation
    t.x, t.y, t.z = transform.translation
    r.x, r.y, r.z, r.w = transform.rotation
    return msg


def tf_message(message_type: type, transforms: Iterable[Transform],
               stamp_ns: int | None = None) -> Any:
    """Return a TFMessage of `message_type` carrying `transforms`."""
    return message_type(transforms=[transform_msg(t, stamp_ns) for t in transforms])


def odometry_tf(msg: Any) -> TransformStamped:
    """Return the odom -> base_link transform of a nav_msgs/Odometry (its pose, its stamp)."""
    out = TransformStamped()
    out.header.stamp = msg.header.stamp
    out.header.frame_id = msg.header.frame_id or FRAME_ODOM
    out.child_frame_id = msg.child_frame_id or FRAME_BASE
    p, t = msg.pose.pose.position, out.transform.translation
    t.x, t.y, t.z = p.x, p.y, p.z
    out.transform.rotation = msg.pose.pose.orientation
    return out
