"""Scripted driver: answers every simulated clock tick with the scripted command for it.

It is a command source like the controller: by default it publishes `/cmd_vel_raw`, which only
the safety gate turns into `/cmd_vel` for the base. The twin's open-loop scripted scenarios,
which test ingest and the twin itself rather than the stack, set `output_topic: /cmd_vel` and
are the twin's lockstep partner directly (the bringup says so where it does it). The script
(`segments`, `start_time_s`) applies live from the next tick; where commands go is read-only.
"""

from typing import Any

from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from rosgraph_msgs.msg import Clock

from robo_edge.control.script import DriveScript
from robo_edge.ros import qos
from robo_edge.ros.params import LiveParameters, Param, declare
from robo_edge.ros.run import spin_node
from robo_edge.ros.stamps import from_msg

PARAMS = [
    Param('segments', [0.0], 'Flat [for_s, linear, angular, ...] triples; [0.0] means none'),
    Param('start_time_s', 0.0, 'Simulated time at which the script starts', 0.0, 1e6),
    Param('output_topic', '/cmd_vel_raw', "Where commands go (TwistStamped): the gate's input; "
          '/cmd_vel only for an open-loop twin harness', read_only=True),
]
LIVE = frozenset({'segments', 'start_time_s'})


class DriveScriptNode(Node):
    """Publishes a scripted TwistStamped for each /clock tick.

    Parameters: segments (double[]), start_time_s (double) (both live), output_topic (string,
    read-only).
    Subscriptions: /clock (rosgraph_msgs/Clock).
    Publishers: output_topic (geometry_msgs/TwistStamped, reliable, frame base_link).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('drive_script', **kwargs)
        values = declare(self, PARAMS)
        self._retune(values, values)
        self.publisher = self.create_publisher(
            TwistStamped, str(values['output_topic']), qos.COMMAND
        )
        self.create_subscription(Clock, '/clock', self._on_clock, qos.CLOCK)
        self.live = LiveParameters(self, PARAMS, values, LIVE, self._retune)

    def _retune(self, values: dict[str, Any], _changed: dict[str, Any]) -> None:
        """Drive the script of `values` from the next tick on (ConfigError: a bad script)."""
        flat = [float(v) for v in values['segments']]
        script = DriveScript.from_flat([] if flat == [0.0] else flat)
        self.script, self.start_ns = script, int(float(values['start_time_s']) * 1e9)
        self.get_logger().info(
            f'{len(self.script.segments)} segments, {self.script.duration_s:.1f} s scripted'
        )

    def _on_clock(self, msg: Clock) -> None:
        stamp_ns = from_msg(msg.clock)
        command = self.script.command_at((stamp_ns - self.start_ns) / 1e9)
        out = TwistStamped()
        out.header.stamp = msg.clock
        out.header.frame_id = 'base_link'
        out.twist.linear.x = command.linear
        out.twist.angular.z = command.angular
        self.publisher.publish(out)


def main(args: list[str] | None = None) -> int:
    """Run the scripted driver until stopped."""
    return spin_node(DriveScriptNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
