"""Node tests: the ingest nodes' live parameters judge the next message, or are refused.

The harness of test_ingest_nodes: an ingest node and a probe in one Context; each test sets a
parameter on the running node and watches what it republishes and drops.
"""

from rclpy.duration import Duration
from rclpy.parameter import Parameter
from sensor_msgs.msg import Imu, LaserScan
from test_ingest_nodes import (
    VALID_RANGES,
    ImuIngest,
    LidarIngest,
    imu_msg,
    make_harness,
    scan_msg,
)

from robo_edge.ros.diagnostics import status_values
from robo_edge.ros.qos import SENSOR_BURST

SECOND = Duration(seconds=1)


def test_a_lowered_max_age_drops_scans_it_passed_before(context) -> None:
    h = make_harness(context, LidarIngest, LaserScan, '/sensors/scan', frozen_repeats=0)
    try:
        pub = h.publisher(LaserScan, '/scan')
        h.connect(pub)

        def second_old() -> LaserScan:  # stamped 1 s before the node's clock
            return scan_msg(h, VALID_RANGES, (h.now() - SECOND).to_msg())

        assert h.publish_until(pub, second_old, lambda: len(h.outputs) > 0), 'max_age_s 5 s'
        # Out of range: refused with it, and the 5 s still hold.
        refused = h.ingest.set_parameters([Parameter('max_age_s', value=0.0)])[0]
        assert not refused.successful and 'max_age_s' in refused.reason
        passed = len(h.outputs)
        assert h.publish_until(pub, second_old, lambda: len(h.outputs) > passed)
        moved = h.ingest.set_parameters([Parameter('output_topic', value='/elsewhere')])[0]
        assert not moved.successful and 'read-only' in moved.reason
        assert h.ingest.set_parameters([Parameter('max_age_s', value=0.5)])[0].successful
        assert h.publish_until(pub, second_old, lambda: h.drop_reported('too_old'))
    finally:
        h.close()


def test_a_widened_gravity_band_passes_samples_it_dropped_before(context) -> None:
    h = make_harness(context, ImuIngest, Imu, '/sensors/imu')
    try:
        pub = h.publisher(Imu, '/imu/data', SENSOR_BURST)
        h.connect(pub)

        def light(z: float):
            def make() -> Imu:
                msg = imu_msg(h)
                msg.linear_acceleration.z = z
                return msg
            return make

        assert h.publish_until(pub, light(6.5), lambda: h.drop_reported('gravity'))
        # An empty band is refused as a whole; the 7.0-12.5 band stays.
        empty = h.ingest.set_parameters([Parameter('gravity_min_mps2', value=13.0)])[0]
        assert not empty.successful and 'gravity_min_mps2' in empty.reason
        assert 'below gravity_max' in empty.reason
        assert h.ingest.get_parameter('gravity_min_mps2').value == 7.0
        drops = int(status_values(h.latest_status())['drops_gravity'])
        assert h.publish_until(pub, light(6.5), lambda: h.reported(
            'drops_gravity', lambda v: int(v) > drops))
        assert not h.outputs
        assert h.ingest.set_parameters([Parameter('gravity_min_mps2', value=6.0)])[0].successful
        assert h.publish_until(pub, light(6.5), lambda: len(h.outputs) > 0)
        assert h.outputs[-1].linear_acceleration.z == 6.5
    finally:
        h.close()
