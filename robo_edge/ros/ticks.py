"""Answering control ticks: on each `/clock` tick in lockstep, or on the node's own timer."""

import time

from rosgraph_msgs.msg import Clock as ClockMsg

from robo_edge.lockstep import TickEvent, TickQueue
from robo_edge.ros import qos
from robo_edge.ros.stamps import from_msg


class TickDriven:
    """Mixin for a Node that answers ticks in order; re-sent ticks are ignored.

    The node provides `_service()` (answer the pending ticks it can) and `_start_over(tick_ns)`
    (drop its state when the clock goes back, as a new run does).
    """

    _ticks: TickQueue

    def create_tick_source(self, exact: bool, rate_hz: float) -> None:
        """Tick on every `/clock` message (`exact`, lockstep) or on a timer at `rate_hz`."""
        self._ticks = TickQueue()
        if exact:
            self.create_subscription(ClockMsg, '/clock', self._on_clock, qos.CLOCK)
        else:
            self.create_timer(1.0 / rate_hz, self._on_timer)

    def _on_clock(self, msg: ClockMsg) -> None:
        self._enqueue(from_msg(msg.clock))

    def _on_timer(self) -> None:
        self._enqueue(self.get_clock().now().nanoseconds)

    def _enqueue(self, tick_ns: int) -> None:
        event = self._ticks.enqueue(tick_ns, time.monotonic())
        if event == TickEvent.REPEAT:
            return
        if event == TickEvent.RESTART:
            self.get_logger().warning(f'clock went back to {tick_ns / 1e9:.3f} s: starting over')
            self._start_over(tick_ns)
        self._service()
