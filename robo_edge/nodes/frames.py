"""frames: the robot's frames on /tf_static and /tf, where tf2_msgs can be imported.

/tf_static: base_link -> laser, base_link -> camera_link -> camera_optical_frame, from the
robot profile's mounts (robo_edge/robot/frames.py). /tf: map -> odom, the localiser's
correction as the mapper sends it on /localization/map_to_odom, and odom -> base_link from
odometry. Where tf2_msgs is not importable (this project's PyPI wheels) the executable says so
and exits 0 at once: nothing else in the graph depends on /tf.
"""

import sys
from typing import Any

from geometry_msgs.msg import TransformStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node

from robo_edge.ros import qos
from robo_edge.ros.params import Param, declare
from robo_edge.ros.run import spin_node
from robo_edge.ros.tf import (
    FRAME_PARAMS,
    TF_QOS,
    TF_STATIC_QOS,
    UNAVAILABLE,
    frame_values_static,
    odometry_tf,
    tf_message,
    tf_message_type,
)

NODE_NAME = 'frames'
CORRECTION_TOPIC = '/localization/map_to_odom'

PARAMS = [
    *FRAME_PARAMS,
    Param('publish_odom_tf', True, 'Send odom -> base_link (false where the base driver does)',
          read_only=True),
]

class FramesNode(Node):
    """Publishes the robot's frames (REP 105) as tf2 does.

    Parameters (read-only): laser_offset, camera, camera_xyz, camera_rpy (the robot profile's
    mounts), odom_topic, publish_odom_tf.
    Subscriptions: /localization/map_to_odom (geometry_msgs/TransformStamped), odom_topic
    (nav_msgs/Odometry, when publish_odom_tf).
    Publishers: /tf_static (tf2_msgs/TFMessage, latched), /tf (tf2_msgs/TFMessage).
    """

    def __init__(self, message_type: type, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        v = self.values = declare(self, PARAMS)
        self._type = message_type
        self.static = frame_values_static(v)
        self._static_pub = self.create_publisher(message_type, '/tf_static', TF_STATIC_QOS)
        self._tf_pub = self.create_publisher(message_type, '/tf', TF_QOS)
        self._static_pub.publish(tf_message(message_type, self.static,
                                            self.get_clock().now().nanoseconds))
        self.create_subscription(TransformStamped, CORRECTION_TOPIC, self._on_correction,
                                 qos.CORRECTION)
        if v['publish_odom_tf']:
            self.create_subscription(Odometry, v['odom_topic'], self._on_odom, qos.SENSOR_BURST)

    def _on_correction(self, msg: TransformStamped) -> None:
        self._tf_pub.publish(self._type(transforms=[msg]))

    def _on_odom(self, msg: Odometry) -> None:
        self._tf_pub.publish(self._type(transforms=[odometry_tf(msg)]))


def main(args: list[str] | None = None) -> int:
    """Run frames until stopped; exit 0 at once where tf2_msgs is not importable."""
    message_type = tf_message_type()
    if message_type is None:
        print(UNAVAILABLE, file=sys.stderr, flush=True)
        return 0
    return spin_node(lambda: FramesNode(message_type), args)


if __name__ == '__main__':
    raise SystemExit(main())
