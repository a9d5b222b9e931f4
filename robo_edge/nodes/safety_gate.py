"""Safety gate: the last word before the base, and the twin's only lockstep partner.

For each tick t_k it needs `/cmd_vel_raw` stamped exactly t_k and the scan stamped
latest_due(t_k, 10 Hz). A tick missing one waits, retried on every arrival, and a steady 10 ms
timer releases it after `input_wait_s` (wall) with the newest inputs not later than t_k: a
missing command is then simply not fresh, and the core's `command_timeout_s` (sim time) ramps
the base to zero. So a dead controller yields decelerating commands, never a frozen clock; and
once the newest command is older than `command_timeout_s` the controller counts as lost and ticks
stop waiting for it (until its commands come back), so a dead controller does not slow the run.
A scan with every beam NaN (sensor_guard's "no information") satisfies the wait but carries the
last informative scan, which keeps ageing. The gate fails closed: it stops until a speed limit
has arrived, when one stops arriving (the mode manager is dead) for `speed_limit_timeout_s`, on
a limit of 0 (only +inf lifts the cap), and without a fresh obstacle scan unless the documented
crawl option (`stop_without_scan: false`, at `crawl_speed`) is set.
With `tick_source: timer` (a robot) a wall timer ticks and the newest inputs are used at once.
Teleop (`teleop_topic`) outranks `/cmd_vel_raw` while fresh (`ros/teleop.py`), under the same
limits; no tick waits for it.
"""

import math
import time
from collections import Counter, deque
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import TwistStamped
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import LaserScan
from std_msgs.msg import Float64

from robo_edge.control.scan_geometry import ScanLayout, looks_along, scan_points
from robo_edge.exceptions import ConfigError
from robo_edge.lockstep import (
    LATE_RELEASE,
    OVERDUE_CHECK_PERIOD_S,
    PendingTick,
    StampedBuffer,
    latest_due,
)
from robo_edge.robot.kinematics import Velocity
from robo_edge.ros import qos
from robo_edge.ros.diagnostics import percentile_values
from robo_edge.ros.gate_params import (
    LIVE,
    NODE_NAME,
    PARAMS,
    apply_live,
    gate_config,
    laser_offset,
    mux_config,
)
from robo_edge.ros.gate_params import speed_cap as speed_cap
from robo_edge.ros.params import LiveParameters, declare
from robo_edge.ros.readiness import ReadinessReporter
from robo_edge.ros.run import spin_node
from robo_edge.ros.stamps import from_msg, to_msg
from robo_edge.ros.teleop import TeleopInput
from robo_edge.ros.ticks import TickDriven
from robo_edge.safety.gate import (
    GateInputs,
    GateReason,
    GateResult,
    GateState,
    ScanPoints,
    tick,
)

STATUS_NAME = 'robo_edge/safety_gate'
# The controller answers once per tick; a short queue keeps a burst after a stall whole.
RAW_COMMAND_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE
)
OK, WARN = 0, 1
# Reasons that mean the gate is covering for a fault, not just shaping a command.
FAULT_REASONS = {GateReason.COMMAND_TIMEOUT, GateReason.INVALID_COMMAND,
                 GateReason.NO_SCAN_CRAWL, GateReason.NO_SCAN_STOP, GateReason.HARD_STOP}

class SafetyGateNode(TickDriven, Node):
    """Answers each tick with a /cmd_vel the gate core allows, stamped exactly t_k.

    Parameters: see PARAMS (tick_source, rate_hz, input_wait_s, startup_wait_s, scan_rate_hz,
    the GateConfig fields, laser_offset, keep_too_close, base limits, diagnostics_period_s,
    teleop_topic, teleop_timeout_s).
    Subscriptions: /clock (rosgraph_msgs/Clock, tick_source clock), /cmd_vel_raw
    (geometry_msgs/TwistStamped, reliable), /safety/scan (sensor_msgs/LaserScan, best effort),
    /robo_edge/speed_limit (std_msgs/Float64 m/s, reliable transient local), teleop_topic
    (geometry_msgs/TwistStamped, reliable; optional).
    Publishers: /cmd_vel (geometry_msgs/TwistStamped, reliable depth 1, frame base_link),
    /diagnostics (diagnostic_msgs/DiagnosticArray, status robo_edge/safety_gate).
    """

    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        v = self.values = declare(self, PARAMS)
        source = str(v['tick_source'])
        if source not in ('clock', 'timer'):
            raise ConfigError(f'{NODE_NAME} parameters', 'tick_source', 'clock or timer', source)
        self._exact = source == 'clock'
        self.config = gate_config(v)
        self._laser = laser_offset(v['laser_offset'])
        self.state = GateState()
        self.cap: float | None = math.nan  # no limit has arrived yet: stop
        self._cap_time_ns: int | None = None
        self._informative: ScanPoints | None = None
        self.uninformative_scans = 0
        self._commands, self._scans = StampedBuffer(32), StampedBuffer(8)
        self.reasons: Counter[str] = Counter()
        self.ticks, self.late_ticks, self.lost_controller_ticks = 0, 0, 0
        self._last: GateResult | None = None
        self._latency_ms: deque[float] = deque(maxlen=400)
        self._publisher = self.create_publisher(TwistStamped, '/cmd_vel', qos.COMMAND)
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                  qos.DIAGNOSTICS)
        # The speed limit is required: without one the gate stops.
        self.readiness = ReadinessReporter(self, [
            self.create_subscription(TwistStamped, '/cmd_vel_raw', self._on_command,
                                     RAW_COMMAND_QOS),
            self.create_subscription(LaserScan, '/safety/scan', self._on_scan, qos.SENSOR),
            self.create_subscription(Float64, '/robo_edge/speed_limit', self._on_cap,
                                     qos.LATCHED)])
        self.teleop = TeleopInput(self, str(v['teleop_topic']), mux_config(v), self._tick_time_ns)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(OVERDUE_CHECK_PERIOD_S, self._service, clock=steady)
        self.create_timer(float(v['diagnostics_period_s']), self.publish_diagnostics,
                          clock=steady)
        self.create_tick_source(self._exact, float(v['rate_hz']))
        self.live = LiveParameters(self, PARAMS, v, LIVE, self._retune)

    def _retune(self, values: dict[str, Any], changed: dict[str, Any]) -> None:
        """Apply a parameter change at once (ConfigError: refused, nothing applied)."""
        config, laser = apply_live(self.values, changed, self.config, self._laser)
        self.config, self._laser, self.teleop.config = config, laser, mux_config(values)

    # -- inputs -----------------------------------------------------------------------------
    def _on_command(self, msg: TwistStamped) -> None:
        command = Velocity(msg.twist.linear.x, msg.twist.angular.z)
        self._commands.add(from_msg(msg.header.stamp), command)
        self._service()

    def _on_scan(self, msg: LaserScan) -> None:
        stamp_ns = from_msg(msg.header.stamp)
        ranges = np.asarray(msg.ranges, dtype=np.float32)
        if ranges.size and np.all(np.isnan(ranges)):
            # No information: the slot is answered, with the last informative scan (or none).
            self.uninformative_scans += 1
            self._scans.add(stamp_ns, self._informative)
            self._service()
            return
        layout = ScanLayout(msg.angle_min, msg.angle_increment, msg.range_min, msg.range_max)
        x, y = scan_points(ranges, layout, self._laser,
                           keep_too_close=bool(self.values['keep_too_close']))
        self._informative = ScanPoints(
            x, y, stamp_ns, blind_ahead=not looks_along(ranges, layout, 0.0, self._laser),
            blind_behind=not looks_along(ranges, layout, math.pi, self._laser))
        self._scans.add(stamp_ns, self._informative)
        self._service()

    def _on_cap(self, msg: Float64) -> None:
        self.cap = speed_cap(float(msg.data))
        self._cap_time_ns = self._tick_time_ns()

    def _tick_time_ns(self) -> int:
        """Return now on the ticks' time line: the oldest unanswered /clock tick, or the clock."""
        if self._exact:
            pending = self._ticks.pending
            return pending[0].tick_ns if pending else self._ticks.last_tick_ns
        return self.get_clock().now().nanoseconds

    def current_cap(self, now_ns: int) -> float | None:
        """Return the cap now: NaN (stop) before the first one, or once it is too old.

        A cap received after `now_ns` (the clock went back since) is not trusted: the gate
        stops until the next one arrives on the new time line.
        """
        timeout_s = float(self.values['speed_limit_timeout_s'])
        if self._cap_time_ns is None or now_ns < self._cap_time_ns:
            return math.nan
        if timeout_s <= 0:
            return self.cap
        if now_ns - self._cap_time_ns > timeout_s * 1e9:
            return math.nan
        return self.cap

    def _controller_lost(self, tick_ns: int) -> bool:
        """Return True when the newest command is older than the command timeout."""
        newest = self._commands.latest_not_after(tick_ns)
        if newest is None:
            return self.ticks > 0
        return tick_ns - newest[0] > self.config.command_timeout_s * 1e9

    # -- ticks ------------------------------------------------------------------------------
    def _start_over(self, tick_ns: int) -> None:
        self.state = GateState()
        self._cap_time_ns = None  # a new time line: stop until the next cap arrives on it
        for buffer in (self._commands, self._scans):
            buffer.items = {s: item for s, item in buffer.items.items() if s <= tick_ns}

    def _service(self) -> None:
        """Answer pending ticks in order: each when its inputs are held, or once overdue."""
        now = time.monotonic()
        # The first tick also waits for the controller's publisher to match ours.
        wait_s = float(self.values['startup_wait_s' if self.ticks == 0 else 'input_wait_s'])
        while self._ticks.pending:
            head = self._ticks.pending[0]
            inputs = self._exact_inputs(head.tick_ns) if self._exact else None
            if inputs is None:
                if self._exact and not head.overdue(now, wait_s):
                    return
                inputs = self._newest_inputs(head.tick_ns)
            self._ticks.pending.pop(0)
            self._answer(head, inputs)

    def _exact_inputs(self, tick_ns: int) -> GateInputs | None:
        command = self._commands.at(tick_ns)
        lost = command is None and self._controller_lost(tick_ns)
        if command is None and not lost:
            return None
        scan_due = latest_due(tick_ns, float(self.values['scan_rate_hz']))
        if scan_due is not None and scan_due not in self._scans.items:
            return None
        scan = self._scans.at(scan_due)
        if lost:
            self.lost_controller_ticks += 1
            newest = self._commands.latest_not_after(tick_ns)
            return GateInputs(tick_ns, newest[1] if newest else None,
                              newest[0] if newest else None, self.current_cap(tick_ns), scan)
        return GateInputs(tick_ns, command, tick_ns, self.current_cap(tick_ns), scan)

    def _newest_inputs(self, tick_ns: int) -> GateInputs:
        command = self._commands.latest_not_after(tick_ns)
        scan = self._scans.latest_not_after(tick_ns)
        if self._exact:
            self.late_ticks += 1
            self.get_logger().warning(
                f'{LATE_RELEASE} tick {tick_ns / 1e9:.3f} s released after '
                f'{self.values["input_wait_s"]} s '
                f'(command {"held" if self._commands.at(tick_ns) else "missing"}): '
                'answered with the newest inputs', throttle_duration_sec=1.0)
        return GateInputs(tick_ns, command[1] if command else None,
                          command[0] if command else None, self.current_cap(tick_ns),
                          scan[1] if scan else None)

    def _answer(self, pending: PendingTick, inputs: GateInputs) -> None:
        result = tick(self.state, self.teleop.choose(inputs), self.config)
        self.state, self._last = result.state, result
        self.reasons.update(reason.value for reason in result.reasons)
        out = TwistStamped()
        out.header.stamp = to_msg(pending.tick_ns)
        out.header.frame_id = 'base_link'
        out.twist.linear.x = result.velocity.linear
        out.twist.angular.z = result.velocity.angular
        self._publisher.publish(out)
        self.ticks += 1
        self._latency_ms.append((time.monotonic() - pending.since_wall_s) * 1e3)

    # -- diagnostics ------------------------------------------------------------------------
    def publish_diagnostics(self) -> None:
        """Publish the gate's DiagnosticStatus: reasons so far, late ticks, the last output."""
        last = self._last
        reasons = [r.value for r in last.reasons] if last else []
        faults = [r for r in reasons if GateReason(r) in FAULT_REASONS]
        values = {
            'ticks': str(self.ticks), 'late_ticks': str(self.late_ticks),
            'lost_controller_ticks': str(self.lost_controller_ticks),
            'uninformative_scans': str(self.uninformative_scans),
            'last_linear': f'{last.velocity.linear:.3f}' if last else '0.000',
            'last_angular': f'{last.velocity.angular:.3f}' if last else '0.000',
            'last_reasons': ','.join(reasons),
            'speed_cap': 'none' if self.cap is None else (
                'stop' if math.isnan(self.cap) else f'{self.cap:.3f}'),
            'gap_ahead': f'{last.gap_ahead:.3f}' if last else 'inf',
            **percentile_values('tick_ms', self._latency_ms), **self.teleop.diagnostic_values(),
            **{f'reason_{r.value}': str(self.reasons[r.value]) for r in GateReason},
        }
        status = DiagnosticStatus(
            level=bytes([WARN if faults else OK]), name=STATUS_NAME,
            hardware_id=self.get_name(), message=', '.join(faults) or 'ok',
            values=[KeyValue(key=k, value=value) for k, value in values.items()])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics.publish(array)


def main(args: list[str] | None = None) -> int:
    """Run the safety gate until stopped."""
    return spin_node(SafetyGateNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
