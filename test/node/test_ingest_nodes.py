"""Node tests: the ingest nodes republish valid messages, drop invalid ones and say why.

Each test runs an ingest node and a probe node in one fresh rclpy Context with a
SingleThreadedExecutor; every wait spins the executor until a condition holds or a wall
deadline passes.
"""

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import Spinner
from sensor_msgs.msg import CameraInfo, Image, Imu, LaserScan

from robo_edge.exceptions import ConfigError
from robo_edge.nodes.camera_ingest import CameraIngest
from robo_edge.nodes.imu_ingest import ImuIngest
from robo_edge.nodes.lidar_ingest import LidarIngest
from robo_edge.ros.diagnostics import status_level, status_values
from robo_edge.ros.qos import DIAGNOSTICS, SENSOR, SENSOR_BURST
from robo_edge.ros.stamps import from_msg, to_msg

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 5.0
RETRY_S = 0.3
MS = 1_000_000
# The probe keeps every output it can: best effort (matches the publisher), a deep queue.
PROBE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.BEST_EFFORT
)
OK, WARN, ERROR, STALE = 0, 1, 2, 3


class Harness:
    """An ingest node, a probe publishing its input and recording its outputs."""

    def __init__(self, context: rclpy.Context, ingest: Node, out_type: type, out_topic: str):
        self.context = context
        self.ingest = ingest
        self.probe = Node('ingest_probe', context=context)
        self.spinner = Spinner(context, [ingest, self.probe], TIMEOUT_S, step_s=0.02)
        self.outputs = []
        self.statuses = []
        self.probe.create_subscription(out_type, out_topic, self.outputs.append, PROBE_QOS)
        self.probe.create_subscription(
            DiagnosticArray, '/diagnostics', self._on_diagnostics, DIAGNOSTICS
        )

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        self.statuses.extend(s for s in msg.status if s.name == self.ingest.status_name)

    def publisher(self, msg_type: type, topic: str, qos: QoSProfile = SENSOR):
        return self.probe.create_publisher(msg_type, topic, qos)

    def now(self):
        return self.ingest.get_clock().now()

    def spin_until(self, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
        return self.spinner.spin_until(condition, timeout_s)

    def connect(self, *publishers) -> None:
        assert self.spin_until(
            lambda: (
                all(p.get_subscription_count() > 0 for p in publishers)
                and self.probe.count_publishers('/diagnostics') > 0
            )
        ), 'discovery did not complete'

    def publish_until(
        self, publisher, make_msg: Callable[[], object], condition: Callable[[], bool]
    ) -> bool:
        """Publish (best effort may lose one) until the condition holds or time runs out."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            publisher.publish(make_msg())
            if self.spin_until(condition, min(RETRY_S, deadline - time.monotonic())):
                return True
        return condition()

    def latest_status(self):
        return self.statuses[-1] if self.statuses else None

    def reported(self, key: str, predicate: Callable[[str], bool]) -> bool:
        status = self.latest_status()
        return status is not None and predicate(status_values(status).get(key, ''))

    def drop_reported(self, reason: str) -> bool:
        status = self.latest_status()
        if status is None:
            return False
        values = status_values(status)
        return int(values[f'drops_{reason}']) >= 1 and values['last_drop_reason'] == reason

    def close(self) -> None:
        self.spinner.close()


def make_harness(context, node_class, out_type, out_topic, **overrides) -> Harness:
    params = {'diagnostics_period_s': 0.2, 'max_age_s': 5.0, **overrides}
    node = node_class(
        context=context,
        parameter_overrides=[Parameter(name, value=value) for name, value in params.items()],
    )
    return Harness(context, node, out_type, out_topic)


@pytest.fixture
def lidar(context):
    harness = make_harness(context, LidarIngest, LaserScan, '/sensors/scan', frozen_repeats=0)
    yield harness
    harness.close()


@pytest.fixture
def camera(context):
    harness = make_harness(context, CameraIngest, Image, '/sensors/camera/image')
    yield harness
    harness.close()


@pytest.fixture
def imu(context):
    harness = make_harness(context, ImuIngest, Imu, '/sensors/imu')
    yield harness
    harness.close()


def sentinel_passes(h: Harness, publisher, make_msg) -> None:
    """A valid message after the invalid ones: once it is out, every earlier one was handled."""
    before = len(h.outputs)
    assert h.publish_until(publisher, make_msg, lambda: len(h.outputs) > before)


# LiDAR


def scan_msg(h: Harness, ranges, stamp=None) -> LaserScan:
    msg = LaserScan()
    msg.header.frame_id = 'laser'
    msg.header.stamp = stamp or h.now().to_msg()
    msg.angle_min, msg.angle_increment = -1.0, 0.25
    msg.angle_max = msg.angle_min + msg.angle_increment * (len(ranges) - 1)
    msg.range_min, msg.range_max = 0.1, 10.0
    msg.ranges = [float(r) for r in ranges]
    return msg


VALID_RANGES = [1.0, math.inf, 2.0, -math.inf, math.nan, 3.0, 4.0, 5.0, 6.0]
NAN_RANGES = [math.nan] * 6 + [1.0, 2.0, 3.0]


def test_lidar_republishes_valid_scans_and_drops_nan_scans(lidar):
    pub = lidar.publisher(LaserScan, '/scan')
    lidar.connect(pub)
    assert lidar.publish_until(
        pub, lambda: scan_msg(lidar, VALID_RANGES), lambda: len(lidar.outputs) > 0
    )
    out = np.asarray(lidar.outputs[0].ranges)
    assert np.isinf(out).sum() == 2, 'inf is a valid no-return and must pass'
    assert lidar.publish_until(
        pub, lambda: scan_msg(lidar, NAN_RANGES), lambda: lidar.drop_reported('nan')
    )
    sentinel_passes(lidar, pub, lambda: scan_msg(lidar, VALID_RANGES))
    assert all(np.isnan(np.asarray(m.ranges)).sum() <= 4 for m in lidar.outputs)
    assert lidar.spin_until(lambda: lidar.reported('nan_readings', lambda v: int(v) >= 2))
    status = lidar.latest_status()
    assert status.hardware_id == 'laser'
    assert status_level(status) == WARN
    assert 'nan' in status.message


def test_lidar_frozen_scans_pass_but_raise_error(context):
    h = make_harness(context, LidarIngest, LaserScan, '/sensors/scan', frozen_repeats=3)
    try:
        pub = h.publisher(LaserScan, '/scan')
        h.connect(pub)
        assert h.publish_until(pub, lambda: scan_msg(h, VALID_RANGES), lambda: len(h.outputs) >= 4)
        assert h.spin_until(lambda: bool(h.statuses) and status_level(h.statuses[-1]) == ERROR)
        values = status_values(h.latest_status())
        assert int(values['frozen']) >= 1
        # Only the first two of the identical scans are not frozen; the rest still went out.
        assert int(values['republished']) >= int(values['frozen']) + 2
        assert 'frozen' in h.latest_status().message
    finally:
        h.close()


# Camera


def image_msg(h: Harness, width=8, height=6, encoding='rgb8', bpp=3, data_len=None) -> Image:
    msg = Image()
    msg.header.frame_id = 'camera_optical_frame'
    msg.header.stamp = h.now().to_msg()
    msg.width, msg.height, msg.encoding = width, height, encoding
    msg.step = width * bpp
    size = msg.step * height if data_len is None else data_len
    msg.data = bytes((i * 7) % 256 for i in range(size)) if size < 1000 else bytes(size)
    return msg


def valid_image(image: Image) -> bool:
    return (
        image.encoding == 'rgb8'
        and len(image.data) == image.step * image.height
        and (image.width, image.height) == (8, 6)
    )


def test_camera_drops_truncated_and_wrong_encoding_images(camera):
    pub = camera.publisher(Image, '/camera/image_raw')
    camera.connect(pub)
    assert camera.publish_until(pub, lambda: image_msg(camera), lambda: len(camera.outputs) > 0)
    assert camera.publish_until(
        pub,
        lambda: image_msg(camera, data_len=8 * 3 * 6 - 10),
        lambda: camera.drop_reported('structure'),
    )
    assert camera.publish_until(
        pub, lambda: image_msg(camera, encoding='rgb9'), lambda: camera.drop_reported('encoding')
    )
    sentinel_passes(camera, pub, lambda: image_msg(camera))
    assert all(valid_image(image) for image in camera.outputs)
    assert 'rgb9' in status_values(camera.latest_status())['last_drop_detail']


def test_camera_drops_images_that_do_not_match_camera_info(camera):
    pub = camera.publisher(Image, '/camera/image_raw')
    info_pub = camera.publisher(CameraInfo, '/camera/camera_info')
    camera.connect(pub, info_pub)
    assert camera.publish_until(
        info_pub,
        lambda: CameraInfo(width=16, height=12),
        lambda: camera.ingest.expected_size is not None,
    )
    assert camera.publish_until(
        pub, lambda: image_msg(camera), lambda: camera.drop_reported('size_mismatch')
    )
    assert camera.outputs == []
    assert camera.publish_until(
        info_pub,
        lambda: CameraInfo(width=8, height=6),
        lambda: camera.ingest.expected_size.width == 8,
    )
    sentinel_passes(camera, pub, lambda: image_msg(camera))
    assert all(valid_image(image) for image in camera.outputs)


def test_level_change_is_published_at_once(context):
    h = make_harness(
        context, CameraIngest, Image, '/sensors/camera/image', diagnostics_period_s=30.0
    )
    try:
        pub = h.publisher(Image, '/camera/image_raw')
        h.connect(pub)
        assert h.spin_until(lambda: bool(h.statuses))
        assert status_level(h.statuses[0]) == STALE
        assert h.publish_until(
            pub, lambda: image_msg(h, encoding='bogus'), lambda: h.drop_reported('encoding')
        )
        assert status_level(h.latest_status()) in (WARN, ERROR)
        assert len(h.statuses) <= 3, 'only level changes publish before the period'
    finally:
        h.close()


# IMU


def imu_msg(h: Harness, stamp_ns=None, gyro_x=0.0) -> Imu:
    msg = Imu()
    msg.header.frame_id = 'imu_link'
    msg.header.stamp = h.now().to_msg() if stamp_ns is None else to_msg(stamp_ns)
    msg.orientation.w = 1.0
    msg.angular_velocity.x = gyro_x
    msg.linear_acceleration.z = 9.81
    return msg


def test_imu_drops_nan_samples(imu):
    pub = imu.publisher(Imu, '/imu/data', SENSOR_BURST)
    imu.connect(pub)
    assert imu.publish_until(pub, lambda: imu_msg(imu), lambda: len(imu.outputs) > 0)
    assert imu.publish_until(
        pub, lambda: imu_msg(imu, gyro_x=math.nan), lambda: imu.drop_reported('nan')
    )
    sentinel_passes(imu, pub, lambda: imu_msg(imu))
    assert not any(math.isnan(m.angular_velocity.x) for m in imu.outputs)
    assert imu.latest_status().hardware_id == 'imu_link'


def test_imu_drops_stamps_going_backwards(imu):
    pub = imu.publisher(Imu, '/imu/data', SENSOR_BURST)
    imu.connect(pub)
    assert imu.publish_until(pub, lambda: imu_msg(imu), lambda: len(imu.outputs) > 0)
    back_ns = from_msg(imu.outputs[-1].header.stamp) - 50 * MS
    assert imu.publish_until(
        pub, lambda: imu_msg(imu, stamp_ns=back_ns), lambda: imu.drop_reported('backwards')
    )
    sentinel_passes(imu, pub, lambda: imu_msg(imu))
    stamps = [from_msg(m.header.stamp) for m in imu.outputs]
    assert back_ns not in stamps
    assert stamps == sorted(set(stamps))


def test_an_exception_in_validation_is_a_counted_drop_not_a_crash(lidar):
    pub = lidar.publisher(LaserScan, '/scan')
    lidar.connect(pub)

    def broken(_msg):
        raise RuntimeError('validator bug')

    lidar.ingest.validate = broken
    assert lidar.publish_until(
        pub, lambda: scan_msg(lidar, VALID_RANGES), lambda: lidar.drop_reported('exception')
    )
    assert (
        'RuntimeError: validator bug' in status_values(lidar.latest_status())['last_drop_detail']
    )
    del lidar.ingest.validate  # the class method again: the node keeps working
    sentinel_passes(lidar, pub, lambda: scan_msg(lidar, VALID_RANGES))


@pytest.mark.parametrize('node_class', [CameraIngest, LidarIngest, ImuIngest])
def test_shipped_config_matches_the_declared_parameters(context, node_class):
    config = yaml.safe_load((REPO / 'config' / 'ingest.yaml').read_text())
    defaults = node_class(context=context)
    try:
        name = defaults.get_name()
        values = config[name]['ros__parameters']
        assert set(values) <= set(defaults.params), 'a key in ingest.yaml is not declared'
        assert {key: defaults.params[key] for key in values} == values
    finally:
        defaults.destroy_node()


def test_inverted_gravity_band_fails_the_start_with_a_clear_error(context):
    overrides = [Parameter('gravity_min_mps2', value=13.0)]
    with pytest.raises(ConfigError, match='gravity_min_mps2'):
        ImuIngest(context=context, parameter_overrides=overrides)


def test_required_readers_hold_readiness_until_the_output_has_matched_them(context):
    """The writer's side of the match: not ready while nobody reads /sensors/scan yet."""
    overrides = [Parameter('required_readers', value=['/sensors/scan:1'])]
    lidar = LidarIngest(context=context, parameter_overrides=overrides)
    writer = Node('scan_writer', context=context)
    writer.create_publisher(LaserScan, '/scan', SENSOR)  # the input is matched at once
    spinner = Spinner(context, [lidar, writer], TIMEOUT_S, step_s=0.02)
    try:
        assert spinner.spin_until(lambda: lidar.inputs[0].get_publisher_count() >= 1)
        spinner.spin_until(lambda: lidar.readiness.ready, 0.3)
        assert not lidar.readiness.ready, 'ready before its output had a reader'
        writer.create_subscription(LaserScan, '/sensors/scan', lambda _: None, SENSOR)
        assert spinner.spin_until(lambda: lidar.readiness.ready)
    finally:
        spinner.close()


def test_required_readers_of_a_topic_the_node_does_not_publish_fail_the_start(context):
    overrides = [Parameter('required_readers', value=['/sensors/imu:1'])]
    with pytest.raises(ConfigError, match=r"required_readers.*\['/sensors/imu'\]"):
        LidarIngest(context=context, parameter_overrides=overrides)
    overrides = [Parameter('required_readers', value=['/sensors/scan'])]
    with pytest.raises(ConfigError, match='topic:count'):
        LidarIngest(context=context, parameter_overrides=overrides)
