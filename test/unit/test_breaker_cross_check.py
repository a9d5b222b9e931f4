"""Cross-checks: LiDAR vs the perception virtual scan, IMU vs odometry yaw rate."""

import math

import numpy as np
from breaker_streams import MS, T0, S
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.breakers.arbiter import Decision, Votes
from robo_edge.breakers.cross_check import (
    BeamScan,
    ScanCheckConfig,
    ScanComparison,
    ScanCrossCheck,
    ScanVerdict,
    bin_scan,
    compare_scans,
)
from robo_edge.breakers.faults import BreakerState, Source, TripReason
from robo_edge.breakers.guard import BreakerGuard, GuardConfig
from robo_edge.breakers.mode import Mode
from robo_edge.breakers.votes import VoteConfig, map_vote
from robo_edge.breakers.yaw_check import YawCheckConfig, YawRateCrossCheck
from robo_edge.robot.grid import Grid
from robo_edge.robot.kinematics import Pose2D

CONFIG = ScanCheckConfig()
HALF_X, HALF_Y = 2.5, 2.0  # a walled room around the robot
CYLINDER = (1.5, 0.3, 0.3)  # x, y, radius


def ray_range(ox, oy, angle):
    """Distance from (ox, oy) along `angle` to the room's walls or the cylinder."""
    c, s = math.cos(angle), math.sin(angle)
    hits = [(w - ox) / c for w in (-HALF_X, HALF_X) if abs(c) > 1e-12]
    hits += [(w - oy) / s for w in (-HALF_Y, HALF_Y) if abs(s) > 1e-12]
    best = min(h for h in hits if h > 0)
    cx, cy, r = CYLINDER
    dx, dy = ox - cx, oy - cy
    b = dx * c + dy * s
    disc = b * b - (dx * dx + dy * dy - r * r)
    if disc >= 0 and -b - math.sqrt(disc) > 0:
        best = min(best, -b - math.sqrt(disc))
    return best


def scan(pose, mount, angle_min, increment, beams, range_max, rng=None, noise=0.0,
         outliers=0.0):
    """A scan of the room from a sensor at `mount` on a robot at `pose` (world)."""
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    ox, oy = pose.x + c * mount.x - s * mount.y, pose.y + s * mount.x + c * mount.y
    angles = angle_min + increment * np.arange(beams)
    ranges = np.array([ray_range(ox, oy, pose.yaw + mount.yaw + a) for a in angles])
    if rng is not None:
        ranges = ranges + rng.normal(0.0, noise, beams)
        wild = rng.random(beams) < outliers
        ranges[wild] = rng.choice([0.5, 4.0, math.inf], int(wild.sum()))
    ranges[(ranges > range_max) & np.isfinite(ranges)] = math.inf
    return BeamScan(angle_min, increment, ranges, 0.05, range_max, mount)


ORIGIN = Pose2D(0.0, 0.0, 0.0)
CAMERA = Pose2D(0.15, 0.0, 0.0)


def lidar_scan(pose=ORIGIN, rng=None, noise=0.0):
    return scan(pose, ORIGIN, -math.pi, 2 * math.pi / 360, 360, 8.0, rng, noise)


def virtual_scan(pose=ORIGIN, rng=None, noise=0.0, outliers=0.0):
    fov = math.radians(60)
    return scan(pose, CAMERA, -fov / 2, fov / 63, 64, 5.0, rng, noise, outliers)


def with_ranges(beam_scan, ranges):
    return BeamScan(beam_scan.angle_min, beam_scan.angle_increment, ranges,
                    beam_scan.range_min, beam_scan.range_max, beam_scan.mount)


# -- one comparison --------------------------------------------------------------------------
def test_binning_keeps_the_nearest_return_about_base_link_and_ignores_nan():
    ranges = np.array([2.0, 1.0, math.nan, math.inf, -math.inf])
    near, looked = bin_scan(BeamScan(0.0, 0.001, ranges, 0.1, 5.0, Pose2D(1.0, 0.0, 0.0)),
                            math.radians(2.0))
    assert looked.sum() == 1
    # -inf is kept at range_min, and the sensor sits 1 m in front of base_link
    assert math.isclose(near[looked][0], 1.1, abs_tol=1e-5)


@given(x=st.floats(-1.0, 1.0), y=st.floats(-0.8, 0.8), yaw=st.floats(-math.pi, math.pi),
       noise=st.floats(0.0, 0.15), outliers=st.floats(0.0, 0.1), seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_normal_disagreement_is_tolerated(x, y, yaw, noise, outliers, seed):
    rng = np.random.default_rng(seed)
    pose = Pose2D(x, y, yaw)
    comparison = compare_scans(lidar_scan(pose, rng, 0.02),
                               virtual_scan(pose, rng, noise, outliers), CONFIG)
    assert comparison.verdict in (ScanVerdict.AGREE, ScanVerdict.INCONCLUSIVE), (
        comparison.detail())


def test_a_lidar_reporting_all_inf_is_the_suspect():
    lying = with_ranges(lidar_scan(), np.full(360, math.inf))
    comparison = compare_scans(lying, virtual_scan(), CONFIG)
    assert comparison.verdict is ScanVerdict.LIDAR_SUSPECT
    assert comparison.lidar_miss_fraction == 1.0
    # the camera's 60 degrees in 2 degree bins, less one bin at each edge of its view
    assert 28 <= comparison.overlap_bins <= 30


def test_a_constant_offset_blames_the_scan_that_sees_things_farther():
    truth = lidar_scan()
    farther = compare_scans(with_ranges(truth, truth.ranges + 0.5), virtual_scan(), CONFIG)
    assert farther.verdict is ScanVerdict.LIDAR_SUSPECT
    assert math.isclose(farther.median_diff, 0.5, abs_tol=0.05)
    nearer = compare_scans(with_ranges(truth, truth.ranges - 0.5), virtual_scan(), CONFIG)
    assert nearer.verdict is ScanVerdict.VIRTUAL_SUSPECT


def test_a_virtual_scan_missing_what_the_lidar_sees_is_the_suspect():
    blind = with_ranges(virtual_scan(), np.full(64, math.inf))
    assert compare_scans(lidar_scan(), blind, CONFIG).verdict is ScanVerdict.VIRTUAL_SUSPECT


def test_a_band_of_the_view_painted_as_floor_blames_the_camera_not_a_lidar_gap():
    # A quarter of the camera's beams (a central band) see no obstacle: the `missed` lie.
    painted = virtual_scan().ranges.copy()
    painted[24:40] = math.inf
    camera_lies = compare_scans(lidar_scan(), with_ranges(virtual_scan(), painted), CONFIG)
    assert camera_lies.verdict is ScanVerdict.VIRTUAL_SUSPECT, camera_lies.detail()
    assert CONFIG.max_virtual_miss_fraction < camera_lies.virtual_miss_fraction < 0.5
    # The LiDAR missing the same band is within what its coverage explains (between beams,
    # below its plane): no suspect on that share alone.
    gap = lidar_scan().ranges.copy()
    gap[(np.arange(360) >= 174) & (np.arange(360) < 184)] = math.inf
    lidar_gap = compare_scans(with_ranges(lidar_scan(), gap), virtual_scan(), CONFIG)
    assert lidar_gap.verdict is ScanVerdict.AGREE, lidar_gap.detail()
    assert (CONFIG.max_virtual_miss_fraction < lidar_gap.lidar_miss_fraction
            <= CONFIG.max_miss_fraction), lidar_gap.detail()


def test_without_overlap_or_obstacles_the_comparison_is_inconclusive():
    behind = scan(ORIGIN, Pose2D(0.0, 0.0, math.pi), -0.5, 0.02, 50, 5.0)
    front_only = scan(ORIGIN, ORIGIN, -0.5, 0.02, 50, 8.0)
    assert compare_scans(front_only, behind, CONFIG).verdict is ScanVerdict.INCONCLUSIVE
    open_space = with_ranges(lidar_scan(), np.full(360, math.inf))
    empty_view = with_ranges(virtual_scan(), np.full(64, math.inf))
    assert compare_scans(open_space, empty_view, CONFIG).verdict is ScanVerdict.INCONCLUSIVE


# -- persistence -----------------------------------------------------------------------------
def verdict(v):
    comparison = ScanComparison(v, 30, 30, 0.0, 0.0, 0.0, 0.0)
    return Decision(v, 'map', comparison, Votes())


def test_blame_needs_consecutive_failures_and_agreement_clears_them():
    check = ScanCrossCheck(CONFIG)
    lidar_bad = verdict(ScanVerdict.LIDAR_SUSPECT)
    for k in range(4):
        assert check.observe(T0 + k * 100 * MS, lidar_bad) is None
    check.observe(T0 + 400 * MS, verdict(ScanVerdict.AGREE))
    for k in range(5, 9):
        assert check.observe(T0 + k * 100 * MS, lidar_bad) is None
    check.observe(T0 + 900 * MS, verdict(ScanVerdict.INCONCLUSIVE))  # neither clears nor counts
    source, fault = check.observe(T0 + S, lidar_bad)
    assert source is Source.LIDAR
    assert fault.reason is TripReason.CROSS_CHECK
    assert fault.detail.startswith('5 scan comparisons failed')
    assert 'decided by map' in fault.detail


def test_old_failures_expire_and_a_switch_of_suspect_starts_over():
    check = ScanCrossCheck(CONFIG)
    for k in range(4):
        check.observe(T0 + k * 100 * MS, verdict(ScanVerdict.VIRTUAL_SUSPECT))
    assert check.observe(T0 + 2 * S, verdict(ScanVerdict.VIRTUAL_SUSPECT)) is None
    for k in range(3):
        check.observe(T0 + 2 * S + k * 100 * MS, verdict(ScanVerdict.VIRTUAL_SUSPECT))
    assert check.observe(T0 + 2400 * MS, verdict(ScanVerdict.LIDAR_SUSPECT)) is None
    blame = check.observe(T0 + 2500 * MS, verdict(ScanVerdict.VIRTUAL_SUSPECT))
    assert blame is None


def test_a_phantom_in_front_of_a_wall_is_a_lidar_miss_for_the_votes_to_judge():
    painted = virtual_scan().ranges.copy()
    painted[8:34] = 1.0  # a box 1 m ahead, right of the post; the wall is 2.5 m behind it
    comparison = compare_scans(lidar_scan(), with_ranges(virtual_scan(), painted), CONFIG)
    assert comparison.verdict is ScanVerdict.LIDAR_SUSPECT, comparison.detail()
    assert comparison.lidar_miss_fraction > CONFIG.max_miss_fraction


def phantom_decision():
    sees_more = ScanComparison(ScanVerdict.LIDAR_SUSPECT, 30, 30, 2.5, 2.5, 0.6, 0.0)
    return Decision(ScanVerdict.VIRTUAL_SUSPECT, 'odometry', sees_more, Votes())


def test_a_camera_seeing_what_moves_with_it_is_blamed_on_a_count_within_a_window():
    check, needed = ScanCrossCheck(CONFIG), CONFIG.phantom_fail_count
    t = T0
    for k in range(needed - 1):  # agreement in between (the phantom hid) does not restart it
        assert check.observe(t, phantom_decision()) is None, k
        assert check.observe(t + 50 * MS, verdict(ScanVerdict.AGREE)) is None
        t += 100 * MS
    source, fault = check.observe(t, phantom_decision())
    assert source is Source.PERCEPTION and 'decided by odometry' in fault.detail
    # A model seeing things briefly, spread wider than the window, condemns nobody.
    brief = ScanCrossCheck(CONFIG)
    spacing = round(CONFIG.phantom_window_s / (needed - 1) * S) + MS
    assert all(brief.observe(T0 + k * spacing, phantom_decision()) is None
               for k in range(3 * needed))


def test_a_camera_that_misses_is_blamed_at_the_usual_count_in_a_row():
    missed = ScanComparison(ScanVerdict.VIRTUAL_SUSPECT, 30, 30, 0.0, 0.0, 0.0, 0.5)
    blind = Decision(ScanVerdict.VIRTUAL_SUSPECT, 'map', missed, Votes())
    check = ScanCrossCheck(CONFIG)
    for k in range(CONFIG.fail_count - 1):
        assert check.observe(T0 + k * 100 * MS, blind) is None
    source, _ = check.observe(T0 + S, blind)
    assert source is Source.PERCEPTION
    assert CONFIG.fail_count < CONFIG.phantom_fail_count


def room_map_vote(lidar):
    """The LiDAR scan (taken at the origin) against an exact map of the room."""
    res, half = 0.05, 3.0
    n = int(2 * half / res)
    centres = -half + res * (np.arange(n) + 0.5)
    x, y = np.meshgrid(centres, centres)
    inside = (np.abs(x) < HALF_X) & (np.abs(y) < HALF_Y)
    cx, cy, r = CYLINDER
    solid = ~inside | (np.hypot(x - cx, y - cy) <= r)
    data = np.where(solid, 100, 0).astype(np.int8)
    return map_vote(Grid(res, n, n, data, -half, -half), ORIGIN, lidar.ranges, lidar.angle_min,
                    lidar.angle_increment, VoteConfig())


def test_a_lying_lidar_is_caught_within_1_s_at_10_hz_and_perception_takes_over():
    guard = BreakerGuard(GuardConfig(), T0)
    rng = np.random.default_rng(3)
    fault_ns = T0 + 5 * S + 30 * MS
    opened = None
    for k in range(0, 200):  # 20 Hz updates; LiDAR, perception at 10 Hz; the rest nominal
        now = T0 + k * 50 * MS
        for source in (Source.ODOMETRY, Source.IMU, Source.CAMERA, Source.CONTROLLER):
            guard.on_message(source, now, now, k.to_bytes(4, 'little'))
        if k % 2 == 0:
            lidar = lidar_scan(rng=rng, noise=0.02)
            if now >= fault_ns:
                lidar = with_ranges(lidar, np.full(360, math.inf))
            guard.on_message(Source.LIDAR, now, now, k.to_bytes(4, 'little'))
            guard.on_message(Source.PERCEPTION, now, now)
            guard.on_scans(now, lidar, virtual_scan(rng=rng, noise=0.1, outliers=0.05),
                           lambda lidar=lidar: Votes(map=room_map_vote(lidar)))
        out = guard.update(now)
        if opened is None and out.statuses[Source.LIDAR].state is BreakerState.OPEN:
            opened = now
            assert out.selection.source is Source.PERCEPTION
            assert out.mode.mode is Mode.DEGRADED
            assert out.mode.speed_cap == 0.3
    assert opened is not None
    assert opened - fault_ns <= 1 * S
    assert guard.breakers[Source.LIDAR].last_trip.reason is TripReason.CROSS_CHECK
    assert guard.breakers[Source.PERCEPTION].trip_count == 0


# -- yaw rate --------------------------------------------------------------------------------
def feed_yaw(check, truth, odom_lies=False, seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    for k in range(int(seconds * 100)):
        t = T0 + k * 10 * MS
        check.on_imu(t, truth(t) + 0.01 + rng.normal(0.0, 0.02))  # bias + white noise
        if k % 2 == 0:
            odom = 0.0 if odom_lies else truth(t) * (1.0 + 0.05 * rng.normal())
            check.on_odom(t, odom)
    return T0 + int(seconds * S)


def turning(t):
    return 0.8 * math.sin((t - T0) / S)


def test_yaw_rates_that_agree_within_noise_raise_no_fault():
    check = YawRateCrossCheck(YawCheckConfig())
    now = feed_yaw(check, turning)
    mean, samples = check.mean_abs_diff(now)
    assert mean < 0.05 and samples >= 45
    assert check.check(now) is None


def test_odometry_that_misses_a_turn_disagrees_with_the_imu():
    check = YawRateCrossCheck(YawCheckConfig())
    now = feed_yaw(check, lambda t: 0.6, odom_lies=True)
    fault = check.check(now)
    assert fault.reason is TripReason.CROSS_CHECK
    assert 'differ by 0.6' in fault.detail


def test_the_yaw_check_needs_samples_and_skips_non_finite_readings():
    check = YawRateCrossCheck(YawCheckConfig())
    assert check.check(T0) is None
    check.on_imu(T0, math.nan)
    check.on_odom(T0, 1.0)
    assert math.isnan(check.mean_abs_diff(T0)[0])


def test_the_guard_routes_a_yaw_disagreement_to_odometry_and_stops():
    guard = BreakerGuard(GuardConfig(), T0)
    for k in range(400):
        now = T0 + k * 10 * MS
        for source in Source:
            guard.on_message(source, now, now, k.to_bytes(4, 'little'))
        guard.on_yaw_rate(Source.IMU, now, 0.5)
        guard.on_yaw_rate(Source.ODOMETRY, now, 0.5 if now < T0 + 3 * S else 0.0)
        out = guard.update(now)
    assert out.statuses[Source.ODOMETRY].state is BreakerState.OPEN
    assert out.mode.mode is Mode.SAFE_STOP
