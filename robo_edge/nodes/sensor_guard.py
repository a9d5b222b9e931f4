"""sensor_guard: a circuit breaker per source, the cross-checks, and `/safety/scan`.

Every arrival of a watched stream is recorded by its breaker (arrival time: the node's clock,
never earlier than the stamp). At each tick the breakers are updated; at each LiDAR slot
(s = latest_due(t_k, scan_rate_hz), answered at the first tick t_k at or after it: a 15 Hz
LiDAR on 20 Hz ticks has slots between ticks) the guard publishes one `/safety/scan` stamped s
from the live source of the fallback chain (robo_edge/breakers/safety_scan.py). In lockstep a
slot whose LiDAR is trusted waits, bounded in wall time, for the LiDAR scan stamped s, so the relay
is exact and runs repeat; with the LiDAR not CLOSED nothing waits for it. Likewise every tick
waits for the IMU and odometry samples due at t_k while their breakers are CLOSED, and the
breakers take each sample at the tick it belongs to (robo_edge/breakers/arrivals.py), so a busy
host cannot make a healthy stream look silent.
"""

import time
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import LaserScan
from std_msgs.msg import String
from std_srvs.srv import Trigger

from robo_edge.breakers.arrivals import EVERY_TICK, LockstepArrivals
from robo_edge.breakers.baseline import BaselineConfig, BaselineGuard
from robo_edge.breakers.events import EventLog, breaker_events, selection_event
from robo_edge.breakers.faults import BreakerState, Source
from robo_edge.breakers.guard import BreakerGuard, Guard, GuardOutput
from robo_edge.breakers.safety_scan import (
    BeamLayout,
)
from robo_edge.breakers.vote_inputs import VoteInputs
from robo_edge.exceptions import ConfigError
from robo_edge.lockstep import (
    LATE_RELEASE,
    OVERDUE_CHECK_PERIOD_S,
    PendingTick,
    StampedBuffer,
    latest_due,
)
from robo_edge.nodes._guard_inputs import GuardInputSide
from robo_edge.nodes._guard_scan import SafetyScanSide
from robo_edge.ros import qos
from robo_edge.ros import scan_source as ss
from robo_edge.ros.breaker_messages import breakers_array
from robo_edge.ros.guard_live import guard_tuning, retune_guard
from robo_edge.ros.guard_params import LIVE, PARAMS
from robo_edge.ros.params import LiveParameters, declare
from robo_edge.ros.readiness import ReadinessReporter, required_outputs
from robo_edge.ros.run import spin_node
from robo_edge.ros.ticks import TickDriven

NODE_NAME = 'sensor_guard'


class SensorGuardNode(GuardInputSide, SafetyScanSide, TickDriven, Node):
    """Breakers on every source, the fallback chain, and the obstacle scan the graph uses.

    Parameters: NODE_PARAMS and, per source (lidar, camera, imu, odometry, perception,
    controller), `<source>.<BreakerConfig field>`; `model.*`, `scan_check.*`, `yaw_check.*`,
    `votes.*` (config/breakers.yaml documents each; ros/guard_params.LIVE apply at once,
    ros/guard_live.py, the rest is read-only).
    Subscriptions: /clock, lidar_topic and virtual_topic (LaserScan), /sensors/camera/image
    (Image), /sensors/imu (Imu), /odom (Odometry), /cmd_vel_raw (TwistStamped),
    /perception/inference (DiagnosticArray: per-frame model latency, confidence, NaN outputs).
    Publishers: /safety/scan (LaserScan, frame laser), /robo_edge/obstacle_source (String,
    latched), /robo_edge/breakers (DiagnosticArray, each tick), /diagnostics (the same array).
    Services: ~/reset (std_srvs/Trigger): clears latched breakers.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        v = self.values = declare(self, PARAMS)
        self.sources = self._sources(v['sources'])
        self.config, self._laser = guard_tuning(v)
        self.guard = self._make_guard(0)
        self._output: GuardOutput | None = None
        self._started = False
        self.layout = BeamLayout()
        self._lidar = StampedBuffer(16)
        self.vote_inputs = VoteInputs(self.config.votes, self._laser)
        self._first_slot_ns: int | None = None
        self._last_slot_ns: int | None = None  # the LiDAR slot answered last (lockstep)
        self._virtual = StampedBuffer(16)
        self._previous: dict[Source, BreakerState] = {}
        self._last_relayed_ns: int | None = None
        self._last_published_ns: int | None = None
        self._alone_checked_ns: int | None = None  # the virtual scan judged last on its own
        self.events = EventLog(Path(v['events_path']) if v['events_path'] else None)
        self.counts = dict.fromkeys(
            ('slots', 'late_slots', 'late_ticks', 'relayed', 'fused_slots', 'fallback_slots',
             'none_slots'), 0)
        self._exact = str(v['tick_source']) == 'clock'
        self._arrivals = LockstepArrivals(
            {s: self.config.breakers[s].nominal_rate_hz for s in EVERY_TICK})
        self._make_publishers()
        self.readiness = ReadinessReporter(self, self._make_subscriptions(), required_outputs(
            v['required_readers'], [self._scan_pub, self._scan_source_pub],
            f'{NODE_NAME} parameters'))
        self.create_service(Trigger, '~/reset', self._on_reset)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(OVERDUE_CHECK_PERIOD_S, self._service, clock=steady)
        self.create_timer(float(v['diagnostics_period_s']), self._publish_diagnostics,
                          clock=steady)
        self.create_tick_source(self._exact, float(v['rate_hz']))
        self.live = LiveParameters(self, PARAMS, v, LIVE, self._retune)

    def _retune(self, values: dict[str, Any], _changed: dict[str, Any]) -> None:
        """Apply live parameters: the breakers' thresholds, the votes, the laser mount."""
        config, laser = guard_tuning(values)
        self.config, self._laser = config, laser
        self.vote_inputs.config, self.vote_inputs.laser = config.votes, laser
        retune_guard(self.guard, config)

    def _make_guard(self, start_ns: int) -> Guard:
        monitor = str(self.values['monitor'])
        if monitor == 'breakers':
            return BreakerGuard(self.config, start_ns)
        if monitor == 'baseline':
            return BaselineGuard(BaselineConfig(), start_ns)
        raise ConfigError(f'{NODE_NAME} parameters', 'monitor', 'breakers or baseline', monitor)

    @staticmethod
    def _sources(names: list[str]) -> set[Source]:
        try:
            return {Source(name) for name in names}
        except ValueError as e:
            raise ConfigError(f'{NODE_NAME} parameters', 'sources',
                              f'names among {[s.value for s in Source]}', names) from e

    def _make_publishers(self) -> None:
        self._scan_pub = self.create_publisher(LaserScan, '/safety/scan', qos.SENSOR)
        self._scan_source_pub = self.create_publisher(DiagnosticArray, ss.TOPIC,
                                                      qos.CORRECTION)
        self._source_pub = self.create_publisher(String, '/robo_edge/obstacle_source',
                                                 qos.LATCHED)
        self._breakers_pub = self.create_publisher(DiagnosticArray, '/robo_edge/breakers',
                                                   qos.DIAGNOSTICS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                      qos.DIAGNOSTICS)

    def _on_reset(self, _request: Trigger.Request, response: Trigger.Response
                  ) -> Trigger.Response:
        now = self.get_clock().now().nanoseconds
        if not isinstance(self.guard, BreakerGuard):
            response.success, response.message = False, 'the baseline monitor has no latches'
            return response
        for source in Source:
            self.guard.reset(source, now)
        response.success, response.message = True, 'breakers reset (latches cleared)'
        return response

    # -- ticks ------------------------------------------------------------------------------
    def _start_over(self, tick_ns: int) -> None:
        for buffer in (self._lidar, self._virtual):
            buffer.items = {s: item for s, item in buffer.items.items() if s <= tick_ns}
        self._arrivals.restart()
        self._last_slot_ns = None
        self.guard.clock_went_back(tick_ns)  # no breaker resets or unlocks on a jump back

    def _service(self) -> None:
        """Answer pending ticks in order, each once its due samples are here or overdue."""
        now = time.monotonic()
        while self._ticks.pending:
            head = self._ticks.pending[0]
            missing = self._missing(head.tick_ns)
            if missing and not head.overdue(now, float(self.values['input_wait_s'])):
                return
            if missing:
                self._count_late(head.tick_ns, missing)
                if any(m.startswith(('map@', 'correction@')) for m in missing):
                    self.vote_inputs.ran_out()
            self._ticks.pending.pop(0)
            self._answer(head)

    def _new_slot(self, tick_ns: int) -> int | None:
        """Return the LiDAR slot this tick answers (the newest due, if not answered yet)."""
        slot = latest_due(tick_ns, float(self.values['scan_rate_hz']))
        if slot is None or (self._last_slot_ns is not None and slot <= self._last_slot_ns):
            return None
        return slot

    def _trusted(self, source: Source) -> bool:
        state = self._output.statuses[source].state if self._output else None
        return source in self.sources and state in (None, BreakerState.CLOSED)

    def _missing(self, tick_ns: int) -> list[str]:
        """In lockstep, what a tick still waits for: 'stream@time' per trusted stream."""
        if not self._exact:
            return []
        waited = [s for s in EVERY_TICK if self._trusted(s)]
        missing = self._arrivals.missing(waited, tick_ns)
        # A newer tick behind the head means the graph went on without this node (it was
        # restarted mid-run): it no longer waits for that slot's scan.
        slot = self._new_slot(tick_ns)
        if slot is not None and self._trusted(Source.LIDAR) and not self._ticks.behind():
            if self._lidar.at(slot) is None:
                missing.append(f'lidar@{slot / 1e9:.3f}')
            missing += self.vote_inputs.missing(self._previous_slot())
        return missing

    def _previous_slot(self) -> int | None:
        """Return the slot answered last (the one before the next), None before the first."""
        first, last = self._first_slot_ns, self._last_slot_ns
        return last if first is not None and last is not None and last >= first else None

    def _count_late(self, tick_ns: int, missing: list[str]) -> None:
        self.counts['late_ticks'] += 1
        self.get_logger().warning(
            f'{LATE_RELEASE} tick {tick_ns / 1e9:.3f} s released after '
            f'{self.values["input_wait_s"]} s without {", ".join(missing)} (a fault, or a '
            'host too busy to deliver them: then the run no longer repeats)',
            throttle_duration_sec=1.0)

    def _answer(self, pending: PendingTick) -> None:
        tick_ns = pending.tick_ns
        if not self._started:
            self.guard = self._make_guard(tick_ns)  # the grace counts from the first tick
            self._started = True
        if self._exact:
            self._take(self._arrivals.take(tick_ns), tick_ns)
        slot = self._new_slot(tick_ns) if self._exact else None
        if self._first_slot_ns is None and slot is not None:
            self._first_slot_ns = slot
        at = tick_ns if slot is None else slot  # what the slot's outputs are stamped
        lidar = self._lidar_for(tick_ns, slot)
        fresh = (slot is not None and lidar is not None) if self._exact else self._fresh(lidar)
        if fresh and lidar is not None:
            self._cross_check(at, lidar)
        if not self._trusted(Source.LIDAR):
            self._check_alone(at)
        output = self._output = self.guard.update(tick_ns)
        statuses = {s: st for s, st in output.statuses.items() if s in self.sources}
        self.events.write(breaker_events(self._previous, statuses, tick_ns)
                          + selection_event(output.selection, tick_ns))
        self._previous = {s: st.state for s, st in statuses.items()}
        if output.selection.changed or self.counts['slots'] == 0:
            self._source_pub.publish(String(data=output.selection.name))
        publish = (slot is not None if self._exact
                   else self._robot_slot(tick_ns, output.selection, fresh))
        if publish:
            self._publish_scan(at, self._safety_scan(at, output.selection.source, lidar), lidar)
        if slot is not None:
            self._last_slot_ns = slot
        self._breakers_pub.publish(breakers_array(statuses, output.selection, self._extra(),
                                                  tick_ns))

    def _extra(self) -> dict[str, str]:
        extra = {key: str(value) for key, value in self.counts.items()}
        if isinstance(self.guard, BreakerGuard):  # cross-check decisions by deciding vote
            extra.update({f'decided_by_{vote}': str(count) for vote, count
                          in sorted(self.guard.scan_check.decided_by.items())})
        return extra

    def _publish_diagnostics(self) -> None:
        output = self._output
        if output is None:
            return
        statuses = {s: st for s, st in output.statuses.items() if s in self.sources}
        self._diagnostics_pub.publish(breakers_array(
            statuses, output.selection, self._extra(), self.get_clock().now().nanoseconds))

    def destroy_node(self) -> None:
        """Close the event log."""
        self.events.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Run sensor_guard until stopped."""
    return spin_node(SensorGuardNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
