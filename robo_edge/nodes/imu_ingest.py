"""imu_ingest: validate IMU samples and republish the valid ones."""

from typing import Any

import numpy as np
from sensor_msgs.msg import Imu

from robo_edge.exceptions import ConfigError
from robo_edge.ingest.imu import ImuFrame, ImuLimits, imu_values, validate_imu
from robo_edge.ingest.verdict import Verdict, payload_digest
from robo_edge.nodes._ingest_base import COMMON_LIVE, IngestNode, StreamSpec, common_params
from robo_edge.ros.params import Param
from robo_edge.ros.qos import SENSOR_BURST
from robo_edge.ros.run import spin_node

SPEC = StreamSpec(
    sensor='imu',
    msg_type=Imu,
    qos=SENSOR_BURST,
    input_topic='/imu/data',
    output_topic='/sensors/imu',
    nominal_rate_hz=100.0,
    frozen_repeats=50,
)
EXTRA_PARAMS = [
    Param('gravity_min_mps2', 7.0, 'Lowest plausible |linear_acceleration|', 0.0, 100.0),
    Param('gravity_max_mps2', 12.5, 'Highest plausible |linear_acceleration|', 0.0, 100.0),
    Param('quaternion_tolerance', 0.01, 'Allowed |norm - 1| of the orientation', 0.0, 1.0),
]
EXTRA_LIVE = frozenset({'gravity_min_mps2', 'gravity_max_mps2', 'quaternion_tolerance'})
PARAMS = common_params(SPEC) + EXTRA_PARAMS
LIVE = COMMON_LIVE | EXTRA_LIVE


def imu_limits(values: dict[str, Any]) -> ImuLimits:
    """Return the IMU limits of the parameters; ValueError for an empty gravity band."""
    return ImuLimits(gravity_min=float(values['gravity_min_mps2']),
                     gravity_max=float(values['gravity_max_mps2']),
                     quaternion_tolerance=float(values['quaternion_tolerance']))


class ImuIngest(IngestNode[Imu]):
    """Validates sensor_msgs/Imu: finite values, unit quaternion, plausible gravity.

    Parameters:
        input_topic (str, /imu/data), output_topic (str, /sensors/imu),
        nominal_rate_hz (float, 100.0), gravity_min_mps2 (float, 7.0),
        gravity_max_mps2 (float, 12.5), quaternion_tolerance (float, 0.01),
        window_s (float, 2.0), stale_periods (float, 3.0), rate_warn_fraction (float, 0.5),
        frozen_repeats (int, 50; 0 disables), max_age_s (float, 0.5),
        max_future_s (float, 0.1), diagnostics_period_s (float, 1.0),
        level_check_period_s (float, 0.1). Topics and periods are read-only; the rest
        applies live (_ingest_base.COMMON_LIVE, the gravity band, quaternion_tolerance).
    Subscriptions:
        input_topic (sensor_msgs/Imu, SENSOR_BURST).
    Publishers:
        output_topic (sensor_msgs/Imu, SENSOR_BURST): the valid samples, unchanged.
        /diagnostics (diagnostic_msgs/DiagnosticArray, DIAGNOSTICS): status
        robo_edge/ingest/imu, hardware_id the sample frame_id.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('imu_ingest', SPEC, EXTRA_PARAMS, EXTRA_LIVE, **kwargs)
        try:
            self._limits = imu_limits(self.params)
        except ValueError as e:
            self.destroy_node()  # release the DDS entities before failing the start
            raise ConfigError('imu_ingest parameters', 'gravity_min_mps2',
                              f'less than gravity_max_mps2 ({self.params["gravity_max_mps2"]})',
                              self.params['gravity_min_mps2']) from e

    def _retune(self, values: dict[str, Any], changed: dict[str, Any]) -> None:
        limits = imu_limits(values)  # first: a refused band leaves everything as it was
        super()._retune(values, changed)
        self._limits = limits

    def validate(self, msg: Imu) -> Verdict:
        """Return the verdict on one sample."""
        return validate_imu(_frame(msg), self._limits)

    def digest(self, msg: Imu) -> bytes:
        """Return the digest of the orientation, angular velocity and acceleration values."""
        return payload_digest(imu_values(_frame(msg)))


def _frame(msg: Imu) -> ImuFrame:
    q, w, a = msg.orientation, msg.angular_velocity, msg.linear_acceleration
    return ImuFrame(
        orientation=np.array((q.x, q.y, q.z, q.w)),
        orientation_covariance=np.asarray(msg.orientation_covariance),
        angular_velocity=np.array((w.x, w.y, w.z)),
        angular_velocity_covariance=np.asarray(msg.angular_velocity_covariance),
        linear_acceleration=np.array((a.x, a.y, a.z)),
        linear_acceleration_covariance=np.asarray(msg.linear_acceleration_covariance),
    )


def main(args: list[str] | None = None) -> None:
    """Run imu_ingest until shutdown."""
    raise SystemExit(spin_node(ImuIngest, args))


if __name__ == '__main__':
    main()
