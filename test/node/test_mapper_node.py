"""Node tests: the mapper publishes one /map per scan, stamped like it.

The nodes key on message stamps, so the probe publishes synthetic /odom, /safety/scan and its
/safety/scan_source with explicit simulated stamps (use_sim_time stays false). Everything runs
in one fresh rclpy Context with a SingleThreadedExecutor; every wait spins it until a condition
holds or a wall deadline passes.
"""


import math
import time

import numpy as np
import pytest
from geometry_msgs.msg import TransformStamped
from nav_harness import (
    MS,
    Harness,
    cell,
    overrides,
    wall_at,
    wall_scan,
)
from rclpy.parameter import Parameter
from sensor_msgs.msg import LaserScan

from robo_edge.nodes.mapper import MapperNode
from robo_edge.planning.map_server import save_map
from robo_edge.robot.grid import Grid
from robo_edge.ros.diagnostics import status_level, status_values
from robo_edge.ros.nav_messages import (
    correction_from_msg,
    grid_from_msg,
    stamp_of,
)
from robo_edge.ros.stamps import from_msg

# Mapper


def test_mapper_publishes_a_map_per_scan_stamped_like_it(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        initial_pose=[1.0, -0.5, 0.0], input_wait_s=2.0, diagnostics_period_s=0.1))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map', '/diagnostics'))
        for stamp in (100 * MS, 200 * MS, 300 * MS):
            h.send_odom(stamp, 0.0)
            h.send_scan(wall_scan(stamp))
            assert h.spin_until(lambda s=stamp: h.map_stamped(s)), f'no map at {stamp}'
        # A scan before its odometry waits for it, and is not late.
        h.send_scan(wall_scan(400 * MS))
        assert h.spin_until(lambda: mapper.join.pending == 1)
        h.send_odom(400 * MS, 0.0)
        assert h.spin_until(lambda: h.map_stamped(400 * MS))
        assert [from_msg(m.header.stamp) for m in h.maps] == [100 * MS, 200 * MS, 300 * MS,
                                                              400 * MS]
        grid = grid_from_msg(h.maps[-1])
        assert h.maps[-1].header.frame_id == 'map'
        assert (grid.origin_x, grid.origin_y) == pytest.approx((1.0 - 20.0, -0.5 - 20.0))
        # The robot stands at the initial pose (1, -0.5); the wall is 2 m ahead, at x = 3.
        assert all(wall_at(grid, 3.0, -0.5 + dy) for dy in np.linspace(-0.9, 0.9, 10))
        assert all(0 <= cell(grid, 1.0 + dx, -0.5) <= 35 for dx in np.linspace(0.2, 1.8, 9))
        assert cell(grid, 3.5, -0.5) == -1, 'behind the wall stays unknown'
        assert h.spin_until(lambda: h.status('robo_edge/mapper', 'updates', lambda v: v == '4'))
        values = status_values(h.statuses['robo_edge/mapper'][-1])
        assert values['late_inputs'] == '0' and float(values['update_ms_p99']) > 0
    finally:
        h.close()


def test_mapper_releases_a_scan_whose_odometry_never_comes(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        input_wait_s=0.3, diagnostics_period_s=0.1))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        h.send_odom(100 * MS, 0.0)
        h.send_odom(120 * MS, 0.5)
        h.send_scan(wall_scan(140 * MS))
        sent = time.monotonic()
        assert h.spin_until(lambda: h.map_stamped(140 * MS))
        assert time.monotonic() - sent >= 0.3, 'released before its wait was over'
        assert mapper.counts['late_inputs'] == 1
        # It went with the newest odometry before it: the robot at x = 0.5, wall at x = 2.5.
        assert wall_at(grid_from_msg(h.maps[-1]), 2.5, 0.0)
        assert h.spin_until(
            lambda: h.status('robo_edge/mapper', 'late_inputs', lambda v: v == '1'))
        assert status_level(h.statuses['robo_edge/mapper'][-1]) == 1
    finally:
        h.close()


def test_mapper_reports_a_malformed_static_map_and_keeps_mapping(context, tmp_path) -> None:
    bad = tmp_path / 'bad.yaml'
    bad.write_text('image: missing.pgm\nresolution: -1\n')
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        static_map=str(bad), diagnostics_period_s=0.1))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        assert h.spin_until(lambda: h.status(
            'robo_edge/mapper', 'static_map_error', lambda v: 'resolution' in v))
        status = h.statuses['robo_edge/mapper'][-1]
        assert status_level(status) == 2 and str(bad) in status.message
        h.send_odom(100 * MS, 0.0)
        h.send_scan(wall_scan(100 * MS))
        assert h.spin_until(lambda: h.map_stamped(100 * MS))
        before = mapper.grid().data.copy()
        result = mapper.set_parameters([Parameter('static_map', value=str(bad))])[0]
        assert not result.successful and 'resolution' in result.reason
        np.testing.assert_array_equal(mapper.grid().data, before)  # the map is kept
    finally:
        h.close()


def test_mapper_seeds_the_grid_from_a_static_map(context, tmp_path) -> None:
    data = np.zeros((40, 40), dtype=np.int8)
    data[:, 30] = 100  # a wall at x in [1.0, 1.05) of a 0.05 m map from (-0.5, -1.0)
    save_map(Grid(0.05, 40, 40, data, -0.5, -1.0), tmp_path / 'static.yaml')
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        static_map=str(tmp_path / 'static.yaml'), size_m=10.0))
    try:
        grid = mapper.grid()
        assert cell(grid, 1.02, 0.0) >= 65 and 0 <= cell(grid, 0.5, 0.0) <= 35
        assert cell(grid, -3.0, 0.0) == -1 and mapper.static_map_error == ''
    finally:
        mapper.destroy_node()


def test_mapper_starts_on_the_static_maps_cells(context, tmp_path) -> None:
    """A static map a fraction of a cell off the centred grid: moved onto it, not resampled."""
    data = np.zeros((40, 40), dtype=np.int8)
    data[:, 13] = 100  # one column of cells: x in [-0.333, -0.233) from the origin -1.633
    save_map(Grid(0.1, 40, 40, data, -1.633, -2.047), tmp_path / 'static.yaml')
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        static_map=str(tmp_path / 'static.yaml'), size_m=10.0, resolution=0.1))
    try:
        grid = mapper.grid()
        col_offset = (grid.origin_x + 1.633) / 0.1
        row_offset = (grid.origin_y + 2.047) / 0.1
        assert abs(col_offset - round(col_offset)) < 1e-6
        assert abs(row_offset - round(row_offset)) < 1e-6
        assert abs(grid.origin_x + 5.0) <= 0.05 + 1e-9, 'still centred on the start'
        wall = np.flatnonzero((grid.data >= 65).any(axis=0))
        assert wall.size == 1, 'one column wide, as in the file'
        assert grid.cell_to_world(int(wall[0]), 0)[0] == pytest.approx(-0.283)
    finally:
        mapper.destroy_node()


def room_scan(stamp_ns: int, x: float, y: float) -> LaserScan:
    """A 360-beam scan from (x, y), yaw 0, in a 6 m x 4 m room from (-3, -2) with a 1 m box."""
    msg = wall_scan(stamp_ns)
    angles = msg.angle_min + msg.angle_increment * np.arange(360)
    segments = [(-3, -2, 3, -2), (3, -2, 3, 2), (3, 2, -3, 2), (-3, 2, -3, -2),
                (1, 0.5, 2, 0.5), (2, 0.5, 2, 1.5), (2, 1.5, 1, 1.5), (1, 1.5, 1, 0.5)]
    dx, dy = np.cos(angles), np.sin(angles)
    best = np.full(360, np.inf)
    for x0, y0, x1, y1 in segments:
        ex, ey = x1 - x0, y1 - y0
        with np.errstate(divide='ignore', invalid='ignore'):
            den = dx * ey - dy * ex
            t = ((x0 - x) * ey - (y0 - y) * ex) / den
            u = ((x0 - x) * dy - (y0 - y) * dx) / den
        hit = (np.abs(den) > 1e-12) & (t > 0) & (u >= 0) & (u <= 1)
        best = np.where(hit & (t < best), t, best)
    msg.ranges = best.astype(np.float32).tolist()
    return msg


def correction_at(h: Harness, stamp_ns: int) -> TransformStamped | None:
    found = [c for c in h.corrections if from_msg(c.header.stamp) == stamp_ns]
    return found[-1] if found else None


def test_mapper_corrects_drifting_odometry_and_publishes_it_before_the_map(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        initial_pose=[-1.0, -0.5, 0.0], input_wait_s=2.0, diagnostics_period_s=0.1))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map', '/localization/map_to_odom'))
        # The robot stands still at (-1, -0.5) in the room; its odometry creeps 2 cm a scan (a
        # slipping wheel). Each innovation is within its sigma, all the same way: the localiser
        # sees the bias after a few scans and then follows the matches.
        stamps = [k * 100 * MS for k in range(1, 13)]
        for k, stamp in enumerate(stamps):
            h.send_odom(stamp, 0.02 * k)
            h.send_scan(room_scan(stamp, -1.0, -0.5))
            assert h.spin_until(lambda s=stamp: h.map_stamped(s)), f'no map at {stamp}'
        assert h.spin_until(lambda: len(h.poses) == len(stamps))
        # One correction per map, stamped like it (the order two readers see is DDS's).
        assert h.spin_until(lambda: all(correction_at(h, s) is not None for s in stamps))
        last = correction_from_msg(correction_at(h, stamps[-1]))
        # odom x = 0.22 with the base still at -1.0: odom sits at -1.22 in map.
        assert (last.x, last.y, last.yaw) == pytest.approx((-1.22, -0.5, 0.0), abs=0.02)
        pose = h.poses[-1].pose.pose
        assert (pose.position.x, pose.position.y) == pytest.approx((-1.0, -0.5), abs=0.02)
        assert h.poses[-1].pose.covariance[0] < 1e-3
        assert mapper.counts['matched'] >= len(stamps) - 1
        assert h.spin_until(lambda: h.status(
            'robo_edge/mapper', 'matched', lambda v: v == str(mapper.counts['matched'])))
        values = status_values(h.statuses['robo_edge/mapper'][-1])
        assert float(values['match_ms_p99']) > 0 and values['localization'] == 'true'
    finally:
        h.close()


def test_mapper_without_localization_keeps_the_initial_pose(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        initial_pose=[-1.0, -0.5, 0.0], input_wait_s=2.0, localization=False))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map', '/localization/map_to_odom'))
        for k in range(1, 5):
            h.send_odom(k * 100 * MS, 0.02 * k)
            h.send_scan(room_scan(k * 100 * MS, -1.0, -0.5))
            assert h.spin_until(lambda s=k * 100 * MS: correction_at(h, s) is not None)
        assert {(c.transform.translation.x, c.transform.translation.y)
                for c in h.corrections} == {(-1.0, -0.5)}
        assert mapper.counts['matched'] == 0 and mapper.last_match is None
    finally:
        h.close()


def test_mapper_holds_the_correction_for_a_scan_not_from_the_lidar(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(
        input_wait_s=2.0, transient_range_m=4.0))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        h.send_odom(100 * MS, 0.0)
        h.send_scan(room_scan(100 * MS, 0.0, 0.0))
        assert h.spin_until(lambda: h.map_stamped(100 * MS))
        before = grid_from_msg(h.maps[-1]).data.copy()
        # The camera's fallback, in the LiDAR's layout and frame: only its source tells.
        h.send_odom(200 * MS, 0.1)  # odometry says 0.1 m, the scan says 0: not matched
        h.send_scan(room_scan(200 * MS, 0.5, 0.3), origin='perception')
        assert h.spin_until(lambda: correction_at(h, 200 * MS) is not None)
        held = correction_from_msg(correction_at(h, 200 * MS))
        assert (held.x, held.y, held.yaw) == (0.0, 0.0, 0.0)
        assert mapper.counts['held_fallback'] == 1 and mapper.counts['updates'] == 1
        assert h.spin_until(lambda: h.map_stamped(200 * MS))
        assert np.array_equal(mapper.grid().data, before), 'the map was written'
        assert np.array_equal(grid_from_msg(h.maps[-1]).data, before), '/map holds LiDAR only'
        # What the camera saw lies over the planner's copy for a while, as obstacles only
        # (mapping/transient.py): the planner goes around it, the map never keeps it.
        assert h.spin_until(lambda: any(stamp_of(m) == 200 * MS for m in h.nav_maps))
        published = grid_from_msg(h.nav_maps[-1]).data
        laid = published != before
        assert laid.sum() > 50 and np.all(published[laid] == 100)
        assert h.spin_until(lambda: len(h.poses) == 2)
        variances = {from_msg(p.header.stamp): p.pose.covariance[0] for p in h.poses}
        assert variances[200 * MS] > variances[100 * MS], 'dead reckoning grows uncertainty'
        assert math.isfinite(variances[200 * MS])
        # The LiDAR backs the next scan: the camera's layer is gone from /map at once.
        h.send_odom(300 * MS, 0.0)
        h.send_scan(room_scan(300 * MS, 0.0, 0.0))
        assert h.spin_until(lambda: h.map_stamped(300 * MS))
        assert not mapper.transient and mapper.counts['updates'] == 2
        assert h.spin_until(lambda: any(stamp_of(m) == 300 * MS for m in h.nav_maps))
        assert np.array_equal(grid_from_msg(h.nav_maps[-1]).data, mapper.grid().data)
    finally:
        h.close()


def test_mapper_treats_a_scan_without_source_as_untrusted(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(input_wait_s=0.3))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        h.send_odom(100 * MS, 0.0)
        h.scan.publish(room_scan(100 * MS, 0.0, 0.0))  # no /safety/scan_source for it
        assert h.spin_until(lambda: h.map_stamped(100 * MS))
        assert mapper.counts['held_no_source'] == 1 and mapper.counts['updates'] == 0
        assert int(np.count_nonzero(grid_from_msg(h.maps[-1]).data >= 0)) == 0
    finally:
        h.close()


def test_mapper_leaves_out_the_beams_the_camera_set(context) -> None:
    mapper = MapperNode(context=context, parameter_overrides=overrides(localization=False))
    h = Harness(context, mapper)
    try:
        h.connect(h.odom, h.scan, h.source, topics=('/map',))
        h.send_odom(100 * MS, 0.0)
        scan = wall_scan(100 * MS, distance=2.0, half_width=1.0)
        fused = np.zeros(360, dtype=bool)
        fused[175:186] = True  # the camera's near returns straight ahead
        ranges = np.array(scan.ranges)
        ranges[fused] = 0.8
        scan.ranges = ranges.astype(np.float32).tolist()
        h.send_scan(scan, origin='lidar+perception', fused=fused)
        assert h.spin_until(lambda: h.map_stamped(100 * MS))
        grid = grid_from_msg(h.maps[-1])
        assert cell(grid, 0.8, 0.0) < 65, 'a camera return entered the map'
        assert wall_at(grid, 2.0, 0.6), 'the LiDAR beams beside it were mapped'
        assert mapper.counts['camera_beams_left_out'] == 11
    finally:
        h.close()
