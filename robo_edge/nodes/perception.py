"""perception: camera images -> floor/obstacle mask and a virtual LaserScan (onnxruntime).

Latest frame only: the image callback only stores the newest image and triggers a guard
condition; the guard's callback segments whatever image is newest then. Images that arrive
while an inference runs therefore replace each other (counted as `skipped_stale`) and the node
never works through a backlog, without a polling timer adding latency. The subscription's
depth-1 best-effort QoS keeps DDS from queueing either.
"""

import time
from pathlib import Path
from typing import Any

import cv2
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from robo_edge import paths
from robo_edge.exceptions import ModelError, ResourceNotFound
from robo_edge.health.report import Level
from robo_edge.ingest.image import ImageFrame, ImageSize, calibrated_size
from robo_edge.perception.health import HealthConfig, Inference, PerceptionHealth
from robo_edge.perception.hot_swap import ModelSwapper
from robo_edge.perception.model import ModelSession, load_model
from robo_edge.perception.preprocess import Normaliser, check_image, image_array, segment
from robo_edge.perception.virtual_scan import (
    CameraGeometry,
    MountPose,
    ScanConfig,
    ScanGrid,
    column_grid,
    virtual_scan,
)
from robo_edge.ros import perception_messages as pm
from robo_edge.ros.diagnostics import to_array
from robo_edge.ros.lifecycle import CleanLifecycleNode
from robo_edge.ros.params import LiveParameters, Param, declare, read_only
from robo_edge.ros.qos import DIAGNOSTICS, SENSOR
from robo_edge.ros.run import spin_lifecycle_node
from robo_edge.ros.stamps import from_msg

STATUS_NAME = 'robo_edge/perception'
MODEL_SHARE = ('models', 'floor_seg.onnx')
LIVE = frozenset({'model_path'})  # hot swap; the rest is read at start or configure
PARAMS = read_only([
    Param('model_path', '', 'ONNX model; empty: share/robo_edge/models/floor_seg.onnx'),
    Param('providers', ['CUDAExecutionProvider', 'CPUExecutionProvider'],
          'onnxruntime execution providers in order of preference (unavailable ones skipped)'),
    Param('intra_op_threads', 1, 'onnxruntime intra-op threads', 1, 64),
    Param('budget_ms', 25.0, 'Per-frame processing budget (callback to published)', 0.1, 1e4),
    Param('range_min', 0.1, 'Virtual scan range_min (m); closer obstacles are -inf', 0.0, 100.0),
    Param('range_max', 4.0, 'Virtual scan range_max (m); farther is +inf', 0.1, 100.0),
    Param('min_obstacle_rows', 2, 'Non-floor rows in a row that end the floor', 1, 100),
    Param('camera_xyz', [0.12, 0.0, 0.42], 'Position of camera_link in base_link (m)'),
    Param('camera_rpy', [0.0, 0.35, 0.0], 'Roll, pitch, yaw of camera_link in base_link (rad)'),
    Param('base_frame', 'base_link', 'Frame of the scan and the markers'),
    Param('image_topic', '/sensors/camera/image', 'Validated camera images (sensor_msgs/Image)'),
    Param('info_topic', '/camera/camera_info', 'CameraInfo of the images'),
    Param('mask_topic', '/perception/mask', 'Class-id mask output (mono8)'),
    Param('scan_topic', '/perception/scan', 'Virtual LaserScan output'),
    Param('obstacles_topic', '/perception/obstacles', 'MarkerArray of obstacle points'),
    Param('window_frames', 150, 'Frames in the latency and confidence window', 1, 100000),
    Param('drop_window_s', 2.0, 'Window of recent drops', 0.1, 3600.0),
    Param('stale_s', 1.0, 'Seconds without an image (once active) before STALE', 0.01, 3600.0),
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics publication', 0.01, 60.0),
    Param('level_check_period_s', 0.1, 'Period of the level-change check', 0.01, 60.0),
], but=LIVE)


class PerceptionNode(CleanLifecycleNode):
    """Segments camera images with an ONNX model into a mask, a virtual scan and markers.

    Parameters: see PARAMS (model_path (live), providers, intra_op_threads, budget_ms,
    range_min, range_max, min_obstacle_rows, camera_xyz, camera_rpy, base_frame, the topics,
    window_frames, drop_window_s, stale_s, diagnostics_period_s, level_check_period_s: these
    read-only).
    Subscriptions (configured): image_topic (sensor_msgs/Image rgb8|bgr8, SENSOR),
    info_topic (sensor_msgs/CameraInfo, SENSOR).
    Publishers (configured; publish while active, stamped with the image):
    mask_topic (sensor_msgs/Image mono8 class ids, model size, SENSOR),
    scan_topic (sensor_msgs/LaserScan in base_frame, SENSOR),
    obstacles_topic (visualization_msgs/MarkerArray, SENSOR), /perception/inference
    (diagnostic_msgs/DiagnosticArray per frame: latency_ms, confidence, non_finite; SENSOR).
    Always: /diagnostics (diagnostic_msgs/DiagnosticArray, DIAGNOSTICS), status
    robo_edge/perception, every diagnostics_period_s and at once on a level change.
    Lifecycle: configure loads the model (failure: ERROR diagnostics saying why), cleanup and
    shutdown release it. Setting model_path while configured hot-swaps: the new model loads
    off the executor thread and replaces the running one between two frames (none dropped);
    a model that fails to load or differs in input size or classes is refused (the old one
    keeps serving; diagnostics model_swap_error says why).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('perception', **kwargs)
        self.params = declare(self, PARAMS)
        p = self.params
        self.health = PerceptionHealth(HealthConfig(
            p['budget_ms'], p['window_frames'], p['drop_window_s'], p['stale_s']))
        self.model: ModelSession | None = None
        self._active = False
        self._entities: list[Any] = []
        self._pending: tuple[Image, float] | None = None
        self._expected: ImageSize | None = None
        self._info_key: tuple | None = None
        self._geometry: tuple[CameraGeometry, ScanGrid] | None = None
        self._level: Level | None = None
        self._diagnostics = self.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS)
        self._swap_ready = self.create_guard_condition(self._on_swap_ready)
        self.swapper = ModelSwapper(self._load_path, self._swap_ready.trigger)
        self.live = LiveParameters(self, PARAMS, self.params, LIVE, self._retune)
        self.create_timer(p['diagnostics_period_s'], self.publish_diagnostics)
        self.create_timer(p['level_check_period_s'], self._check_level)

    # -- lifecycle ------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Load and validate the model, then create the subscriptions and publishers."""
        # Read again: a model_path set while unconfigured applies to this configure.
        self.params.update({p.name: self.get_parameter(p.name).value for p in PARAMS})
        try:
            self.model = self._load_model()
            self._scan_config = self._make_scan_config()
        except (ModelError, ResourceNotFound, ValueError) as e:
            self.model = None
            self.health.set_error(f'configure failed: {e}')
            self.get_logger().error(f'cannot configure perception: {e}')
            self.publish_diagnostics()
            return TransitionCallbackReturn.FAILURE
        spec = self.model.spec
        # The resize takes tens of microseconds: OpenCV's thread pool would cost more in
        # hand-offs than it saves, and compete with onnxruntime's threads for the cores.
        cv2.setNumThreads(1)
        self._normalise = Normaliser(spec.input)
        self.get_logger().info(
            f'model {self.model.path} version {spec.version}, input {spec.input.width}x'
            f'{spec.input.height}, providers in use {self.model.providers}')
        self._create_entities()
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Start segmenting images."""
        self.health.start(self._now_ns(), self.model.spec.reference)
        self._active = True
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Stop segmenting images (they are ignored while inactive)."""
        self._active = False
        self._pending = None
        self.health.stop()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Release the onnxruntime session, the subscriptions and the publishers."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Release everything on the way out."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _load_model(self) -> ModelSession:
        configured = str(self.params['model_path'])
        return self._load_path(Path(configured) if configured else paths.share_file(*MODEL_SHARE))

    def _load_path(self, path: Path) -> ModelSession:
        return load_model(path, list(self.params['providers']),
                          int(self.params['intra_op_threads']))

    # -- hot swap -------------------------------------------------------------------------
    def _retune(self, _values: dict[str, Any], changed: dict[str, Any]) -> None:
        if self.model is not None and changed.get('model_path'):
            self.swapper.request(Path(str(changed['model_path'])), self.model.spec)

    def _on_swap_ready(self) -> None:
        result = self.swapper.take()
        if result is None:
            return
        if result.session is None or self.model is None:
            self.get_logger().error(f'model swap refused, the old model serves: {result.error}')
            if result.session is not None:
                result.session.close()
        else:
            old, self.model = self.model, result.session
            self._normalise = Normaliser(self.model.spec.input)
            if self._active:  # the new model's reference output is what drift is judged against
                self.health.start(self._now_ns(), self.model.spec.reference)
            old.close()
            self.params['model_path'] = str(self.model.path)
            self.get_logger().info(f'model swapped to {self.model.path} version '
                                   f'{self.model.spec.version}')
        self.publish_diagnostics()

    def _make_scan_config(self) -> ScanConfig:
        p = self.params
        for key in ('camera_xyz', 'camera_rpy'):
            if len(p[key]) != 3:
                raise ValueError(f'parameter {key}: expected 3 numbers, found {list(p[key])}')
        if p['range_max'] <= p['range_min']:
            raise ValueError(f'range_max {p["range_max"]} must exceed range_min {p["range_min"]}')
        return ScanConfig(p['range_min'], p['range_max'], p['min_obstacle_rows'])

    def _create_entities(self) -> None:
        p = self.params
        self._mask_pub = self.create_publisher(Image, p['mask_topic'], SENSOR)
        self._scan_pub = self.create_publisher(LaserScan, p['scan_topic'], SENSOR)
        self._markers_pub = self.create_publisher(MarkerArray, p['obstacles_topic'], SENSOR)
        # Per-frame model health (latency, confidence, NaN outputs) for the perception breaker.
        self._inference_pub = self.create_publisher(DiagnosticArray, '/perception/inference',
                                                    SENSOR)
        self._ready = self.create_guard_condition(self._on_ready)
        self._entities = [
            (self.destroy_publisher, self._mask_pub),
            (self.destroy_publisher, self._scan_pub),
            (self.destroy_publisher, self._markers_pub),
            (self.destroy_publisher, self._inference_pub),
            (self.destroy_guard_condition, self._ready),
            (self.destroy_subscription,
             self.create_subscription(Image, p['image_topic'], self._on_image, SENSOR)),
            (self.destroy_subscription,
             self.create_subscription(CameraInfo, p['info_topic'], self._on_info, SENSOR)),
        ]

    def _release(self) -> None:
        self._active = False
        self._pending = None
        for destroy, entity in self._entities:
            destroy(entity)
        self._entities = []
        if self.model is not None:
            self.model.close()
            self.model = None
        self._geometry = self._info_key = self._expected = None

    # -- inputs ---------------------------------------------------------------------------
    def _on_info(self, msg: CameraInfo) -> None:
        key = (msg.width, msg.height, msg.binning_x, msg.binning_y, tuple(msg.k))
        if key == self._info_key:
            return
        self._info_key = key
        self._expected = calibrated_size(msg.width, msg.height, msg.binning_x, msg.binning_y)
        intrinsics = pm.intrinsics_from_info(msg)
        self._geometry = None
        if intrinsics is None or self.model is None:
            return
        spec = self.model.spec.input
        p = self.params
        geometry = CameraGeometry(intrinsics.scaled(spec.width, spec.height),
                                  MountPose(*p['camera_xyz'], *p['camera_rpy']))
        try:
            self._geometry = (geometry, column_grid(geometry, self._scan_config))
        except ValueError as e:
            self.get_logger().error(f'camera geometry unusable: {e}')

    def _on_image(self, msg: Image) -> None:
        if not self._active:
            return
        self.health.record_received(self._now_ns())
        if self._pending is not None:
            self.health.record_skipped()
        self._pending = (msg, time.perf_counter())
        self._ready.trigger()

    def _on_ready(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None or not self._active:
            return
        try:
            self._process(*pending)
        except Exception as e:  # noqa: BLE001 - a bad frame must never take the node down
            self._drop('exception', f'{type(e).__name__}: {e}'[:200])
        self._check_level()

    # -- processing -----------------------------------------------------------------------
    def _process(self, msg: Image, received: float) -> None:
        problem = self._problem(msg)
        if problem is not None:
            self._drop(*problem)
            return
        geometry, grid = self._geometry
        rgb = image_array(msg.data, msg.width, msg.height, msg.step, msg.encoding)
        tensor = self._normalise(rgb)
        start = time.perf_counter()
        logits = self.model.run(tensor)
        inference_ms = (time.perf_counter() - start) * 1e3
        spec = self.model.spec
        expected_shape = (1, len(spec.classes), spec.input.height, spec.input.width)
        if logits.shape != expected_shape:
            self._drop('output_shape', f'logits {logits.shape}, expected {expected_shape}')
            return
        seg = segment(logits, spec.floor_index)
        if seg.non_finite == 0:
            scan = virtual_scan(seg.floor_margin, geometry, grid, self._scan_config)
            self._publish(msg.header, seg.mask, scan)
        else:
            self._drop('nan_output', f'{seg.non_finite} logits not finite')
        latency_ms = (time.perf_counter() - received) * 1e3
        self.health.record_inference(Inference(
            self._now_ns(), latency_ms, inference_ms, seg.confidence_mean, seg.floor_fraction,
            seg.non_finite))
        self._inference_pub.publish(pm.inference_msg(msg.header, latency_ms,
                                                     seg.confidence_mean, seg.non_finite))

    def _problem(self, msg: Image) -> tuple[str, str] | None:
        frame = ImageFrame(msg.width, msg.height, msg.step, msg.encoding, len(msg.data))
        problem = check_image(frame, self._expected)
        if problem is None and self._geometry is None:
            problem = ('camera_info', 'CameraInfo has no usable intrinsics')
        if problem is None and from_msg(msg.header.stamp) == 0:
            problem = ('zero_stamp', 'image stamp is zero')
        return problem

    def _publish(self, header: Header, mask: Any, scan: Any) -> None:
        out = Header(stamp=header.stamp, frame_id=self.params['base_frame'])
        self._mask_pub.publish(pm.mask_msg(mask, Header(stamp=header.stamp,
                                                        frame_id=header.frame_id)))
        self._scan_pub.publish(pm.scan_msg(scan, out))
        # Markers are for RViz only and cost ~1 ms per frame to build: only when watched.
        if self._markers_pub.get_subscription_count() > 0:
            self._markers_pub.publish(pm.obstacles_msg(scan.points, out))

    def _drop(self, reason: str, detail: str) -> None:
        first = self.health.drop_count(reason) == 0
        self.health.record_drop(self._now_ns(), reason, detail)
        if first:  # every drop is counted in diagnostics; the first of each kind is also logged
            self.get_logger().warning(f'frame dropped ({reason}): {detail}')

    # -- diagnostics ----------------------------------------------------------------------
    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def status(self) -> DiagnosticStatus:
        """Return the node's DiagnosticStatus now."""
        report = self.health.report(self._now_ns())
        self._level = report.level
        values = [*self._model_values(), *report.values]
        return DiagnosticStatus(
            level=bytes([int(report.level)]), name=STATUS_NAME, message=report.message,
            hardware_id=self.model.path.name if self.model else '',
            values=[KeyValue(key=k, value=v) for k, v in values])

    def _model_values(self) -> list[tuple[str, str]]:
        state = 'active' if self._active else ('inactive' if self.model else 'unconfigured')
        values = [('state', state), ('camera_info', 'ok' if self._geometry else 'missing')]
        if self.model is None:
            return values
        spec = self.model.spec
        return values + [
            ('model_path', str(self.model.path)),
            ('model_version', spec.version),
            ('classes', ','.join(spec.classes)),
            ('input_size', f'{spec.input.width}x{spec.input.height}'),
            ('providers_requested', ','.join(self.model.requested_providers)),
            ('providers_in_use', ','.join(self.model.providers)),
            ('intra_op_threads', str(self.params['intra_op_threads'])),
            ('model_swaps', str(self.swapper.swaps)),
            ('model_swaps_superseded', str(self.swapper.superseded)),
            ('model_swap_error', self.swapper.last_error),
        ]

    def publish_diagnostics(self) -> None:
        """Publish the node's DiagnosticStatus."""
        self._diagnostics.publish(to_array([self.status()], self._now_ns()))

    def _check_level(self) -> None:
        level, _ = self.health.level(self._now_ns())
        if level != self._level:
            self.publish_diagnostics()


def main(args: list[str] | None = None) -> int:
    """Configure and activate perception, then spin until stopped (inactive if it failed)."""
    return spin_lifecycle_node(PerceptionNode, args)


if __name__ == '__main__':
    raise SystemExit(main())

