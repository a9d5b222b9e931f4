"""Test fixture: a tiny rclpy node publishing `<node name> <pid> <tag>` on /heartbeat.

Parameters: period_s (float, 0.1), tag (string, ''). Shuts rclpy down cleanly on SIGINT/SIGTERM.
"""

import os
import signal
import sys
import threading

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def main() -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    rclpy.init(args=sys.argv, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = rclpy.create_node('heartbeat')
    period = node.declare_parameter('period_s', 0.1).value
    tag = node.declare_parameter('tag', '').value
    pub = node.create_publisher(String, '/heartbeat', QOS)
    text = f'{node.get_name()} {os.getpid()} {tag}'
    node.create_timer(period, lambda: pub.publish(String(data=text)))
    node.get_logger().info(f'beating every {period} s as "{text}"')
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    while not stop.is_set():
        executor.spin_once(timeout_sec=0.05)
    executor.remove_node(node)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
