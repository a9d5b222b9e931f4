"""The correction and the pose covariance of one stamp join, whichever comes first.

Also within the planner's map join (ExactStampJoin with the LocalizationJoin as its buffer of
corrections): a map waits for both halves, and an overdue one takes a lone correction with an
unknown covariance.
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo_edge.control.uncertainty import UNKNOWN
from robo_edge.navigation.localization_join import LocalizationJoin, Localized, variances_of
from robo_edge.robot.kinematics import Pose2D
from robo_edge.ros.nav_messages import ExactStampJoin, pose_with_covariance_msg

MS = 1_000_000
C1, C2 = Pose2D(0.1, 0.0, 0.0), Pose2D(0.2, -0.1, 0.05)
V1, V2 = (0.01, 0.02, 0.001), (0.04, 0.03, 0.002)


def test_no_pair_until_both_halves_of_the_stamp_are_in() -> None:
    join = LocalizationJoin()
    assert not join.add_correction(100 * MS, C1)
    assert join.at(100 * MS) is None, 'a correction alone is not usable'
    assert not join.add_variances(200 * MS, V2), 'another stamp completes nothing'
    assert join.at(100 * MS) is None and join.at(200 * MS) is None
    assert join.add_variances(100 * MS, V1)
    assert join.at(100 * MS) == Localized(C1, V1)
    assert join.at(200 * MS) is None, 'a pose without its correction is not usable either'


def test_out_of_order_arrival_pairs_by_stamp() -> None:
    join = LocalizationJoin()
    join.add_variances(200 * MS, V2)  # the pose of 200 ms first, then both of 100 ms
    join.add_correction(100 * MS, C1)
    join.add_variances(100 * MS, V1)
    assert join.add_correction(200 * MS, C2)
    assert join.at(100 * MS) == Localized(C1, V1) and join.at(200 * MS) == Localized(C2, V2)
    assert join.lone_corrections.items == {} and join.lone_variances.items == {}


def test_a_repeated_half_updates_its_pair() -> None:
    join = LocalizationJoin()
    join.add_correction(100 * MS, C1)
    join.add_variances(100 * MS, V1)
    assert join.add_variances(100 * MS, V2)
    assert join.at(100 * MS) == Localized(C1, V2)
    assert join.add_correction(100 * MS, C2)
    assert join.at(100 * MS) == Localized(C2, V2)


def test_overdue_fallback_is_the_newest_correction_with_its_own_covariance_or_unknown() -> None:
    join = LocalizationJoin()
    assert join.latest_not_after(500 * MS) is None
    join.add_correction(100 * MS, C1)
    join.add_variances(100 * MS, V1)
    assert join.latest_not_after(150 * MS) == (100 * MS, Localized(C1, V1))
    join.add_correction(200 * MS, C2)  # its pose never comes
    assert join.latest_not_after(200 * MS) == (200 * MS, Localized(C2, UNKNOWN, paired=False))
    assert join.latest_not_after(199 * MS) == (100 * MS, Localized(C1, V1))
    join.add_variances(300 * MS, V2)  # a pose without its correction: no correction to use
    assert join.latest_not_after(300 * MS)[0] == 200 * MS


def test_forget_after_drops_pairs_and_halves_stamped_later() -> None:
    join = LocalizationJoin()
    join.add_correction(100 * MS, C1)
    join.add_variances(100 * MS, V1)
    join.add_correction(200 * MS, C2)
    join.add_variances(300 * MS, V2)
    join.forget_after(150 * MS)
    assert join.latest_not_after(1000 * MS) == (100 * MS, Localized(C1, V1))
    assert not join.add_correction(300 * MS, C2), 'the pose of 300 ms was forgotten'


def test_halves_that_never_pair_are_bounded() -> None:
    join = LocalizationJoin(keep=4)
    for k in range(10):
        join.add_correction(k * MS, C1)
        join.add_variances((100 + k) * MS, V1)
    assert len(join.lone_corrections.items) == 4 and len(join.lone_variances.items) == 4


@given(st.permutations(['c1', 'v1', 'c2', 'v2', 'c3']))
def test_any_arrival_order_gives_the_same_pairs(order: list[str]) -> None:
    halves = {'c1': (100, C1), 'c2': (200, C2), 'c3': (300, C1),
              'v1': (100, V1), 'v2': (200, V2)}
    join = LocalizationJoin()
    for name in order:
        stamp, value = halves[name]
        add = join.add_correction if name[0] == 'c' else join.add_variances
        add(stamp * MS, value)
    assert join.items == {100 * MS: Localized(C1, V1), 200 * MS: Localized(C2, V2)}
    assert join.at(300 * MS) is None


def test_variances_of_a_covariance_message() -> None:
    msg = pose_with_covariance_msg(Pose2D(1.0, 2.0, 0.5), (0.01, math.inf, 0.003), 7 * MS)
    assert variances_of(msg.pose.covariance) == (0.01, math.inf, 0.003)
    assert variances_of([0.0] * 5) == UNKNOWN


def test_the_map_join_waits_for_both_halves_of_its_stamp() -> None:
    join = ExactStampJoin(wait_s=0.3, corrections=True)
    join.corrections = localization = LocalizationJoin()
    join.add_item(100 * MS, 'map100', now_wall_s=0.0)
    join.add_pose(100 * MS, Pose2D(1, 0, 0))
    localization.add_correction(100 * MS, C1)
    assert join.release(0.1) == [], 'the covariance of 100 ms is not here yet'
    localization.add_variances(100 * MS, V1)
    (joined,) = join.release(0.1)
    assert joined.correction == Localized(C1, V1) and not joined.late


def test_an_overdue_map_takes_a_lone_correction_with_an_unknown_covariance() -> None:
    join = ExactStampJoin(wait_s=0.3, corrections=True)
    join.corrections = localization = LocalizationJoin()
    join.add_item(100 * MS, 'map100', now_wall_s=0.0)
    join.add_pose(100 * MS, Pose2D(1, 0, 0))
    localization.add_correction(100 * MS, C1)
    assert join.release(0.29) == []
    (joined,) = join.release(0.31)
    assert joined.correction_stamp_ns == 100 * MS
    assert joined.correction == Localized(C1, UNKNOWN, paired=False)
    assert pytest.approx(joined.correction.correction.x) == 0.1
