"""camera_ingest: validate camera images and republish the valid ones."""

from typing import Any

from sensor_msgs.msg import CameraInfo, Image

from robo_edge.ingest.image import ImageFrame, ImageSize, calibrated_size, validate_image
from robo_edge.ingest.verdict import Verdict, payload_digest
from robo_edge.nodes._ingest_base import COMMON_LIVE, IngestNode, StreamSpec, common_params
from robo_edge.ros.params import Param
from robo_edge.ros.qos import SENSOR
from robo_edge.ros.run import spin_node

SPEC = StreamSpec(
    sensor='camera',
    msg_type=Image,
    qos=SENSOR,
    input_topic='/camera/image_raw',
    output_topic='/sensors/camera/image',
    nominal_rate_hz=15.0,
    frozen_repeats=10,
)
EXTRA_PARAMS = [
    Param('info_topic', '/camera/camera_info', 'CameraInfo topic whose size images must match',
          read_only=True),
]
PARAMS = common_params(SPEC) + EXTRA_PARAMS
LIVE = COMMON_LIVE


class CameraIngest(IngestNode[Image]):
    """Validates sensor_msgs/Image (encoding, step, data length, size vs CameraInfo).

    Parameters:
        input_topic (str, /camera/image_raw), info_topic (str, /camera/camera_info),
        output_topic (str, /sensors/camera/image), nominal_rate_hz (float, 15.0),
        window_s (float, 2.0), stale_periods (float, 3.0), rate_warn_fraction (float, 0.5),
        frozen_repeats (int, 10; 0 disables), max_age_s (float, 0.5),
        max_future_s (float, 0.1), diagnostics_period_s (float, 1.0),
        level_check_period_s (float, 0.1). Topics and periods are read-only; the rest
        applies live (_ingest_base.COMMON_LIVE).
    Subscriptions:
        input_topic (sensor_msgs/Image, SENSOR), info_topic (sensor_msgs/CameraInfo, SENSOR).
    Publishers:
        output_topic (sensor_msgs/Image, SENSOR): the valid images, unchanged.
        /diagnostics (diagnostic_msgs/DiagnosticArray, DIAGNOSTICS): status
        robo_edge/ingest/camera, hardware_id the image frame_id.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('camera_ingest', SPEC, EXTRA_PARAMS, **kwargs)
        self._expected: ImageSize | None = None
        self.inputs.append(
            self.create_subscription(CameraInfo, self.params['info_topic'], self._on_info, SENSOR))

    @property
    def expected_size(self) -> ImageSize | None:
        """Return the image size of the latest CameraInfo, or None before one arrived."""
        return self._expected

    def validate(self, msg: Image) -> Verdict:
        """Return the verdict on the layout of one image."""
        frame = ImageFrame(msg.width, msg.height, msg.step, msg.encoding, len(msg.data))
        return validate_image(frame, self._expected)

    def digest(self, msg: Image) -> bytes:
        """Return the digest of the pixel bytes."""
        return payload_digest(msg.data)

    def _on_info(self, msg: CameraInfo) -> None:
        self._expected = calibrated_size(msg.width, msg.height, msg.binning_x, msg.binning_y)


def main(args: list[str] | None = None) -> None:
    """Run camera_ingest until shutdown."""
    raise SystemExit(spin_node(CameraIngest, args))


if __name__ == '__main__':
    main()
