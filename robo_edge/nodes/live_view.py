"""live_view: the robot as an operator sees it, served to Foxglove over a websocket.

`robo-edge up BRINGUP --live` adds this node (robo_edge/supervisor/live.py). It subscribes to
the robot's state and sensor topics and logs each message, mapped by robo_edge/live/mapping.py,
on a Foxglove channel of the same name (foxglove-sdk's websocket server, localhost by default).
Nothing is converted for a channel no viewer watches; the camera, the maps and odometry pass a
rate gate (robo_edge/live/throttle.py) that drops and counts; the server holds at most
`message_backlog` messages per viewer and drops the oldest. Latched state (mode, obstacle
source, breakers, maps, plan, pose, the static frames) is sent again every `state_period_s`, so
a viewer that connects later sees it.
"""

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import foxglove
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from foxglove import channels as fc
from geometry_msgs.msg import PoseWithCovarianceStamped, TransformStamped
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image, LaserScan
from std_msgs.msg import String

from robo_edge.live import mapping
from robo_edge.live.throttle import RateGate
from robo_edge.ros import qos
from robo_edge.ros.diagnostics import to_array
from robo_edge.ros.params import LiveParameters, Param, declare
from robo_edge.ros.run import spin_node
from robo_edge.ros.tf import FRAME_PARAMS, frame_values_static

NODE_NAME = 'live_view'
STATUS_NAME = 'robo_edge/live_view'
# The gated groups: the parameter that sets each group's rate.
RATES = {'camera': 'camera_max_rate_hz', 'map': 'map_max_rate_hz', 'odom': 'odom_max_rate_hz'}
LIVE = frozenset(RATES.values())  # applied at once; every other parameter is read-only

PARAMS = [
    Param('host', '127.0.0.1', 'Address the websocket binds to (127.0.0.1: this machine only)',
          read_only=True),
    Param('port', 8765, 'Websocket port (0: any free port, logged)', 0, 65535, read_only=True),
    Param('message_backlog', 32, 'Messages held per viewer; beyond, the oldest is dropped',
          1, 1024, read_only=True),
    Param('camera_max_rate_hz', 2.0, 'Camera frames sent a second at most (0: none)', 0.0, 60.0),
    Param('map_max_rate_hz', 0.5, 'Maps sent a second at most, per map topic (0: none)',
          0.0, 20.0),
    Param('odom_max_rate_hz', 10.0, 'Odometry poses and odom -> base_link a second at most',
          0.0, 200.0),
    Param('state_period_s', 1.0, 'Latched state is sent again this often (s) for new viewers',
          0.1, 60.0, read_only=True),
    Param('diagnostics_period_s', 1.0, 'Period of /diagnostics (steady clock)', 0.05, 60.0,
          read_only=True),
    Param('lidar_topic', '/scan', "The LiDAR driver's sensor_msgs/LaserScan", read_only=True),
    Param('camera_topic', '/camera/image_raw', "The camera driver's sensor_msgs/Image",
          read_only=True),
    *FRAME_PARAMS,
]


@dataclasses.dataclass
class Relay:
    """One Foxglove channel fed from a ROS subscription."""

    channel: Any
    convert: Callable[[Any], Any]
    group: str | None = None  # a RATES group: passes its gate
    latched: bool = False  # sent again every state period
    gate: RateGate | None = None
    latest: Any = None
    sent_ns: int | None = None
    sent: int = 0
    unwatched: int = 0


class LiveViewNode(Node):
    """Serves the robot's live state to Foxglove (foxglove-sdk websocket server).

    Parameters: PARAMS (host, port, message_backlog, state_period_s, the topics and mounts are
    read-only; the three *_max_rate_hz apply at once).
    Subscriptions: /robo_edge/mode, /robo_edge/obstacle_source (std_msgs/String),
    /robo_edge/breakers, /safety/scan_source, /diagnostics (diagnostic_msgs/DiagnosticArray),
    lidar_topic, /safety/scan, /perception/scan (sensor_msgs/LaserScan), /map, /map/navigation
    (nav_msgs/OccupancyGrid), /plan (nav_msgs/Path), /localization/pose
    (geometry_msgs/PoseWithCovarianceStamped), /localization/map_to_odom
    (geometry_msgs/TransformStamped), odom_topic (nav_msgs/Odometry), camera_topic
    (sensor_msgs/Image).
    Publishers: /diagnostics (sent, dropped and unwatched counts per channel).
    Foxglove channels: the topics above (JSON for mode, source and diagnostics; foxglove
    LaserScan, Grid, PosesInFrame, PoseInFrame, RawImage), /tf (FrameTransforms).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.finished, self.exit_code = False, 0
        v = self.values = declare(self, PARAMS)
        self.relays: dict[str, Relay] = {}
        self.live = LiveParameters(self, PARAMS, self.values, LIVE, self._apply_rates)
        self.fox_context = foxglove.Context()
        self.server = self._serve(v)
        if self.server is None:
            return
        self.port = self.server.port
        tf = fc.FrameTransformsChannel('/tf', context=self.fox_context)
        self.relays['/tf static'] = Relay(tf, mapping.frame_transforms, latched=True,
                                          latest=frame_values_static(v))
        for topic, msg_type, profile, relays in self._routes(v, tf):
            self.relays.update(relays)
            self.create_subscription(msg_type, topic, self._handler(list(relays.values())),
                                     profile)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.DIAGNOSTICS)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(v['state_period_s'], self._resend_state, clock=steady)
        self.create_timer(v['diagnostics_period_s'], self._publish_diagnostics, clock=steady)
        self.get_logger().info(f'live view on ws://{v["host"]}:{self.port}')

    def _serve(self, v: dict[str, Any]) -> Any:
        """Start the websocket server; None (and the node ends, exit 1) when it cannot."""
        try:
            return foxglove.start_server(
                name='robo_edge', host=v['host'], port=v['port'], context=self.fox_context,
                message_backlog_size=v['message_backlog'])
        except (RuntimeError, ValueError) as e:  # the port is taken, the address is not ours
            self.get_logger().error(f'cannot serve on {v["host"]}:{v["port"]}: {e}')
            self.finished, self.exit_code = True, 1
            return None

    def _routes(self, v: dict[str, Any], tf: Any) -> list[tuple[str, type, Any, dict]]:
        """Return each subscription: topic, type, QoS and the relays it feeds by name."""
        routes = [
            ('/robo_edge/mode', String, qos.LATCHED,
             self._json('/robo_edge/mode', mapping.MODE_SCHEMA, lambda m: mapping.mode(m.data))),
            ('/robo_edge/obstacle_source', String, qos.LATCHED,
             self._json('/robo_edge/obstacle_source', mapping.SOURCE_SCHEMA,
                        lambda m: mapping.obstacle_source(m.data))),
            *[(t, DiagnosticArray, profile,
               self._json(t, mapping.DIAGNOSTICS_SCHEMA, mapping.diagnostics, latched))
              for t, profile, latched in (('/robo_edge/breakers', qos.DIAGNOSTICS, True),
                                          ('/safety/scan_source', qos.CORRECTION, True),
                                          ('/diagnostics', qos.DIAGNOSTICS, False))],
            *[(t, LaserScan, qos.SENSOR, self._typed(fc.LaserScanChannel, t, mapping.laser_scan))
              for t in dict.fromkeys((v['lidar_topic'], '/safety/scan', '/perception/scan'))],
        ]
        if v['camera']:
            routes.append((v['camera_topic'], Image, qos.SENSOR, self._typed(
                fc.RawImageChannel, v['camera_topic'], mapping.raw_image, group='camera')))
        return routes + self._navigation_routes(v['odom_topic'], tf)

    def _navigation_routes(self, odom: str, tf: Any) -> list[tuple[str, type, Any, dict]]:
        """Return the maps, the plan, the pose and the moving frames (on Foxglove's /tf)."""
        def transforms(read: Callable) -> Callable:
            return lambda msg: mapping.frame_transforms([read(msg)])

        return [
            *[(t, OccupancyGrid, qos.SENSOR, self._typed(
                fc.GridChannel, t, mapping.occupancy_grid, group='map', latched=True))
              for t in ('/map', '/map/navigation')],
            ('/plan', Path, qos.LATCHED,
             self._typed(fc.PosesInFrameChannel, '/plan', mapping.path, latched=True)),
            ('/localization/pose', PoseWithCovarianceStamped, qos.CORRECTION, self._typed(
                fc.PoseInFrameChannel, '/localization/pose', mapping.pose_in_frame,
                latched=True)),
            ('/localization/map_to_odom', TransformStamped, qos.CORRECTION, {
                '/tf map->odom': self._relay(
                    tf, transforms(mapping.correction_transform), latched=True)}),
            (odom, Odometry, qos.SENSOR_BURST, {
                **self._typed(fc.PoseInFrameChannel, odom, mapping.pose_in_frame, group='odom'),
                '/tf odom->base_link': self._relay(
                    tf, transforms(mapping.odometry_transform), group='odom')}),
        ]

    def _json(self, topic: str, schema: dict, convert: Callable,
              latched: bool = True) -> dict[str, Relay]:
        channel = foxglove.Channel(topic, schema=schema, context=self.fox_context)
        return {topic: Relay(channel, convert, latched=latched)}

    def _typed(self, kind: Any, topic: str, convert: Callable, **extra: Any) -> dict[str, Relay]:
        return {topic: self._relay(kind(topic, context=self.fox_context), convert, **extra)}

    def _relay(self, channel: Any, convert: Callable, group: str | None = None,
               latched: bool = False) -> Relay:
        gate = RateGate(float(self.values[RATES[group]])) if group else None
        return Relay(channel, convert, group, latched, gate)

    def _handler(self, relays: list[Relay]) -> Callable[[Any], None]:
        def on_message(msg: Any) -> None:
            now = time.monotonic_ns()
            for relay in relays:
                if relay.latched:
                    relay.latest = msg  # a reference: converted only when sent
                self._forward(relay, msg, now)
        return on_message

    def _forward(self, relay: Relay, msg: Any, now_ns: int) -> None:
        """Convert and log `msg` if a viewer watches and the gate admits it."""
        if not relay.channel.has_sinks():
            relay.unwatched += 1
            return
        if relay.gate is not None and not relay.gate.admit(now_ns):
            return
        relay.channel.log(relay.convert(msg), log_time=time.time_ns())
        relay.sent_ns = now_ns
        relay.sent += 1

    def _resend_state(self) -> None:
        """Send latched state again that nothing refreshed within the period."""
        now = time.monotonic_ns()
        period_ns = self.values['state_period_s'] * 1e9
        for relay in self.relays.values():
            fresh = relay.sent_ns is not None and now - relay.sent_ns < period_ns
            due = relay.gate is None or relay.gate.ready(now)  # a resend is no drop
            if relay.latched and relay.latest is not None and due and not fresh:
                self._forward(relay, relay.latest, now)

    def _apply_rates(self, _values: dict[str, Any], changed: dict[str, Any]) -> None:
        """Apply new rates at once to every gate of their group."""
        groups = {name: group for group, name in RATES.items()}
        for name, value in changed.items():
            for relay in self.relays.values():
                if relay.group == groups[name] and relay.gate is not None:
                    relay.gate.set_rate(float(value))

    def _publish_diagnostics(self) -> None:
        values = {'url': f'ws://{self.values["host"]}:{self.port}'}
        for name, relay in self.relays.items():
            dropped = relay.gate.dropped if relay.gate is not None else 0
            values[name] = f'sent {relay.sent}, dropped {dropped}, unwatched {relay.unwatched}'
        dropped = sum(r.gate.dropped for r in self.relays.values() if r.gate is not None)
        values['dropped'] = str(dropped)
        status = DiagnosticStatus(
            level=DiagnosticStatus.OK, name=STATUS_NAME, hardware_id=NODE_NAME,
            message=f'serving on port {self.port}',
            values=[KeyValue(key=k, value=v) for k, v in values.items()])
        self._diag_pub.publish(to_array([status], self.get_clock().now().nanoseconds))

    def destroy_node(self) -> None:
        """Stop the websocket server."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Run live_view until stopped."""
    return spin_node(LiveViewNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
