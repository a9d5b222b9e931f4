"""The safety gate's teleop input: `/cmd_vel_teleop` through the command mux (safety/command_mux).

Teleop is optional: no tick waits for it (in lockstep the gate still waits only for
`/cmd_vel_raw`). On each tick the mux picks the command, teleop while its newest one is fresh,
before the gate core caps it, holds it to the braking envelope and stops it without a speed
limit or a scan, exactly as it does a navigation command.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from geometry_msgs.msg import TwistStamped
from rclpy.node import Node

from robo_edge.robot.kinematics import Velocity
from robo_edge.ros import qos
from robo_edge.ros.stamps import from_msg
from robo_edge.safety.command_mux import (
    Drop,
    MuxConfig,
    MuxState,
    Source,
    StampedCommand,
    offer,
    select,
)
from robo_edge.safety.gate import GateInputs


class TeleopInput:
    """Holds the newest teleop command and chooses each tick's source.

    Subscribes to `topic` (geometry_msgs/TwistStamped, reliable depth 1: a best-effort
    publisher does not match) unless it is empty. `now_ns` gives the ticks' time line.
    """

    def __init__(self, node: Node, topic: str, config: MuxConfig,
                 now_ns: Callable[[], int]) -> None:
        self.config = config
        self.state = MuxState()
        self.source: Source | None = None  # no tick yet
        self.teleop_ticks = 0
        self.drops: Counter[str] = Counter()
        self._now_ns = now_ns
        if topic:
            node.create_subscription(TwistStamped, topic, self._on_command, qos.COMMAND)

    def _on_command(self, msg: TwistStamped) -> None:
        command = StampedCommand(from_msg(msg.header.stamp),
                                 Velocity(msg.twist.linear.x, msg.twist.angular.z))
        self.state, dropped = offer(self.state, command, self._now_ns(), self.config)
        self.drops.update(drop.value for drop in dropped)

    def choose(self, inputs: GateInputs) -> GateInputs:
        """Return the tick's inputs with the teleop command in place while it is fresh.

        Its freshness is the mux's (`teleop_timeout_s`), so the gate sees it as new now rather
        than applying its own `command_timeout_s`, sized for the controller's ticks.
        """
        result = select(self.state, inputs.now_ns, self.config)
        self.state, self.source = result.state, result.source
        self.drops.update(drop.value for drop in result.dropped)
        if result.teleop is None:
            return inputs
        self.teleop_ticks += 1
        return replace(inputs, command=result.teleop.velocity, command_time_ns=inputs.now_ns)

    def diagnostic_values(self) -> dict[str, str]:
        """Return the source of the last tick, the ticks teleop drove, and the drops by reason."""
        return {'source': self.source.value if self.source else 'none',
                'teleop_ticks': str(self.teleop_ticks),
                **{f'teleop_{drop.value}': str(self.drops[drop.value]) for drop in Drop}}
