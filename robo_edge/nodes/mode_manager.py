"""mode_manager: breaker states and the obstacle source -> NOMINAL, DEGRADED or SAFE_STOP.

It reads sensor_guard's `/robo_edge/breakers` and publishes the mode and its speed cap
(robo_edge/breakers/mode.py: one-way escalation within an incident, a hold before NOMINAL).
If sensor_guard goes silent for `guard_timeout_s`, nothing is known: SAFE_STOP. The cap goes
out on every update and on a timer, so the gate can tell a live mode manager from a dead one
(it stops when the cap stops coming).
"""

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger

from robo_edge.breakers.events import EventLog, mode_event
from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import BreakerState
from robo_edge.breakers.guard import mode_config
from robo_edge.breakers.mode import Mode, ModeConfig, ModeManager, ModeOutput, speed_limit_value
from robo_edge.breakers.params import describe, to_params
from robo_edge.ros import qos
from robo_edge.ros.breaker_messages import read_selection, read_states
from robo_edge.ros.diagnostics import to_array
from robo_edge.ros.params import LiveParameters, Param, declare
from robo_edge.ros.readiness import ReadinessReporter
from robo_edge.ros.run import spin_node
from robo_edge.ros.stamps import from_msg

NODE_NAME = 'mode_manager'
STATUS_NAME = 'robo_edge/mode_manager'
LEVELS = {Mode.NOMINAL: 0, Mode.DEGRADED: 1, Mode.SAFE_STOP: 2}
NO_SOURCE = Selection(None, 0, None, False, False)

NODE_PARAMS = [
    Param('guard_timeout_s', 0.5, 'sensor_guard silent this long (sim s): SAFE_STOP', 0.01, 60.0),
    Param('publish_period_s', 0.1, 'Period of the cap when nothing changes (s, node clock)',
          0.01, 10.0, read_only=True),
    Param('events_path', '', 'JSON-lines file of the mode changes; empty: none', read_only=True),
    Param('diagnostics_period_s', 1.0, 'Period of /diagnostics (steady clock)', 0.05, 60.0,
          read_only=True),
]
# The core sizes the hold before NOMINAL at start; the other ModeConfig fields apply live.
READ_ONLY_MODE_FIELDS = frozenset({'hold_s'})


def mode_params() -> list[Param]:
    """Return a Param per ModeConfig field (defaults and descriptions from the core)."""
    docs = describe(ModeConfig)
    params = []
    for key, value in to_params(ModeConfig()).items():
        doc, low, high = docs[key]
        bounded = isinstance(value, float)
        params.append(Param(key, value, doc, low if bounded else None,
                            high if bounded and math.isfinite(high) else None,
                            read_only=key in READ_ONLY_MODE_FIELDS))
    return params


PARAMS = NODE_PARAMS + mode_params()
MODE_NAMES = frozenset(to_params(ModeConfig()))
LIVE = frozenset(p.name for p in PARAMS if not p.read_only)


def cap_value(output: ModeOutput, config: ModeConfig) -> float:
    """Return the /robo_edge/speed_limit value: a DEGRADED mode takes the cap configured now."""
    if output.mode is Mode.DEGRADED:
        output = replace(output, speed_cap=config.degraded_speed_cap)
    return speed_limit_value(output)


def mode_text(output: ModeOutput) -> str:
    """Return the /robo_edge/mode text, e.g. 'DEGRADED: obstacles from perception'."""
    return f'{output.mode.name}: {output.reason}'


class ModeManagerNode(Node):
    """Turns breaker states into the robot's mode and the gate's speed cap.

    Parameters: NODE_PARAMS and the ModeConfig fields (required, degrading,
    degraded_speed_cap, hold_s); LIVE apply at once (guard_timeout_s and the ModeConfig fields
    but hold_s: the next update judges by them, a DEGRADED cap changes at once), the rest is
    read-only.
    Subscriptions: /robo_edge/breakers (diagnostic_msgs/DiagnosticArray).
    Publishers: /robo_edge/mode (std_msgs/String, latched), /robo_edge/speed_limit
    (std_msgs/Float64: +inf no cap, 0 stop; latched), /diagnostics.
    Services: ~/reset (std_srvs/Trigger): ends the incident.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        v = self.values = declare(self, PARAMS)
        self.manager = ModeManager(self._mode_config(v), self._now())
        self.events = EventLog(Path(v['events_path']) if v['events_path'] else None)
        self._last_array_ns: int | None = None
        self._warned_unwatched = False
        self.updates = 0
        self._mode_pub = self.create_publisher(String, '/robo_edge/mode', qos.LATCHED)
        self._cap_pub = self.create_publisher(Float64, '/robo_edge/speed_limit', qos.LATCHED)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.DIAGNOSTICS)
        self.readiness = ReadinessReporter(self, [self.create_subscription(
            DiagnosticArray, '/robo_edge/breakers', self._on_breakers, qos.DIAGNOSTICS)])
        self.create_service(Trigger, '~/reset', self._on_reset)
        self.create_timer(float(v['publish_period_s']), self._on_timer)
        self.create_timer(float(v['diagnostics_period_s']), self._publish_diagnostics,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._publish(self.manager.output)
        self.live = LiveParameters(self, PARAMS, v, LIVE, self._retune)

    @staticmethod
    def _mode_config(values: dict[str, Any]) -> ModeConfig:
        return mode_config({name: values[name] for name in MODE_NAMES})

    def _retune(self, values: dict[str, Any], _changed: dict[str, Any]) -> None:
        """Apply live parameters: the next update and cap judge by the new ModeConfig."""
        self.manager.config = self._mode_config(values)
        self._publish(self.manager.output)

    def _now(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_breakers(self, msg: DiagnosticArray) -> None:
        stamp = from_msg(msg.header.stamp)
        self._last_array_ns = max(stamp, self._last_array_ns or 0)
        selection = read_selection(msg) or NO_SOURCE
        states = read_states(msg)
        if selection is not NO_SOURCE:
            # A source the guard does not watch (sensor_guard `sources`) has no evidence
            # against it; a guard that says nothing at all is handled by the silence check.
            states = {**self._unwatched(states), **states}
        self._update(stamp, states, selection)

    def _unwatched(self, states: dict) -> dict:
        config = self.manager.config
        missing = [s for s in (*config.required, *config.degrading) if s not in states]
        if missing and not self._warned_unwatched:
            self._warned_unwatched = True
            self.get_logger().warning(
                f'sensor_guard does not watch {[s.value for s in missing]}: not considered')
        return dict.fromkeys(missing, BreakerState.CLOSED)

    def _on_timer(self) -> None:
        now = self._now()
        silent_ns = self.values['guard_timeout_s'] * 1e9
        if self._last_array_ns is not None and now - self._last_array_ns > silent_ns:
            self._update(now, {}, NO_SOURCE, 'sensor_guard silent')
        else:
            self._cap_pub.publish(Float64(data=cap_value(self.manager.output,
                                                         self.manager.config)))

    def _update(self, now_ns: int, states: dict, selection: Selection, why: str = '') -> None:
        output = self.manager.update(now_ns, states, selection)
        self.updates += 1
        if output.changed:
            if why:
                self.get_logger().error(f'{why}: {mode_text(output)}')
            else:
                self.get_logger().warning(f'mode {mode_text(output)}')
            self.events.write(mode_event(output, now_ns))
        self._publish(output)

    def _publish(self, output: ModeOutput) -> None:
        if output.changed or self.updates <= 1:
            self._mode_pub.publish(String(data=mode_text(output)))
        self._cap_pub.publish(Float64(data=cap_value(output, self.manager.config)))

    def _on_reset(self, _request: Trigger.Request, response: Trigger.Response
                  ) -> Trigger.Response:
        self.manager.reset(self._now())
        self._publish(self.manager.output)
        response.success, response.message = True, 'incident ended: NOMINAL'
        return response

    def _publish_diagnostics(self) -> None:
        output = self.manager.output
        values = {'mode': output.mode.name, 'reason': output.reason,
                  'speed_limit': str(cap_value(output, self.manager.config)),
                  'since_ns': str(output.since_ns), 'updates': str(self.updates)}
        status = DiagnosticStatus(
            level=bytes([LEVELS[output.mode]]), name=STATUS_NAME, hardware_id=NODE_NAME,
            message=mode_text(output),
            values=[KeyValue(key=k, value=v) for k, v in values.items()])
        self._diag_pub.publish(to_array([status], self._now()))

    def destroy_node(self) -> None:
        """Close the event log."""
        self.events.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Run mode_manager until stopped."""
    return spin_node(ModeManagerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
