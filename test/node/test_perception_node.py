"""Node tests: perception segments images with a fixture ONNX model and survives bad input.

Each test runs the lifecycle node and a probe node in one fresh rclpy Context with a
SingleThreadedExecutor; every wait spins the executor until a condition holds or a wall
deadline passes.
"""

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from perception_fixtures import threshold_model, two_tone_image
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import Spinner
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from visualization_msgs.msg import Marker, MarkerArray

from robo_edge.nodes.perception import STATUS_NAME, PerceptionNode
from robo_edge.perception.virtual_scan import CameraGeometry, Intrinsics, MountPose
from robo_edge.ros.diagnostics import status_level, status_values
from robo_edge.ros.qos import DIAGNOSTICS, SENSOR
from robo_edge.ros.stamps import from_msg, to_msg

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 10.0
RETRY_S = 0.3
PROBE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.BEST_EFFORT
)
OK, WARN, ERROR = 0, 1, 2
FOCAL = 120 / math.tan(math.radians(29))
FLOOR_ROWS = 100  # of 240: the floor ends between rows 139 and 140


def camera_info(width: int = 320, height: int = 240) -> CameraInfo:
    msg = CameraInfo(width=width, height=height, distortion_model='plumb_bob')
    msg.header.frame_id = 'camera_optical_frame'
    msg.k = [FOCAL, 0.0, (width - 1) / 2, 0.0, FOCAL, (height - 1) / 2, 0.0, 0.0, 1.0]
    return msg


def image(stamp_ns: int, rgb: np.ndarray | None = None, encoding: str = 'rgb8') -> Image:
    rgb = two_tone_image(floor_rows=FLOOR_ROWS) if rgb is None else rgb
    height, width = rgb.shape[:2]
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=0)
    msg.header.stamp = to_msg(stamp_ns)
    msg.header.frame_id = 'camera_optical_frame'
    msg.step = rgb.size // height
    msg.data = rgb.tobytes()
    return msg


class Harness:
    """The perception node and a probe that feeds it and records every output."""

    def __init__(self, context: rclpy.Context, node: PerceptionNode) -> None:
        self.node = node
        self.probe = Node('perception_probe', context=context)
        self.spinner = Spinner(context, [node, self.probe], TIMEOUT_S, step_s=0.02)
        self.got: dict[str, list] = {'mask': [], 'scan': [], 'markers': [], 'status': []}
        for msg_type, topic, key in ((Image, '/perception/mask', 'mask'),
                                     (LaserScan, '/perception/scan', 'scan'),
                                     (MarkerArray, '/perception/obstacles', 'markers')):
            self.probe.create_subscription(msg_type, topic, self.got[key].append, PROBE_QOS)
        self.probe.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag,
                                       DIAGNOSTICS)
        self.images = self.probe.create_publisher(Image, '/sensors/camera/image', SENSOR)
        self.info = self.probe.create_publisher(CameraInfo, '/camera/camera_info', SENSOR)

    def _on_diag(self, msg: DiagnosticArray) -> None:
        self.got['status'].extend(s for s in msg.status if s.name == STATUS_NAME)

    def spin_until(self, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
        return self.spinner.spin_until(condition, timeout_s)

    def start(self) -> None:
        assert self.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert self.node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert self.spin_until(lambda: self.images.get_subscription_count() > 0
                               and self.info.get_subscription_count() > 0
                               and self.probe.count_publishers('/perception/scan') > 0)

    def feed_until(self, make_image: Callable[[], Image], condition: Callable[[], bool],
                   info: CameraInfo | None = None) -> bool:
        """Publish CameraInfo and an image (best effort may lose one) until the condition."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if info is not None:
                self.info.publish(info)
                self.spin_until(lambda: self.node._geometry is not None, RETRY_S)
            self.images.publish(make_image())
            if self.spin_until(condition, min(RETRY_S, deadline - time.monotonic())):
                return True
        return condition()

    def status(self):
        return self.got['status'][-1] if self.got['status'] else None

    def value(self, key: str) -> str:
        status = self.status()
        return status_values(status).get(key, '') if status else ''

    def close(self) -> None:
        self.spinner.close()


def make(context, model: Path, **overrides) -> Harness:
    params = {'model_path': str(model), 'providers': ['CPUExecutionProvider'],
              'diagnostics_period_s': 0.2, 'stale_s': 30.0, **overrides}
    node = PerceptionNode(context=context, parameter_overrides=[
        Parameter(name, value=value) for name, value in params.items()])
    return Harness(context, node)


@pytest.fixture
def running(context, tmp_path):
    harness = make(context, threshold_model(tmp_path / 'floor.onnx'))
    harness.start()
    yield harness
    harness.close()


def expected_boundary_range() -> float:
    """The floor ends between image rows 139 and 140: mask rows 69 and 70, edge at 69.5."""
    geometry = CameraGeometry(Intrinsics(320, 240, FOCAL, FOCAL, 159.5, 119.5).scaled(160, 120),
                              MountPose())
    x, y = geometry.floor_points(np.array([79.5]), np.array([69.5]))[0]
    return float(np.hypot(x, y))


def test_outputs_carry_the_image_stamp(running):
    stamp = 1_234_567_890_123
    h = running
    assert h.feed_until(lambda: image(stamp), lambda: h.got['markers'] and h.got['scan'],
                        info=camera_info())
    mask, scan, markers = h.got['mask'][-1], h.got['scan'][-1], h.got['markers'][-1]
    for msg in (mask, scan, *markers.markers):
        assert from_msg(msg.header.stamp) == stamp
    assert (mask.width, mask.height, mask.encoding) == (160, 120, 'mono8')
    labels = np.frombuffer(mask.data, np.uint8).reshape(120, 160)
    assert (labels[70:] == 0).all() and (labels[:70] == 1).all()
    assert scan.header.frame_id == 'base_link' and len(scan.ranges) == 160
    assert scan.angle_min == pytest.approx(-scan.angle_max)
    ranges = np.asarray(scan.ranges)
    # A straight image row is a curve on the floor: the centre beam is the nearest.
    assert ranges[80] == pytest.approx(expected_boundary_range(), rel=0.02)
    assert np.isfinite(ranges).all() and ranges.min() == pytest.approx(ranges[79:81].min())
    marker = markers.markers[0]
    assert marker.type == Marker.POINTS and marker.header.frame_id == 'base_link'
    assert len(marker.points) == 160


def test_diagnostics_report_the_model_and_the_providers_in_use(running):
    h = running
    assert h.feed_until(lambda: image(10**9), lambda: h.got['scan'], info=camera_info())
    assert h.spin_until(lambda: h.value('inferences') not in ('', '0'))
    status = h.status()
    assert h.value('providers_in_use') == 'CPUExecutionProvider'
    assert h.value('model_version') == 'fixture-1' and h.value('input_size') == '160x120'
    assert h.value('state') == 'active' and h.value('camera_info') == 'ok'
    assert float(h.value('latency_p99_ms')) > 0 and h.value('nan_outputs') == '0'
    assert status.hardware_id == 'floor.onnx'
    assert status_level(status) in (OK, WARN)  # WARN: a loaded CI host may miss the budget


def drop_counted(h: Harness, reason: str) -> Callable[[], bool]:
    return lambda: h.value(f'drops_{reason}') not in ('', '0')


def test_image_before_camera_info_is_a_counted_drop(running):
    h = running
    assert h.feed_until(lambda: image(10**9), drop_counted(h, 'no_camera_info'))
    assert not h.got['scan']


@pytest.mark.parametrize(('make_image', 'reason'), [
    (lambda: image(10**9, two_tone_image(160, 120, 50)), 'size_mismatch'),
    (lambda: image(10**9, np.zeros((240, 320, 1), np.uint8), 'mono8'), 'encoding'),
    (lambda: image(10**9, np.zeros((240, 320, 2), np.uint8), 'yuv422'), 'encoding'),
    (lambda: _truncated(image(10**9)), 'structure'),
    (lambda: image(0), 'zero_stamp'),
])
def test_bad_images_are_counted_drops_and_the_node_carries_on(running, make_image, reason):
    h = running
    assert h.feed_until(make_image, drop_counted(h, reason), info=camera_info())
    assert h.value('last_drop_reason') == reason
    assert h.feed_until(lambda: image(2 * 10**9), lambda: h.got['scan'])
    assert status_level(h.status()) in (OK, WARN)


def _truncated(msg: Image) -> Image:
    msg.data = bytes(msg.data)[: len(msg.data) // 2]
    return msg


def test_bgr8_images_are_segmented_like_rgb8(context, tmp_path):
    floor_rgb = (180, 140, 100)
    h = make(context, threshold_model(tmp_path / 'brown.onnx', floor_rgb=floor_rgb))
    try:
        h.start()
        bgr = two_tone_image(floor_rows=FLOOR_ROWS, floor_rgb=floor_rgb)[:, :, ::-1].copy()
        assert h.feed_until(lambda: image(10**9, bgr, 'bgr8'), lambda: h.got['mask'],
                            info=camera_info())
        labels = np.frombuffer(h.got['mask'][-1].data, np.uint8).reshape(120, 160)
        assert (labels[70:] == 0).all() and (labels[:70] == 1).all()
        # The same bytes called rgb8 are not the floor colour.
        before = len(h.got['mask'])
        assert h.feed_until(lambda: image(2 * 10**9, bgr, 'rgb8'),
                            lambda: len(h.got['mask']) > before)
        labels = np.frombuffer(h.got['mask'][-1].data, np.uint8).reshape(120, 160)
        assert (labels == 1).all()
    finally:
        h.close()


def test_camera_info_without_intrinsics_is_a_counted_drop(running):
    h = running
    info = camera_info()
    info.k = [0.0] * 9
    h.info.publish(info)
    assert h.spin_until(lambda: h.node._expected is not None)
    assert h.feed_until(lambda: image(10**9), drop_counted(h, 'camera_info'), info=info)


def test_latest_frame_only_skips_superseded_images(running):
    h = running
    assert h.feed_until(lambda: image(10**9), lambda: h.got['scan'], info=camera_info())
    before = len(h.got['scan'])
    # Three images reach the callback before the guard condition runs: only the last counts.
    for i in range(3):
        h.node._on_image(image((5 + i) * 10**9))
    assert h.spin_until(lambda: len(h.got['scan']) > before)
    h.spin_until(lambda: False, 0.3)  # nothing else may follow
    stamps = [from_msg(m.header.stamp) for m in h.got['scan'][before:]]
    assert stamps == [7 * 10**9]
    assert h.node.health.skipped_stale == 2


def test_nan_model_outputs_are_counted_and_publish_nothing(context, tmp_path):
    h = make(context, threshold_model(tmp_path / 'nan.onnx', nan=True))
    try:
        h.start()
        assert h.feed_until(lambda: image(10**9), drop_counted(h, 'nan_output'),
                            info=camera_info())
        assert h.spin_until(lambda: status_level(h.status()) == ERROR)
        assert 'not finite' in h.status().message and int(h.value('nan_outputs')) >= 1
        assert not h.got['scan'] and not h.got['mask']
    finally:
        h.close()


@pytest.mark.parametrize(('write', 'says'), [
    (lambda p: p.write_bytes(os.urandom(2048)), 'onnxruntime cannot load it'),
    (lambda p: None, 'model file not found'),
    (lambda p: threshold_model(p, graph_size=(64, 64)), 'the metadata declares'),
    (lambda p: threshold_model(p, version=None), 'missing robo_edge.version'),
])
def test_bad_model_fails_configure_and_the_node_says_why(context, tmp_path, write, says):
    path = tmp_path / 'bad.onnx'
    write(path)
    h = make(context, path)
    try:
        assert h.node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert h.spin_until(lambda: h.status() is not None
                            and status_level(h.status()) == ERROR and says in h.status().message)
        assert h.value('state') == 'unconfigured'
        assert h.probe.count_subscribers('/sensors/camera/image') == 0
        # The node is alive: a good model makes the next configure succeed.
        good = threshold_model(tmp_path / 'good.onnx')
        h.node.set_parameters([Parameter('model_path', value=str(good))])
        assert h.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert h.node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert h.spin_until(lambda: status_level(h.status()) != ERROR)
    finally:
        h.close()


def test_cleanup_releases_the_session_and_configure_loads_it_again(running):
    h = running
    assert h.node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    assert h.node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    assert h.node.model is None
    assert h.spin_until(lambda: h.probe.count_subscribers('/sensors/camera/image') == 0)
    h.start()
    assert h.feed_until(lambda: image(10**9), lambda: h.got['scan'], info=camera_info())


def test_shipped_config_matches_the_declared_parameters(context):
    config = yaml.safe_load((REPO / 'config' / 'perception.yaml').read_text())
    node = PerceptionNode(context=context)
    try:
        values = config['perception']['ros__parameters']
        assert set(values) <= set(node.params), 'a key in perception.yaml is not declared'
        assert {key: node.params[key] for key in values} == values
    finally:
        node.destroy_node()
