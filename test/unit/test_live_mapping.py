"""The live view's pure core: ROS messages -> Foxglove payloads, and the rate gates."""

import json
import math

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from foxglove_viewer import decode
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, TransformStamped
from hypothesis import given
from hypothesis import strategies as st
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from sensor_msgs.msg import Image, LaserScan

from robo_edge.live import mapping
from robo_edge.live.throttle import RateGate
from robo_edge.robot.frames import planar


def _stamp(msg, sec: int = 12, nanosec: int = 345) -> None:
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec


def test_a_laser_scan_keeps_its_beams_frame_stamp_and_rep117_ranges() -> None:
    scan = LaserScan()
    _stamp(scan)
    scan.header.frame_id = 'laser'
    scan.angle_min, scan.angle_increment = -math.pi, 2 * math.pi / 4
    scan.angle_max = math.pi  # a driver's angle_max may differ: the beams follow the increment
    scan.ranges = [1.0, math.inf, -math.inf, 2.5]
    out = decode(mapping.laser_scan(scan))
    assert out.frame_id == 'laser'
    assert (out.timestamp.seconds, out.timestamp.nanos) == (12, 345)
    assert out.start_angle == -math.pi
    assert math.isclose(out.end_angle, -math.pi + 3 * math.pi / 2)
    assert list(out.ranges) == [1.0, math.inf, -math.inf, 2.5]


def test_an_occupancy_grid_is_an_rgba_grid_laid_from_the_map_origin() -> None:
    grid = OccupancyGrid()
    _stamp(grid)
    grid.header.frame_id = 'map'
    grid.info.width, grid.info.height, grid.info.resolution = 3, 2, 0.1
    grid.info.origin.position.x, grid.info.origin.position.y = -1.0, -2.0
    grid.info.origin.orientation.w = 1.0
    grid.data = [-1, 0, 100, 50, 0, -1]
    out = decode(mapping.occupancy_grid(grid))
    assert (out.column_count, out.row_stride, out.cell_stride) == (3, 12, 4)
    assert (out.cell_size.x, out.cell_size.y) == (0.1, 0.1)
    assert (out.pose.position.x, out.pose.position.y) == (-1.0, -2.0)
    assert [f.name for f in out.fields] == ['red', 'green', 'blue', 'alpha']
    cells = np.frombuffer(out.data, dtype=np.uint8).reshape(6, 4)
    assert tuple(cells[0]) == tuple(cells[5]) == mapping._UNKNOWN_RGBA
    assert cells[1][0] == 255 and cells[2][0] == 0  # free white, occupied black
    assert cells[1][3] < cells[3][3] < cells[2][3]  # the more occupied, the more opaque


def test_an_image_keeps_its_bytes_and_encoding() -> None:
    image = Image()
    _stamp(image)
    image.header.frame_id = 'camera_optical_frame'
    image.width, image.height, image.encoding, image.step = 2, 1, 'rgb8', 6
    image.data = bytes(range(6))
    out = decode(mapping.raw_image(image))
    assert (out.width, out.height, out.encoding, out.step) == (2, 1, 'rgb8', 6)
    assert out.data == bytes(range(6))
    assert out.frame_id == 'camera_optical_frame'


def test_poses_of_localisation_odometry_and_the_plan() -> None:
    pose = PoseWithCovarianceStamped()
    _stamp(pose)
    pose.header.frame_id = 'map'
    pose.pose.pose.position.x, pose.pose.pose.orientation.w = 1.5, 1.0
    out = decode(mapping.pose_in_frame(pose))
    assert out.frame_id == 'map' and out.pose.position.x == 1.5
    odom = Odometry()
    odom.header.frame_id = 'odom'
    odom.pose.pose.position.y = -0.5
    assert decode(mapping.pose_in_frame(odom)).pose.position.y == -0.5
    plan = Path()
    plan.header.frame_id = 'map'
    for x in (0.0, 1.0, 2.0):
        step = PoseStamped()
        step.pose.position.x = x
        plan.poses.append(step)
    out = decode(mapping.path(plan))
    assert out.frame_id == 'map' and [p.position.x for p in out.poses] == [0.0, 1.0, 2.0]


def test_the_moving_frames_come_from_the_correction_and_odometry() -> None:
    correction = TransformStamped()
    _stamp(correction, 3, 0)
    correction.header.frame_id, correction.child_frame_id = 'map', 'odom'
    correction.transform.translation.x = 0.2
    correction.transform.rotation.w = 1.0
    t = mapping.correction_transform(correction)
    assert (t.parent, t.child, t.translation, t.stamp_ns) == ('map', 'odom', (0.2, 0, 0), 3e9)
    odom = Odometry()
    odom.pose.pose.position.x, odom.pose.pose.orientation.w = 4.0, 1.0
    t = mapping.odometry_transform(odom)  # frames left empty by a driver: REP 105's names
    assert (t.parent, t.child, t.translation[0]) == ('odom', 'base_link', 4.0)
    out = decode(mapping.frame_transforms([t, planar('map', 'odom', 1.0, 2.0, math.pi / 2)]))
    assert [(f.parent_frame_id, f.child_frame_id) for f in out.transforms] == [
        ('odom', 'base_link'), ('map', 'odom')]
    assert math.isclose(out.transforms[1].rotation.z, math.sqrt(0.5))


def test_mode_source_and_diagnostics_are_strict_json() -> None:
    assert mapping.mode('DEGRADED: obstacles from perception') == {
        'mode': 'DEGRADED', 'reason': 'obstacles from perception',
        'text': 'DEGRADED: obstacles from perception'}
    assert mapping.obstacle_source('lidar') == {'source': 'lidar'}
    array = DiagnosticArray()
    _stamp(array, 1, 5)
    array.status = [DiagnosticStatus(level=DiagnosticStatus.ERROR, name='robo_edge/breaker/lidar',
                                     message='OPEN: silent',
                                     values=[KeyValue(key='state', value='OPEN')])]
    out = mapping.diagnostics(array)
    assert out['stamp_ns'] == 1_000_000_005
    assert out['statuses'] == [{'name': 'robo_edge/breaker/lidar', 'level': 2,
                                'level_name': 'ERROR', 'message': 'OPEN: silent',
                                'hardware_id': '', 'values': {'state': 'OPEN'}}]
    json.dumps(out, allow_nan=False)


def test_a_gate_admits_one_message_a_period_and_counts_the_rest() -> None:
    gate = RateGate(2.0)  # one per 0.5 s
    arrivals = [0, 100_000_000, 499_000_000, 500_000_000, 700_000_000, 1_000_000_000]
    assert [gate.admit(t) for t in arrivals] == [True, False, False, True, False, True]
    assert (gate.admitted, gate.dropped) == (3, 3)
    assert not gate.ready(1_100_000_000) and gate.dropped == 3  # asking counts nothing


def test_a_gate_at_zero_is_off_and_a_new_rate_applies_at_once() -> None:
    gate = RateGate(0.0)
    assert not any(gate.admit(t * 1_000_000_000) for t in range(5))
    assert gate.dropped == 5
    gate.set_rate(1.0)
    assert gate.admit(6_000_000_000) and not gate.admit(6_500_000_000)


@given(rate=st.floats(0.1, 100.0),
       gaps=st.lists(st.integers(0, 2_000_000_000), min_size=1, max_size=60))
def test_admitted_messages_are_a_period_apart_and_every_message_is_counted(
        rate: float, gaps: list[int]) -> None:
    gate = RateGate(rate)
    times = np.cumsum(gaps).tolist()
    admitted = [t for t in times if gate.admit(t)]
    assert gate.admitted + gate.dropped == len(times)
    assert admitted and admitted[0] == times[0]
    assert all(b - a >= 1e9 / rate for a, b in zip(admitted, admitted[1:], strict=False))
