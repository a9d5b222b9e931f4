"""The input side of sensor_guard: its subscriptions and what each arrival feeds.

A mixin of SensorGuardNode (robo_edge/nodes/sensor_guard.py), split out to keep each file
readable. Every watched stream goes to its breaker (at the tick it belongs to in lockstep);
the map, the localiser's correction, odometry poses and virtual scans also feed the third
votes of the cross-check (robo_edge/breakers/vote_inputs.py).
"""

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TransformStamped, TwistStamped
from nav_msgs.msg import OccupancyGrid, Odometry
from sensor_msgs.msg import Image, Imu, LaserScan

from robo_edge.breakers.arrivals import Arrival
from robo_edge.breakers.faults import Source
from robo_edge.robot.kinematics import Pose2D
from robo_edge.ros import guard_inputs as gi
from robo_edge.ros import qos
from robo_edge.ros.nav_messages import (
    CORRECTION_TOPIC,
    correction_from_msg,
    grid_from_msg,
    odom_pose,
)
from robo_edge.ros.perception_messages import read_inference
from robo_edge.ros.stamps import from_msg

VIRTUAL_MOUNT = Pose2D(0.0, 0.0, 0.0)  # the virtual scan is in base_link


class GuardInputSide:
    """The subscription callbacks of sensor_guard (state lives on the node)."""

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
        if v['map_topic']:
            self.create_subscription(OccupancyGrid, v['map_topic'], self._on_map, qos.LATCHED)
            self.create_subscription(TransformStamped, CORRECTION_TOPIC, self._on_correction,
                                     qos.CORRECTION)
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
        if valid:
            self.vote_inputs.add_virtual(stamp, self._virtual.at(stamp))

    def _on_map(self, msg: OccupancyGrid) -> None:
        # Converted only when a vote needs it: most slots' scans agree and need no map.
        self.vote_inputs.add_map(from_msg(msg.header.stamp), lambda: grid_from_msg(msg))
        if self._exact:  # a lockstep slot may have waited for this map
            self._service()

    def _on_correction(self, msg: TransformStamped) -> None:
        self.vote_inputs.add_correction(from_msg(msg.header.stamp), correction_from_msg(msg))
        if self._exact:
            self._service()

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
        if valid:
            self.vote_inputs.add_odom(from_msg(msg.header.stamp), odom_pose(msg))
        if self._exact:  # a lockstep tick may have waited for this sample
            self._service()

    def _on_command(self, msg: TwistStamped) -> None:
        self._record(Source.CONTROLLER, from_msg(msg.header.stamp), b'', gi.command_valid(msg))
