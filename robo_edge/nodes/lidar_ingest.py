"""lidar_ingest: validate laser scans (REP 117) and republish the valid ones."""

from typing import Any

import numpy as np
from sensor_msgs.msg import LaserScan

from robo_edge.ingest.scan import ScanFrame, validate_scan
from robo_edge.ingest.verdict import Verdict, payload_digest
from robo_edge.nodes._ingest_base import COMMON_LIVE, IngestNode, StreamSpec, common_params
from robo_edge.ros.params import Param
from robo_edge.ros.qos import SENSOR
from robo_edge.ros.run import spin_node

SPEC = StreamSpec(
    sensor='lidar',
    msg_type=LaserScan,
    qos=SENSOR,
    input_topic='/scan',
    output_topic='/sensors/scan',
    nominal_rate_hz=10.0,
    frozen_repeats=10,
)
EXTRA_PARAMS = [
    Param('nan_fraction_max', 0.5, 'Drop a scan whose share of NaN beams exceeds this', 0.0, 1.0),
]
EXTRA_LIVE = frozenset({'nan_fraction_max'})  # read for every scan
PARAMS = common_params(SPEC) + EXTRA_PARAMS
LIVE = COMMON_LIVE | EXTRA_LIVE


class LidarIngest(IngestNode[LaserScan]):
    """Validates sensor_msgs/LaserScan: geometry, beam count, intensities, NaN share.

    Parameters:
        input_topic (str, /scan), output_topic (str, /sensors/scan),
        nominal_rate_hz (float, 10.0), nan_fraction_max (float, 0.5), window_s (float, 2.0),
        stale_periods (float, 3.0), rate_warn_fraction (float, 0.5),
        frozen_repeats (int, 10; 0 disables), max_age_s (float, 0.5),
        max_future_s (float, 0.1), diagnostics_period_s (float, 1.0),
        level_check_period_s (float, 0.1). Topics and periods are read-only; the rest
        applies live (_ingest_base.COMMON_LIVE, nan_fraction_max).
    Subscriptions:
        input_topic (sensor_msgs/LaserScan, SENSOR).
    Publishers:
        output_topic (sensor_msgs/LaserScan, SENSOR): the valid scans, unchanged.
        /diagnostics (diagnostic_msgs/DiagnosticArray, DIAGNOSTICS): status
        robo_edge/ingest/lidar, hardware_id the scan frame_id; nan_readings counts the NaN
        beams of the scans that passed.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('lidar_ingest', SPEC, EXTRA_PARAMS, EXTRA_LIVE, **kwargs)

    def validate(self, msg: LaserScan) -> Verdict:
        """Return the verdict on one scan."""
        frame = ScanFrame(
            angle_min=msg.angle_min,
            angle_max=msg.angle_max,
            angle_increment=msg.angle_increment,
            range_min=msg.range_min,
            range_max=msg.range_max,
            ranges=np.asarray(msg.ranges, dtype=np.float32),
            intensities_len=len(msg.intensities),
        )
        return validate_scan(frame, self.params['nan_fraction_max'])

    def digest(self, msg: LaserScan) -> bytes:
        """Return the digest of the range readings."""
        return payload_digest(np.asarray(msg.ranges, dtype=np.float32))


def main(args: list[str] | None = None) -> None:
    """Run lidar_ingest until shutdown."""
    raise SystemExit(spin_node(LidarIngest, args))


if __name__ == '__main__':
    main()
