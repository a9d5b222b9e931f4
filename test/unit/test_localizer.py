"""Scan-to-map localisation: recovers a known odometry error, holds on scans it cannot trust."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.mapping import localizer as loc
from robo_edge.mapping.localizer import (
    Localizer,
    LocalizerParams,
    ScanData,
    base_in_map,
    correction_of,
    invert_pose,
)
from robo_edge.mapping.mapper import OccupancyMapper, centered_geometry, compose_pose
from robo_edge.robot.kinematics import Pose2D

BEAMS = 360
ANGLE_MIN = -math.pi
INCREMENT = 2 * math.pi / BEAMS
RANGE_MIN, RANGE_MAX = 0.12, 12.0
# The walls here lie on cell edges: matched to cell centres the pose would be up to half a cell
# (0.05 m per axis) off; matched to the cells' mean returns it is not.
CELL_BIAS = 0.02
# A start known only to 0.2 m and 0.05 rad: a single match is taken almost whole.
UNCERTAIN_START = LocalizerParams(initial_sigma=0.2, initial_sigma_yaw=0.05)
Segment = tuple[float, float, float, float]


def room_segments() -> list[Segment]:
    """An 8 m x 6 m room around the origin with a 1 m box and a short wall inside."""
    walls = [(-4.0, -3.0, 4.0, -3.0), (4.0, -3.0, 4.0, 3.0), (4.0, 3.0, -4.0, 3.0),
             (-4.0, 3.0, -4.0, -3.0)]
    box = [(1.5, 0.5, 2.5, 0.5), (2.5, 0.5, 2.5, 1.5), (2.5, 1.5, 1.5, 1.5),
           (1.5, 1.5, 1.5, 0.5)]
    return walls + box + [(-2.5, -1.0, -1.0, -2.0)]


def ray_cast(segments: list[Segment], pose: Pose2D, noise: float = 0.0,
             seed: int = 0) -> np.ndarray:
    """Ranges of a 360-beam scan from `pose` (laser at the base), +inf without a return."""
    angles = pose.yaw + ANGLE_MIN + INCREMENT * np.arange(BEAMS)
    dx, dy = np.cos(angles), np.sin(angles)
    best = np.full(BEAMS, np.inf)
    for x0, y0, x1, y1 in segments:
        ex, ey = x1 - x0, y1 - y0
        den = dx * ey - dy * ex
        with np.errstate(divide='ignore', invalid='ignore'):
            t = ((x0 - pose.x) * ey - (y0 - pose.y) * ex) / den
            u = ((x0 - pose.x) * dy - (y0 - pose.y) * dx) / den
        hit = (np.abs(den) > 1e-12) & (t > 0) & (u >= 0) & (u <= 1)
        best = np.where(hit & (t < best), t, best)
    best[best > RANGE_MAX] = np.inf
    if noise:
        best = best + np.random.default_rng(seed).normal(0.0, noise, BEAMS)
    return best


def scan(ranges: np.ndarray, frame_id: str = 'laser') -> ScanData:
    return ScanData(ranges, ANGLE_MIN, INCREMENT, RANGE_MIN, RANGE_MAX, frame_id)


def mapped(segments: list[Segment], poses: list[Pose2D]) -> OccupancyMapper:
    """A 0.1 m grid built from noise-free scans at true poses."""
    mapper = OccupancyMapper(centered_geometry(0.0, 0.0, 12.0, 0.1))
    for pose in poses:
        mapper.update(ray_cast(segments, pose), ANGLE_MIN, INCREMENT, RANGE_MIN, RANGE_MAX,
                      pose)
    return mapper


ROOM = room_segments()
MAP_POSES = [Pose2D(0.0, 0.0, 0.0), Pose2D(-2.0, 1.5, 1.0), Pose2D(2.0, -1.5, -2.0)]


@pytest.fixture(scope='module')
def room_map() -> OccupancyMapper:
    return mapped(ROOM, MAP_POSES)


def test_pose_algebra_round_trips() -> None:
    correction, odom = Pose2D(1.0, -2.0, 0.7), Pose2D(0.3, 0.4, -1.2)
    base = base_in_map(correction, odom)
    back = correction_of(base, odom)
    assert (back.x, back.y, back.yaw) == pytest.approx((1.0, -2.0, 0.7))
    identity = compose_pose(correction, invert_pose(correction))
    assert (identity.x, identity.y, identity.yaw) == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)


@pytest.mark.parametrize('error', [(0.2, 0.0, 0.0), (0.0, -0.2, 0.0), (0.0, 0.0, 0.05),
                                   (0.15, -0.12, math.radians(3.0))])
def test_recovers_a_known_odometry_error(room_map: OccupancyMapper, error) -> None:
    true = Pose2D(0.6, -0.4, 0.3)
    odom = Pose2D(1.0, 0.5, 0.2)  # the odometry's own frame: anything
    # The held correction is off by `error`: the prediction is wrong by that much.
    wrong = Pose2D(true.x + error[0], true.y + error[1], true.yaw + error[2])
    localizer = Localizer(correction_of(wrong, odom))
    result = localizer.update(scan(ray_cast(ROOM, true, 0.01)), odom, room_map)
    assert result.accepted, result
    assert math.hypot(result.pose.x - true.x, result.pose.y - true.y) < CELL_BIAS
    assert abs(result.pose.yaw - true.yaw) < math.radians(0.5)
    assert result.inlier_fraction > 0.9 and result.score > 0.5
    # The correction it now holds puts the same odometry at the matched pose.
    again = base_in_map(localizer.correction, odom)
    assert (again.x, again.y) == pytest.approx((result.pose.x, result.pose.y))


def test_is_deterministic(room_map: OccupancyMapper) -> None:
    true, odom = Pose2D(-1.0, 1.0, 2.0), Pose2D(0.0, 0.0, 0.0)
    ranges = ray_cast(ROOM, true, 0.01, seed=3)
    results = []
    for _ in range(2):
        localizer = Localizer(Pose2D(-1.1, 1.05, 2.02))
        results.append(localizer.update(scan(ranges), odom, room_map))
    assert results[0] == results[1]


def held(result: loc.MatchResult, localizer: Localizer, before: Pose2D, reason: str) -> None:
    assert not result.accepted and result.reason == reason
    assert localizer.correction == before and result.correction == before


def test_holds_the_correction_for_a_scan_with_too_few_returns(room_map) -> None:
    before = Pose2D(0.05, 0.0, 0.0)
    localizer = Localizer(before)
    ranges = ray_cast(ROOM, Pose2D(0.0, 0.0, 0.0))
    ranges[40:] = np.inf  # only 40 returns
    result = localizer.update(scan(ranges), Pose2D(0.0, 0.0, 0.0), room_map)
    held(result, localizer, before, loc.FEW_POINTS)
    assert result.pose == Pose2D(0.05, 0.0, 0.0)  # the prediction: dead reckoning


def test_holds_the_correction_on_an_empty_map() -> None:
    before = Pose2D(0.05, 0.0, 0.0)
    localizer = Localizer(before)
    ranges = ray_cast(ROOM, Pose2D(0.0, 0.0, 0.0))
    empty = OccupancyMapper(centered_geometry(0.0, 0.0, 12.0, 0.1))
    result = localizer.update(scan(ranges), Pose2D(0.0, 0.0, 0.0), empty)
    held(result, localizer, before, loc.FEW_INLIERS)


def test_a_tight_dead_reckoning_moves_part_way_to_a_match_and_converges(room_map) -> None:
    true, before = Pose2D(0.0, 0.0, 0.0), Pose2D(0.03, -0.02, 0.0)
    localizer = Localizer(before)  # the default start: sigma 0.02 m, so 0.036 m is plausible
    odom = Pose2D(0.0, 0.0, 0.0)
    errors = []
    for seed in range(12):
        result = localizer.update(scan(ray_cast(ROOM, true, 0.01, seed)), odom, room_map)
        assert result.accepted
        errors.append(math.hypot(result.pose.x - true.x, result.pose.y - true.y))
    # Prior and match noise are both 0.02 m: the first update goes about half way.
    assert 0.3 < errors[0] / math.hypot(before.x, before.y) < 0.7, errors
    assert all(b <= a + 1e-3 for a, b in zip(errors, errors[1:], strict=False)), errors
    assert errors[-1] < CELL_BIAS
    # The covariance is the fused one: tighter than either alone, floored at min_sigma.
    assert math.sqrt(result.covariance[0]) == pytest.approx(LocalizerParams().min_sigma)


def test_along_a_single_wall_only_the_shift_across_it_and_the_turn_are_taken() -> None:
    wall = [(-10.0, 1.0, 10.0, 1.0)]
    corridor = mapped(wall, [Pose2D(0.0, 0.0, 0.0)])
    # the truth: (0.2, 0.0, 0.0); the start is known to be uncertain
    localizer = Localizer(Pose2D(0.05, 0.06, 0.02), params=UNCERTAIN_START)
    result = localizer.update(scan(ray_cast(wall, Pose2D(0.2, 0.0, 0.0))),
                              Pose2D(0.0, 0.0, 0.0), corridor)
    assert result.accepted and result.reason == loc.PARTIAL and result.information < 0.05
    assert (result.pose.x, result.pose.y, result.pose.yaw) == pytest.approx(
        (0.05, 0.0, 0.0), abs=0.01), 'x along the wall is kept, y and yaw are matched'
    # along the wall the position is dead-reckoned: its variance is the grown one, not the fit's
    assert result.covariance[0] == pytest.approx(UNCERTAIN_START.initial_sigma ** 2)
    assert localizer.correction == result.correction
    # Without partial updates the same match is held.
    strict = Localizer(Pose2D(0.05, 0.06, 0.02), params=LocalizerParams(
        min_partial_information=1.01))
    result = strict.update(scan(ray_cast(wall, Pose2D(0.2, 0.0, 0.0))), Pose2D(0.0, 0.0, 0.0),
                           corridor)
    held(result, strict, Pose2D(0.05, 0.06, 0.02), loc.DEGENERATE)


def test_only_trusts_wide_lidar_scans(room_map) -> None:
    before = Pose2D(0.1, 0.0, 0.0)
    localizer = Localizer(before)
    ranges = ray_cast(ROOM, Pose2D(0.0, 0.0, 0.0))
    odom = Pose2D(0.0, 0.0, 0.0)
    result = localizer.update(scan(ranges, 'base_link'), odom, room_map)
    held(result, localizer, before, loc.UNTRUSTED_FRAME)
    narrow = ScanData(ranges[150:210], -0.5, INCREMENT, RANGE_MIN, RANGE_MAX, 'laser')
    result = localizer.update(narrow, odom, room_map)
    held(result, localizer, before, loc.NARROW_FOV)


def test_rejects_a_match_that_jumps_too_far(room_map) -> None:
    true = Pose2D(0.0, 0.0, 0.0)
    before = Pose2D(0.2, 0.0, 0.0)
    localizer = Localizer(before, params=LocalizerParams(max_jump=0.1))
    result = localizer.update(scan(ray_cast(ROOM, true)), Pose2D(0.0, 0.0, 0.0), room_map)
    held(result, localizer, before, loc.JUMP)
    assert result.shift[0] == pytest.approx(-0.2, abs=CELL_BIAS)


def test_honours_the_laser_mount(room_map) -> None:
    mount = Pose2D(0.2, 0.05, 0.1)
    true = Pose2D(0.5, 0.2, -0.4)
    laser = compose_pose(true, mount)
    localizer = Localizer(correction_of(Pose2D(0.6, 0.12, -0.36), Pose2D(0.0, 0.0, 0.0)),
                          sensor=mount)
    result = localizer.update(scan(ray_cast(ROOM, laser, 0.01)), Pose2D(0.0, 0.0, 0.0), room_map)
    assert result.accepted
    assert math.hypot(result.pose.x - true.x, result.pose.y - true.y) < CELL_BIAS
    assert abs(result.pose.yaw - true.yaw) < math.radians(0.5)


@settings(max_examples=25, deadline=None)
@given(x=st.floats(-2.5, 2.5), y=st.floats(-2.0, 2.0), yaw=st.floats(-math.pi, math.pi),
       ex=st.floats(-0.15, 0.15), ey=st.floats(-0.15, 0.15), eyaw=st.floats(-0.04, 0.04),
       seed=st.integers(0, 1000))
def test_matched_pose_is_never_worse_than_a_small_prediction_error(x, y, yaw, ex, ey, eyaw,
                                                                   seed) -> None:
    room_map = _ROOM_MAP
    true = Pose2D(x, y, yaw)
    if 1.2 <= x <= 2.8 and 0.2 <= y <= 1.8 or min(ray_cast(ROOM, true)) < 0.3:
        return  # inside or against the box, or against a wall
    localizer = Localizer(Pose2D(x + ex, y + ey, yaw + eyaw), params=UNCERTAIN_START)
    result = localizer.update(scan(ray_cast(ROOM, true, 0.01, seed)), Pose2D(0.0, 0.0, 0.0),
                              room_map)
    if result.accepted:
        assert math.hypot(result.pose.x - x, result.pose.y - y) < CELL_BIAS
        assert abs(math.remainder(result.pose.yaw - yaw, math.tau)) < math.radians(1.0)
    else:
        assert localizer.correction == Pose2D(x + ex, y + ey, yaw + eyaw)


_ROOM_MAP = mapped(ROOM, MAP_POSES)


def test_tracks_a_drifting_odometry_while_it_maps() -> None:
    """Around the room twice, odometry 3% long and 3% over-turning: the error stays bounded."""
    mapper = OccupancyMapper(centered_geometry(0.0, 0.0, 12.0, 0.1))
    start = Pose2D(-2.0, -1.5, 0.0)
    localizer = Localizer(start)
    corners = [(-2.0, -1.5), (3.0, -1.5), (3.0, 2.0), (-2.0, 2.0)] * 2 + [(-2.0, -1.5)]
    odom, previous, worst, dead_worst = Pose2D(0.0, 0.0, 0.0), start, 0.0, 0.0
    rng = np.random.default_rng(7)
    for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
        yaw = math.atan2(y1 - y0, x1 - x0)
        for f in np.arange(0.0, 1.0, 0.05 / math.hypot(x1 - x0, y1 - y0)):
            true = Pose2D(x0 + f * (x1 - x0), y0 + f * (y1 - y0), yaw)
            # The odometry sees the true motion in the body frame, too long and over-turned.
            c, s = math.cos(previous.yaw), math.sin(previous.yaw)
            dx, dy = true.x - previous.x, true.y - previous.y
            forward, side = c * dx + s * dy, -s * dx + c * dy
            turn = math.remainder(true.yaw - previous.yaw, math.tau) * 1.03
            odom = compose_pose(odom, Pose2D(forward * 1.03, side, turn))
            previous = true
            ranges = ray_cast(ROOM, true, 0.01, seed=int(rng.integers(1 << 30)))
            result = localizer.update(scan(ranges), odom, mapper)
            mapper.update(ranges, ANGLE_MIN, INCREMENT, RANGE_MIN, RANGE_MAX, result.pose)
            worst = max(worst, math.hypot(result.pose.x - true.x, result.pose.y - true.y))
            dead = base_in_map(start, odom)
            dead_worst = max(dead_worst, math.hypot(dead.x - true.x, dead.y - true.y))
    assert dead_worst > 0.5, 'the odometry alone drifts'
    assert worst < 0.05  # the worst is at a corner: a 90 degree turn over-turned by 2.7 degrees


def test_the_covariance_grows_with_distance_dead_reckoned_and_restarts_at_a_match() -> None:
    walls = [(-3.0, -2.0, 3.0, -2.0), (-3.0, 2.0, 3.0, 2.0), (-3.0, -2.0, -3.0, 2.0),
             (3.0, -2.0, 3.0, 2.0)]
    room = mapped(walls, [Pose2D(0.0, 0.0, 0.0)])
    localizer = Localizer(Pose2D(0.0, 0.0, 0.0))
    params = localizer.params
    sigmas = []
    localizer.hold('fallback', Pose2D(0.0, 0.0, 0.0))
    for k in range(1, 11):  # 10 m of dead reckoning in 1 m steps, nothing matched
        held = localizer.hold('fallback', Pose2D(float(k), 0.0, 0.0))
        assert not held.accepted
        sigmas.append(math.sqrt(held.covariance[0]))
    assert sigmas == sorted(sigmas)
    assert sigmas[-1] == pytest.approx(params.initial_sigma + 10 * params.drift_per_m)
    back = Localizer(Pose2D(0.0, 0.0, 0.0))
    back.hold('fallback', Pose2D(0.0, 0.0, 0.0))
    back.hold('fallback', Pose2D(0.0, 0.0, 0.0))  # standing still: nothing grows
    matched = back.update(scan(ray_cast(walls, Pose2D(0.0, 0.0, 0.0))), Pose2D(0.0, 0.0, 0.0),
                          room)
    assert matched.accepted
    assert params.min_sigma ** 2 <= matched.covariance[0] < sigmas[-1] ** 2


def test_the_far_face_of_a_thin_wall_does_not_pull_the_pose() -> None:
    # A room above a corridor, split by a 0.15 m wall with a door: the map saw only the wall's
    # top face; back in the corridor, the LiDAR sees its bottom face. Matching the bottom face
    # to the top face's cells would pull the robot 0.15 m toward the wall.
    top = [(-5.0, 0.0, -0.5, 0.0), (0.5, 0.0, 5.0, 0.0)]
    bottom = [(-5.0, -0.15, -0.5, -0.15), (0.5, -0.15, 5.0, -0.15)]
    jambs = [(-0.5, 0.0, -0.5, -0.15), (0.5, 0.0, 0.5, -0.15)]
    room = [(-5.0, 3.0, 5.0, 3.0), (-5.0, -1.8, 5.0, -1.8), (-5.0, -1.8, -5.0, 3.0),
            (5.0, -1.8, 5.0, 3.0)]
    grid = mapped(top + jambs + room, [Pose2D(0.0, 0.6, 0.0), Pose2D(-0.2, 0.3, -1.5),
                                       Pose2D(0.2, 0.3, -1.6)])
    truth = Pose2D(-2.5, -1.0, 0.0)
    result = Localizer(Pose2D(0.0, 0.0, 0.0)).update(
        scan(ray_cast(bottom + jambs + room, truth)), truth, grid)
    assert math.hypot(result.pose.x - truth.x, result.pose.y - truth.y) < 0.02, result


def test_a_seeded_prior_is_not_matched_until_the_lidar_has_seen_it() -> None:
    """Survey cells say a cell is occupied, not where in it the wall is: they never pull."""
    # The prior: the room's walls half a cell off (a survey's cell, not its surface).
    shifted = [(x0 + 0.05, y0 + 0.05, x1 + 0.05, y1 + 0.05) for x0, y0, x1, y1 in ROOM]
    prior = mapped(shifted, MAP_POSES)
    seeded = OccupancyMapper(prior.geometry)
    seeded.seed_from(prior.occupancy())
    assert not seeded.observed().any() and (seeded.occupancy() >= 65).any()
    true = Pose2D(0.6, -0.4, 0.3)
    ranges = ray_cast(ROOM, true)
    result = Localizer(correction_of(true, true)).update(scan(ranges), true, seeded)
    assert not result.accepted and result.reason == loc.FEW_INLIERS, 'a prior alone: held'
    dragged = Localizer(correction_of(true, true), params=LocalizerParams(observed_only=False))
    pulled = dragged.update(scan(ranges), true, seeded)
    assert pulled.accepted and math.hypot(pulled.pose.x - true.x, pulled.pose.y - true.y) > 0.02
    # Once the LiDAR has returned from the walls, they are matched where it saw them.
    seeded.update(ranges, ANGLE_MIN, INCREMENT, RANGE_MIN, RANGE_MAX, true)
    assert seeded.observed().any()
    wrong = Pose2D(true.x + 0.1, true.y - 0.08, true.yaw)
    result = Localizer(correction_of(wrong, true)).update(scan(ray_cast(ROOM, true, 0.01)),
                                                            true, seeded)
    assert result.accepted and math.hypot(result.pose.x - true.x,
                                          result.pose.y - true.y) < CELL_BIAS
