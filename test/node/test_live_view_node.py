"""Node tests: a Foxglove websocket viewer connects to the real live_view node.

The viewer (test/foxglove_viewer.py, the `websockets` client) subscribes over the Foxglove
websocket protocol; the test publishes on the ROS side and spins until what it published
arrives at the viewer or a wall deadline passes.
"""

import math
import time
from collections.abc import Callable

import rclpy
from foxglove_viewer import Viewer
from rclpy.parameter import Parameter
from ros_harness import Spinner
from sensor_msgs.msg import Image, LaserScan
from std_msgs.msg import String

from robo_edge.nodes.live_view import STATUS_NAME, LiveViewNode
from robo_edge.ros import qos

TIMEOUT_S = 30.0
CAMERA = '/camera/image_raw'


def _node(context: rclpy.Context, **values: object) -> LiveViewNode:
    overrides = [Parameter(name, value=value) for name, value in
                 {'port': 0, 'state_period_s': 0.2, 'diagnostics_period_s': 0.2,
                  **values}.items()]
    return LiveViewNode(context=context, parameter_overrides=overrides)


def _every(period_s: float, action: Callable[[], None]) -> Callable[[], None]:
    """Return a call that runs `action` at most once per `period_s` (a publishing pace)."""
    last = [-math.inf]

    def maybe() -> None:
        if time.monotonic() - last[0] >= period_s:
            last[0] = time.monotonic()
            action()
    return maybe


def _scan() -> LaserScan:
    scan = LaserScan()
    scan.header.frame_id = 'laser'
    scan.header.stamp.sec = 7
    scan.angle_min, scan.angle_max = -math.pi, math.pi
    scan.angle_increment = 2 * math.pi / 360
    scan.range_min, scan.range_max = 0.12, 12.0
    scan.ranges = [2.0] * 359 + [math.inf]
    return scan


def _image() -> Image:
    image = Image(width=4, height=2, encoding='rgb8', step=12, data=bytes(range(24)))
    image.header.frame_id = 'camera_optical_frame'
    return image


def test_a_viewer_receives_the_mode_and_the_safety_scan(context: rclpy.Context) -> None:
    view = _node(context)
    probe = rclpy.create_node('probe', context=context)
    mode_pub = probe.create_publisher(String, '/robo_edge/mode', qos.LATCHED)
    scan_pub = probe.create_publisher(LaserScan, '/safety/scan', qos.SENSOR)
    spinner = Spinner(context, [view, probe], TIMEOUT_S)
    try:
        with Viewer(view.port, ['/robo_edge/mode', '/safety/scan']) as viewer:
            assert viewer.ws.subprotocol in ('foxglove.sdk.v1', 'foxglove.websocket.v1')
            mode_pub.publish(String(data='DEGRADED: obstacles from perception'))  # latched
            publish = _every(0.1, lambda: scan_pub.publish(_scan()))

            def both_arrived() -> bool:
                publish()
                return bool(viewer.messages('/robo_edge/mode')
                            and viewer.messages('/safety/scan'))

            assert spinner.spin_until(both_arrived), f'received {sorted(viewer.received)}'
    finally:
        spinner.close()
    assert viewer.json('/robo_edge/mode')[0] == {
        'mode': 'DEGRADED', 'reason': 'obstacles from perception',
        'text': 'DEGRADED: obstacles from perception'}
    assert viewer.channels['/safety/scan']['schemaName'] == 'foxglove.LaserScan'
    scan = viewer.decoded('/safety/scan')[0]
    assert scan.frame_id == 'laser' and scan.timestamp.seconds == 7
    assert len(scan.ranges) == 360 and scan.ranges[0] == 2.0 and scan.ranges[-1] == math.inf
    # every channel the operator needs is advertised, the frames with them
    assert {'/robo_edge/breakers', '/safety/scan_source', '/diagnostics', '/scan',
            '/perception/scan', '/map', '/map/navigation', '/plan', '/localization/pose',
            '/odom', CAMERA, '/tf'} <= set(viewer.channels)


def test_the_camera_rate_applies_at_once_and_its_drops_are_counted(
        context: rclpy.Context) -> None:
    view = _node(context, camera_max_rate_hz=60.0)
    probe = rclpy.create_node('probe', context=context)
    image_pub = probe.create_publisher(Image, CAMERA, qos.SENSOR)
    spinner = Spinner(context, [view, probe], TIMEOUT_S)
    relay = view.relays[CAMERA]
    publish = _every(0.02, lambda: image_pub.publish(_image()))
    try:
        with Viewer(view.port, [CAMERA, '/diagnostics']) as viewer:
            assert spinner.spin_until(lambda: publish() or viewer.messages(CAMERA))
            assert viewer.decoded(CAMERA)[0].data == bytes(range(24))
            # the port is read-only; the camera's rate is live: 0 turns the channel off
            assert not view.set_parameters([Parameter('port', value=9999)])[0].successful
            assert view.set_parameters(
                [Parameter('camera_max_rate_hz', value=0.0)])[0].successful
            sent, dropped = relay.sent, relay.gate.dropped
            assert spinner.spin_until(lambda: publish() or relay.gate.dropped >= dropped + 10)
            assert relay.sent == sent

            def drops_reported() -> bool:
                publish()
                mine = [s for m in viewer.json('/diagnostics') for s in m['statuses']
                        if s['name'] == STATUS_NAME]
                return bool(mine) and int(mine[-1]['values']['dropped']) >= dropped + 10

            assert spinner.spin_until(drops_reported), 'the viewer never saw the drop count'
    finally:
        spinner.close()
