"""sensor_guard: a circuit breaker per source, the cross-checks, and `/safety/scan`.

Every arrival of a watched stream is recorded by its breaker (arrival time: the node's clock,
never earlier than the stamp). At each tick the breakers are updated; at each LiDAR slot
(latest_due(t_k, scan_rate_hz) == t_k) the guard publishes one `/safety/scan` stamped t_k from
the live source of the fallback chain (robo_edge/breakers/safety_scan.py). In lockstep a slot
whose LiDAR is trusted waits, bounded in wall time, for the LiDAR scan stamped t_k, so the relay
is exact and runs repeat; with the LiDAR not CLOSED nothing waits for it. Likewise every tick
waits for the IMU and odometry samples due at t_k while their breakers are CLOSED, and the
breakers take each sample at the tick it belongs to (robo_edge/breakers/arrivals.py), so a busy
host cannot make a healthy stream look silent.
"""

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image, Imu, LaserScan
from std_msgs.msg import String
from std_srvs.srv import Trigger

from robo_edge.breakers.arrivals import EVERY_TICK, Arrival, LockstepArrivals
from robo_edge.breakers.baseline import BaselineConfig, BaselineGuard
from robo_edge.breakers.breaker import default_config
from robo_edge.breakers.cross_check import ScanCheckConfig, YawCheckConfig
from robo_edge.breakers.events import EventLog, breaker_events, selection_event
from robo_edge.breakers.fallback import Selection
from robo_edge.breakers.faults import BreakerState, Source
from robo_edge.breakers.guard import BreakerGuard, Guard, GuardOutput, sensor_guard_sections
from robo_edge.breakers.model_health import ModelHealthConfig
from robo_edge.breakers.params import describe, to_params
from robo_edge.breakers.safety_scan import BeamLayout, SafetyScan, no_information, rebin_virtual
from robo_edge.exceptions import ConfigError
from robo_edge.lockstep import (
    LATE_RELEASE,
    OVERDUE_CHECK_PERIOD_S,
    PendingTick,
    StampedBuffer,
    latest_due,
)
from robo_edge.ros import guard_inputs as gi
from robo_edge.ros import qos
from robo_edge.ros.breaker_messages import breakers_array
from robo_edge.ros.nav_messages import pose_from_list
from robo_edge.ros.params import Param, declare
from robo_edge.ros.perception_messages import read_inference
from robo_edge.ros.readiness import REQUIRED_READERS_DOC, ReadinessReporter, required_outputs
from robo_edge.ros.run import spin_node
from robo_edge.ros.stamps import from_msg, to_msg
from robo_edge.ros.ticks import TickDriven
from robo_edge.twin.kinematics import Pose2D

NODE_NAME = 'sensor_guard'
VIRTUAL_MOUNT = Pose2D(0.0, 0.0, 0.0)  # the virtual scan is in base_link

NODE_PARAMS = [
    Param('tick_source', 'clock', 'clock: answer each /clock tick; timer: own wall timer'),
    Param('rate_hz', 50.0, 'Tick rate with tick_source timer: how finely silence is '
          'timed (a fallback goes live within one tick of its breaker opening)', 1.0, 200.0),
    Param('scan_rate_hz', 10.0, 'LiDAR rate: /safety/scan goes out on its schedule', 0.1, 100.0),
    Param('input_wait_s', 0.75, 'Wall time a tick waits for the samples due of trusted streams '
          '(lockstep: the LiDAR at its slots, IMU and odometry at every tick)', 0.0, 10.0),
    Param('sources', [s.value for s in Source], 'Breakers run and reported (others ignored)'),
    Param('monitor', 'breakers', 'breakers, or baseline (rate and 1 s timeout only, no '
          'fallback: the anchors, for side-by-side benchmarks)'),
    Param('max_nan_fraction', 0.5, 'A scan with more NaN beams than this is invalid', 0.0, 1.0),
    Param('max_virtual_age_s', 0.3, 'Oldest virtual scan used as the fallback (sim s)',
          0.0, 10.0),
    Param('laser_offset', [0.0, 0.0, 0.0], 'Laser mount in base_link [x, y, yaw]'),
    Param('lidar_topic', '/sensors/scan', 'Validated LiDAR scans'),
    Param('virtual_topic', '/perception/scan', 'Perception virtual scans (base_link)'),
    Param('events_path', '', 'JSON-lines file of breaker and source changes; empty: none'),
    Param('diagnostics_period_s', 1.0, 'Period of /diagnostics (steady clock)', 0.05, 60.0),
    Param('required_readers', [''], REQUIRED_READERS_DOC),
]


def breaker_params() -> list[Param]:
    """Return a Param per breaker, model, cross-check setting (defaults from the cores)."""
    sections: list[tuple[str, Any]] = [(s.value, default_config(s)) for s in Source]
    sections += [('model', ModelHealthConfig()), ('scan_check', ScanCheckConfig()),
                 ('yaw_check', YawCheckConfig())]
    params = []
    for prefix, config in sections:
        docs = describe(type(config))
        for key, value in to_params(config, prefix).items():
            doc, low, high = docs[key.split('.', 1)[1]]
            bounded = isinstance(value, int | float) and not isinstance(value, bool)
            params.append(Param(key, float(value) if isinstance(value, float) else value, doc,
                                low if bounded and math.isfinite(low) else None,
                                high if bounded and math.isfinite(high) else None))
    return params


class SensorGuardNode(TickDriven, Node):
    """Breakers on every source, the fallback chain, and the obstacle scan the graph uses.

    Parameters: NODE_PARAMS and, per source (lidar, camera, imu, odometry, perception,
    controller), `<source>.<BreakerConfig field>`; `model.*`, `scan_check.*`, `yaw_check.*`
    (config/breakers.yaml documents each).
    Subscriptions: /clock, lidar_topic and virtual_topic (LaserScan), /sensors/camera/image
    (Image), /sensors/imu (Imu), /odom (Odometry), /cmd_vel_raw (TwistStamped),
    /perception/inference (DiagnosticArray: per-frame model latency, confidence, NaN outputs).
    Publishers: /safety/scan (LaserScan, frame laser), /robo_edge/obstacle_source (String,
    latched), /robo_edge/breakers (DiagnosticArray, each tick), /diagnostics (the same array).
    Services: ~/reset (std_srvs/Trigger): clears latched breakers.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        v = self.values = declare(self, NODE_PARAMS)
        breaker_values = declare(self, breaker_params())
        self.sources = self._sources(v['sources'])
        self.config = sensor_guard_sections(breaker_values)
        self.guard = self._make_guard(0)
        self._output: GuardOutput | None = None
        self._started = False
        self._laser = pose_from_list(v['laser_offset'], 'laser_offset')
        self.layout = BeamLayout()
        self._lidar = StampedBuffer(16)
        self._virtual = StampedBuffer(16)
        self._previous: dict[Source, BreakerState] = {}
        self._last_relayed_ns: int | None = None
        self._last_published_ns: int | None = None
        self.events = EventLog(Path(v['events_path']) if v['events_path'] else None)
        self.counts = dict.fromkeys(
            ('slots', 'late_slots', 'late_ticks', 'relayed', 'fallback_slots', 'none_slots'), 0)
        self._exact = str(v['tick_source']) == 'clock'
        self._arrivals = LockstepArrivals(
            {s: self.config.breakers[s].nominal_rate_hz for s in EVERY_TICK})
        self._make_publishers()
        self.readiness = ReadinessReporter(self, self._make_subscriptions(), required_outputs(
            v['required_readers'], [self._scan_pub], f'{NODE_NAME} parameters'))
        self.create_service(Trigger, '~/reset', self._on_reset)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(OVERDUE_CHECK_PERIOD_S, self._service, clock=steady)
        self.create_timer(float(v['diagnostics_period_s']), self._publish_diagnostics,
                          clock=steady)
        self.create_tick_source(self._exact, float(v['rate_hz']))

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
        self._source_pub = self.create_publisher(String, '/robo_edge/obstacle_source',
                                                 qos.LATCHED)
        self._breakers_pub = self.create_publisher(DiagnosticArray, '/robo_edge/breakers',
                                                   qos.DIAGNOSTICS)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                      qos.DIAGNOSTICS)

    def _make_subscriptions(self) -> list:
        v = self.values
        required = [self.create_subscription(LaserScan, v['lidar_topic'], self._on_lidar,
                                             qos.SENSOR),
                    self.create_subscription(Odometry, '/odom', self._on_odom,
                                             qos.SENSOR_BURST)]
        self.create_subscription(LaserScan, v['virtual_topic'], self._on_virtual, qos.SENSOR)
        self.create_subscription(DiagnosticArray, '/perception/inference', self._on_inference,
                                 qos.SENSOR)
        self.create_subscription(Image, '/sensors/camera/image', self._on_image, qos.SENSOR)
        imu = self.create_subscription(Imu, '/sensors/imu', self._on_imu, qos.SENSOR_BURST)
        if Source.IMU in self.sources:  # lockstep ticks wait for its samples: none may be lost
            required.append(imu)
        self.create_subscription(TwistStamped, '/cmd_vel_raw', self._on_command, qos.COMMAND)
        return required

    # -- arrivals ---------------------------------------------------------------------------
    def _arrival(self, stamp_ns: int) -> int:
        return max(stamp_ns, self.get_clock().now().nanoseconds)

    def _record(self, source: Source, stamp_ns: int, payload: bytes, valid: bool,
                yaw_rate: float | None = None) -> None:
        """Hand a sample to the breakers now (robot), or hold it for its tick (lockstep)."""
        arrival = Arrival(source, stamp_ns, payload, valid, yaw_rate)
        self._take(self._arrivals.add(arrival) if self._exact else [arrival], None)

    def _take(self, arrivals: list[Arrival], tick_ns: int | None) -> None:
        """Record arrivals: at the tick they belong to, or by the node's clock (None)."""
        for a in arrivals:
            now = self._arrival(a.stamp_ns) if tick_ns is None else max(a.stamp_ns, tick_ns)
            self.guard.on_message(a.source, now, a.stamp_ns, a.payload, a.valid)
            if a.valid and a.yaw_rate is not None:
                self.guard.on_yaw_rate(a.source, a.stamp_ns, a.yaw_rate)

    def _on_lidar(self, msg: LaserScan) -> None:
        stamp, ranges = from_msg(msg.header.stamp), gi.scan_ranges(msg)
        valid = gi.scan_valid(ranges, float(self.values['max_nan_fraction']))
        self._record(Source.LIDAR, stamp, gi.digest(ranges.tobytes()), valid)
        if valid:
            self.layout = gi.layout_of(msg, ranges.size)
        self._lidar.add(stamp, (msg, ranges))
        self._service()

    def _on_virtual(self, msg: LaserScan) -> None:
        stamp, ranges = from_msg(msg.header.stamp), gi.scan_ranges(msg)
        valid = bool(np.any(~np.isnan(ranges)))
        self._record(Source.PERCEPTION, stamp, gi.digest(ranges.tobytes()), valid)
        self._virtual.add(stamp, gi.beam_scan(msg, ranges, VIRTUAL_MOUNT))

    def _on_inference(self, msg: DiagnosticArray) -> None:
        health = read_inference(msg)
        if health is None:
            return
        latency_ms, non_finite, confidence = health
        self.guard.on_inference(self._arrival(from_msg(msg.header.stamp)),
                                round(latency_ms * 1e6), non_finite, confidence)

    def _on_image(self, msg: Image) -> None:
        self._record(Source.CAMERA, from_msg(msg.header.stamp), gi.digest(bytes(msg.data)),
                     gi.image_valid(msg))

    def _on_imu(self, msg: Imu) -> None:
        payload, valid, yaw_rate = gi.imu_payload(msg)
        self._record(Source.IMU, from_msg(msg.header.stamp), payload, valid, yaw_rate)
        if self._exact:  # a lockstep tick may have waited for this sample
            self._service()

    def _on_odom(self, msg: Odometry) -> None:
        payload, valid, yaw_rate = gi.odom_payload(msg)
        self._record(Source.ODOMETRY, from_msg(msg.header.stamp), payload, valid, yaw_rate)
        if self._exact:  # a lockstep tick may have waited for this sample
            self._service()

    def _on_command(self, msg: TwistStamped) -> None:
        self._record(Source.CONTROLLER, from_msg(msg.header.stamp), b'', gi.command_valid(msg))

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
            self._ticks.pending.pop(0)
            self._answer(head)

    def _slot(self, tick_ns: int) -> bool:
        return latest_due(tick_ns, float(self.values['scan_rate_hz'])) == tick_ns

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
        if (self._slot(tick_ns) and self._trusted(Source.LIDAR) and not self._ticks.behind()
                and self._lidar.at(tick_ns) is None):
            missing.append(f'lidar@{tick_ns / 1e9:.3f}')
        return missing

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
        lidar = self._lidar_for(tick_ns)
        fresh = (self._slot(tick_ns) and lidar is not None) if self._exact else self._fresh(lidar)
        if fresh and lidar is not None:
            self._cross_check(tick_ns, lidar)
        output = self._output = self.guard.update(tick_ns)
        statuses = {s: st for s, st in output.statuses.items() if s in self.sources}
        self.events.write(breaker_events(self._previous, statuses, tick_ns)
                          + selection_event(output.selection, tick_ns))
        self._previous = {s: st.state for s, st in statuses.items()}
        if output.selection.changed or self.counts['slots'] == 0:
            self._source_pub.publish(String(data=output.selection.name))
        publish = (self._slot(tick_ns) if self._exact
                   else self._robot_slot(tick_ns, output.selection, fresh))
        if publish:
            self._publish_scan(tick_ns, self._safety_scan(tick_ns, output.selection.source,
                                                          lidar), lidar)
        self._breakers_pub.publish(breakers_array(statuses, output.selection, self._extra(),
                                                  tick_ns))

    def _fresh(self, lidar: tuple[LaserScan, np.ndarray] | None) -> bool:
        """On a robot (timer ticks): whether the newest LiDAR scan is one not seen before."""
        if lidar is None:
            return False
        stamp = from_msg(lidar[0].header.stamp)
        if stamp == self._last_relayed_ns:
            return False
        self._last_relayed_ns = stamp
        return True

    def _robot_slot(self, tick_ns: int, selection: Selection, fresh_lidar: bool) -> bool:
        """On a robot (timer ticks): whether this tick publishes a `/safety/scan`.

        Each new scan while the LiDAR is live; on a fallback (or none), at once on the switch
        and then once per LiDAR period: the fallback is live within a tick of the breaker
        opening, and nothing downstream waits for scans that will not come.
        """
        if selection.source is Source.LIDAR and fresh_lidar:
            due = True
        elif selection.source is Source.LIDAR and self._lidar.items:
            due = False  # the LiDAR is trusted: its next scan is the next slot
        else:
            period_ns = round(1e9 / float(self.values['scan_rate_hz']))
            due = (selection.changed or self._last_published_ns is None
                   or tick_ns - self._last_published_ns >= period_ns)
        if due:
            self._last_published_ns = tick_ns
        return due

    def _lidar_for(self, tick_ns: int) -> tuple[LaserScan, np.ndarray] | None:
        if self._exact:
            return self._lidar.at(tick_ns) if self._slot(tick_ns) else None
        newest = self._lidar.latest_not_after(tick_ns)
        return newest[1] if newest else None

    def _cross_check(self, tick_ns: int, lidar: tuple[LaserScan, np.ndarray]) -> None:
        newest = self._virtual.latest_not_after(tick_ns)
        if newest is None or tick_ns - newest[0] > self.values['max_virtual_age_s'] * 1e9:
            return
        if Source.PERCEPTION in self.sources:
            self.guard.on_scans(tick_ns, gi.beam_scan(lidar[0], lidar[1], self._laser),
                                newest[1])

    def _safety_scan(self, tick_ns: int, source: Source | None,
                     lidar: tuple[LaserScan, np.ndarray] | None) -> SafetyScan:
        self.counts['slots'] += 1
        if source is Source.LIDAR and lidar is not None:
            self.counts['relayed'] += 1
            return SafetyScan(lidar[1], 'lidar')
        if source is Source.LIDAR:
            self.counts['late_slots'] += 1
        if source is Source.PERCEPTION:
            newest = self._virtual.latest_not_after(tick_ns)
            if newest and tick_ns - newest[0] <= self.values['max_virtual_age_s'] * 1e9:
                self.counts['fallback_slots'] += 1
                return rebin_virtual(newest[1], self.layout, self._laser)
        self.counts['none_slots'] += 1
        return no_information(self.layout)

    def _publish_scan(self, tick_ns: int, scan: SafetyScan,
                      lidar: tuple[LaserScan, np.ndarray] | None) -> None:
        if scan.origin == 'lidar' and lidar is not None:
            msg = lidar[0]
        else:
            layout = self.layout
            msg = LaserScan(angle_min=layout.angle_min, angle_increment=layout.angle_increment,
                            angle_max=layout.angle_min + layout.angle_increment
                            * (layout.beams - 1),
                            range_min=layout.range_min, range_max=layout.range_max,
                            ranges=scan.ranges.tolist())
            msg.header.frame_id = 'laser'
            msg.header.stamp = to_msg(tick_ns)
        self._scan_pub.publish(msg)

    # -- diagnostics ------------------------------------------------------------------------
    def _extra(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.counts.items()}

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
