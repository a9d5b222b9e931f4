"""The fault injector on synthetic twin streams: what is published, when, stamped how, counted."""

import functools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_edge.chaos.injector import FaultInjector
from robo_edge.chaos.spec import SENSOR_TARGETS, FaultSpec
from robo_edge.robot.kinematics import Pose2D, Velocity
from robo_edge.twin.config import from_flat
from robo_edge.twin.digest import StreamDigests
from robo_edge.twin.readings import (
    CameraIntrinsics,
    GroundTruthReading,
    ImageReading,
    ImuReading,
    OdomReading,
    Reading,
    ScanReading,
)
from robo_edge.twin.sim import Twin
from robo_edge.twin.world import parse_world

REPO = Path(__file__).resolve().parents[2]
NS = 1_000_000_000
PHYSICS_HZ = 300
# Steps between readings at the twin's default rates: IMU 100 Hz, odometry and truth 50 Hz,
# LiDAR 10 Hz, camera 15 Hz.
EVERY = {ImuReading: 3, OdomReading: 6, GroundTruthReading: 6, ScanReading: 30,
         ImageReading: 20}
TYPE_OF = {'lidar': ScanReading, 'camera': ImageReading, 'imu': ImuReading, 'odom': OdomReading}
BEAMS = 360
RANGE_MIN, RANGE_MAX = 0.12, 12.0
INTRINSICS = CameraIntrinsics(8, 6, 5.0, 5.0, 3.5, 2.5)


def time_of(step: int) -> int:
    return step * NS // PHYSICS_HZ


def s(seconds: float) -> int:
    return round(seconds * NS)


def scan(stamp: int) -> ScanReading:
    ranges = np.linspace(0.5, 8.0, BEAMS) + stamp / NS / 100
    ranges[::10] = np.inf  # no return
    ranges[5::50] = np.nan  # invalid
    ranges[7] = -np.inf  # too close
    return ScanReading(stamp, -math.pi, 2 * math.pi / BEAMS, RANGE_MIN, RANGE_MAX, 0.1,
                       ranges.astype(np.float32))


def reading(kind: type, stamp: int) -> Reading:
    t = stamp / NS
    if kind is ScanReading:
        return scan(stamp)
    if kind is ImageReading:
        rgb = np.full((6, 8, 3), int(t * 10) % 200 + 20, dtype=np.uint8)
        return ImageReading(stamp, rgb, INTRINSICS)
    if kind is ImuReading:
        return ImuReading(stamp, (0.0, 0.0, 0.1 + t), (0.2, 0.0, 9.8), (0.0, 0.0, 0.0, 1.0))
    if kind is OdomReading:
        return OdomReading(stamp, Pose2D(t, 0.5 * t, 0.1), Velocity(1.0, 0.1 + t))
    return GroundTruthReading(stamp, Pose2D(t, 0.5 * t, 0.1), Velocity(1.0, 0.1))


def due(step: int) -> list[Reading]:
    return list(_due(step))


@functools.cache
def _due(step: int) -> tuple[Reading, ...]:
    # Shared between runs: any change the injector made to its input would show in later runs.
    return tuple(reading(kind, time_of(step)) for kind, every in EVERY.items()
                 if step % every == 0)


def run(faults: list[FaultSpec], seconds: float = 3.0, seed: int = 0,
        injector: FaultInjector | None = None) -> list[tuple[int, Reading]]:
    """Return (published at, reading) for every reading the injector lets out."""
    injector = injector or FaultInjector(faults, seed)
    out = []
    for step in range(1, round(seconds * PHYSICS_HZ) + 1):
        out += [(time_of(step), r) for r in injector.apply(time_of(step), due(step))]
    return out


def of(published: list[tuple[int, Reading]], kind: type) -> list[tuple[int, Reading]]:
    return [(at, r) for at, r in published if isinstance(r, kind)]


def stamps(published: list[tuple[int, Reading]], kind: type) -> list[int]:
    return [r.stamp_ns for _, r in of(published, kind)]


def produced(kind: type, seconds: float = 3.0) -> list[int]:
    every = EVERY[kind]
    return [time_of(k) for k in range(1, round(seconds * PHYSICS_HZ) + 1) if k % every == 0]


def report(faults: list[FaultSpec], seconds: float = 3.0, seed: int = 0) -> list[dict]:
    injector = FaultInjector(faults, seed)
    run(faults, seconds, injector=injector)
    return injector.report()


def same(a: Reading, b: Reading) -> bool:
    """Field-wise equality that treats arrays by value and NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            if not np.array_equal(x, y, equal_nan=x.dtype.kind == 'f'):
                return False
        elif x != y and not (_all_nan(x) and _all_nan(y)):
            return False
    return True


def _all_nan(value: object) -> bool:
    try:
        return bool(np.all(np.isnan(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return False


# -- no faults, silence, drop ------------------------------------------------------------------

def test_no_faults_publishes_everything_unchanged_at_once() -> None:
    injector = FaultInjector([], 3)
    readings = due(60)
    assert injector.apply(time_of(60), readings) == readings
    assert injector.report() == []


@pytest.mark.parametrize('target', SENSOR_TARGETS)
def test_silence_removes_the_target_inside_the_window_only(target: str) -> None:
    fault = FaultSpec('silence', target, 1.0, 0.5)
    published = run([fault])
    kind = TYPE_OF[target]
    expected = [t for t in produced(kind) if not s(1.0) <= t < s(1.5)]
    assert stamps(published, kind) == expected
    for other in set(EVERY) - {kind}:
        assert stamps(published, other) == produced(other)
    entry = report([fault])[0]
    missing = len(produced(kind)) - len(expected)
    assert entry['affected'] == missing
    assert entry['first_affected_s'] == pytest.approx(1.0, abs=0.07)
    assert entry['last_affected_s'] < 1.5


def test_silence_of_the_lidar_counts_and_exact_stamps() -> None:
    entry = report([FaultSpec('silence', 'lidar', 1.0, 0.5)])[0]
    assert (entry['affected'], entry['first_affected_s'], entry['last_affected_s']) == (
        5, 1.0, 1.4)


@pytest.mark.parametrize('target', SENSOR_TARGETS)
def test_drop_all_none_and_some_with_a_seeded_draw(target: str) -> None:
    kind = TYPE_OF[target]
    window = [t for t in produced(kind) if t >= s(1.0)]
    assert stamps(run([FaultSpec('drop', target, 1.0, probability=1.0)]), kind) == [
        t for t in produced(kind) if t < s(1.0)]
    assert stamps(run([FaultSpec('drop', target, 1.0, probability=0.0)]), kind) == produced(kind)
    half = [FaultSpec('drop', target, 1.0, probability=0.5)]
    first, again, other = (stamps(run(half, seed=seed), kind) for seed in (4, 4, 5))
    assert first == again and first != other
    dropped = len(produced(kind)) - len(first)
    assert 0 < dropped < len(window)
    assert report(half, seed=4)[0]['affected'] == dropped


# -- freeze ------------------------------------------------------------------------------------

@pytest.mark.parametrize('target', SENSOR_TARGETS)
def test_freeze_repeats_the_last_payload_before_the_window_with_new_stamps(target: str) -> None:
    kind = TYPE_OF[target]
    published = of(run([FaultSpec('freeze', target, 1.0, 1.0)]), kind)
    before = [r for _, r in published if r.stamp_ns < s(1.0)][-1]
    inside = [r for _, r in published if s(1.0) <= r.stamp_ns < s(2.0)]
    after = [r for _, r in published if r.stamp_ns >= s(2.0)]
    assert [r.stamp_ns for _, r in published] == produced(kind)
    assert inside and all(same(r, replace(before, stamp_ns=r.stamp_ns)) for r in inside)
    assert all(same(r, reading(kind, r.stamp_ns)) for r in after)
    if kind is ImageReading:
        assert all(r.rgb is before.rgb for r in inside)  # the very same bytes
    assert report([FaultSpec('freeze', target, 1.0, 1.0)])[0]['affected'] == len(inside)


def test_freeze_from_the_start_freezes_the_first_reading() -> None:
    published = of(run([FaultSpec('freeze', 'imu', 0.0)], seconds=0.5), ImuReading)
    first = published[0][1]
    assert same(first, reading(ImuReading, first.stamp_ns))
    assert all(r.angular_velocity == first.angular_velocity for _, r in published)
    assert report([FaultSpec('freeze', 'imu', 0.0)], 0.5)[0]['affected'] == len(published) - 1


# -- noise -------------------------------------------------------------------------------------

def test_lidar_noise_touches_finite_ranges_only_and_keeps_rep117() -> None:
    published = of(run([FaultSpec('noise', 'lidar', 1.0, 1.0, std=0.05)]), ScanReading)
    for _, r in published:
        clean = scan(r.stamp_ns).ranges
        assert r.ranges.dtype == np.float32 and r.ranges.shape == clean.shape
        finite = np.isfinite(clean)
        assert np.array_equal(r.ranges[~finite], clean[~finite], equal_nan=True)
        delta = r.ranges[finite] - clean[finite]
        if s(1.0) <= r.stamp_ns < s(2.0):
            assert 0.03 < float(np.std(delta)) < 0.07
        else:
            assert not delta.any()
    big = of(run([FaultSpec('noise', 'lidar', 1.0, std=50.0)], 1.2), ScanReading)[-1][1]
    finite = np.isfinite(scan(big.stamp_ns).ranges)
    values = big.ranges[finite]
    assert np.all(np.isinf(values) | ((values >= RANGE_MIN) & (values <= RANGE_MAX)))
    assert np.isneginf(values).any() and np.isposinf(values).any()


def test_camera_noise_is_in_pixel_levels_and_stays_rgb8() -> None:
    published = of(run([FaultSpec('noise', 'camera', 1.0, std=20.0)], 1.5), ImageReading)
    for _, r in published:
        clean = reading(ImageReading, r.stamp_ns)
        assert r.rgb.dtype == np.uint8 and r.rgb.shape == clean.rgb.shape
        delta = r.rgb.astype(float) - clean.rgb.astype(float)
        assert (10 < np.std(delta) < 30) if r.stamp_ns >= s(1.0) else not delta.any()
        assert r.intrinsics == INTRINSICS


def test_imu_and_odom_noise() -> None:
    published = run([FaultSpec('noise', 'imu', 1.0, std=0.1), FaultSpec('noise', 'odom', 1.0,
                                                                        std=0.1)], 2.0)
    for _, r in of(published, ImuReading):
        clean = reading(ImuReading, r.stamp_ns)
        changed = r.angular_velocity != clean.angular_velocity
        assert changed == (r.stamp_ns >= s(1.0))
        assert (r.linear_acceleration != clean.linear_acceleration) == changed
        assert r.orientation == clean.orientation
    odoms = [(r, reading(OdomReading, r.stamp_ns)) for _, r in of(published, OdomReading)]
    noisy = [(r, c) for r, c in odoms if r.stamp_ns >= s(1.0)]
    assert all(r.pose.x != c.pose.x and r.pose.y != c.pose.y and r.pose.yaw == c.pose.yaw
               and r.velocity == c.velocity for r, c in noisy)
    errors = np.array([r.pose.x - c.pose.x for r, c in noisy])
    assert 0.05 < errors.std() < 0.15


# -- nan ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('fraction, count', [(1.0, BEAMS), (0.5, BEAMS // 2), (1e-6, 1)])
def test_lidar_nan_sets_that_share_of_ranges(fraction: float, count: int) -> None:
    published = of(run([FaultSpec('nan', 'lidar', 1.0, 0.5, fraction=fraction)], 2.0),
                   ScanReading)
    for _, r in published:
        clean = scan(r.stamp_ns).ranges
        if not s(1.0) <= r.stamp_ns < s(1.5):
            assert np.array_equal(r.ranges, clean, equal_nan=True)
            continue
        # `count` beams drawn without replacement; some were NaN (invalid) already
        assert count <= np.isnan(r.ranges).sum() <= count + np.isnan(clean).sum()
        assert np.isnan(r.ranges[np.isnan(clean)]).all()
        kept = ~np.isnan(r.ranges)
        assert np.array_equal(r.ranges[kept], clean[kept]) and r.ranges.dtype == np.float32


@pytest.mark.parametrize('target', ['imu', 'odom'])
def test_imu_and_odom_nan_make_every_field_nan_when_drawn(target: str) -> None:
    kind = TYPE_OF[target]
    published = of(run([FaultSpec('nan', target, 1.0, fraction=1.0)], 1.5), kind)
    for _, r in published:
        values = ([*r.angular_velocity, *r.linear_acceleration, *r.orientation]
                  if kind is ImuReading else
                  [r.pose.x, r.pose.y, r.pose.yaw, r.velocity.linear, r.velocity.angular])
        assert all(map(math.isnan, values)) == (r.stamp_ns >= s(1.0))
        assert any(map(math.isnan, values)) == (r.stamp_ns >= s(1.0))
    some = [FaultSpec('nan', target, 1.0, fraction=0.3)]
    entry = report(some, 3.0, seed=2)[0]
    inside = len([t for t in produced(kind) if t >= s(1.0)])
    assert 0.1 * inside < entry['affected'] < 0.5 * inside


# -- lie ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    (math.inf, math.inf), (-math.inf, -math.inf), (2.5, 2.5), (0.05, -math.inf),
    (99.0, math.inf),
])
def test_lidar_constant_lie_replaces_every_range(value: float, expected: float) -> None:
    published = of(run([FaultSpec('lie', 'lidar', 1.0, mode='constant', value=value)], 1.5),
                   ScanReading)
    for _, r in published:
        if r.stamp_ns >= s(1.0):
            assert r.ranges.dtype == np.float32 and np.all(r.ranges == np.float32(expected))
        else:
            assert np.array_equal(r.ranges, scan(r.stamp_ns).ranges, equal_nan=True)


def test_lidar_offset_lie_shifts_finite_ranges_and_keeps_rep117() -> None:
    r = of(run([FaultSpec('lie', 'lidar', 1.0, mode='offset', value=5.0)], 1.2),
           ScanReading)[-1][1]
    clean = scan(r.stamp_ns).ranges.astype(np.float64)
    finite = np.isfinite(clean)
    shifted = clean[finite] + 5.0
    expected = np.where(shifted > RANGE_MAX, np.inf, shifted).astype(np.float32)
    assert np.array_equal(r.ranges[finite], expected)
    assert np.array_equal(r.ranges[~finite], clean[~finite].astype(np.float32), equal_nan=True)


def test_imu_and_odom_lie_about_the_yaw_rate() -> None:
    faults = [FaultSpec('lie', 'imu', 1.0, mode='constant', value=0.7),
              FaultSpec('lie', 'odom', 1.0, mode='offset', value=0.3)]
    published = run(faults, 1.5)
    for _, r in of(published, ImuReading):
        clean = reading(ImuReading, r.stamp_ns)
        lied = r.stamp_ns >= s(1.0)
        assert r.angular_velocity == ((0.0, 0.0, 0.7) if lied else clean.angular_velocity)
        assert (r.linear_acceleration, r.orientation) == (clean.linear_acceleration,
                                                           clean.orientation)
    for _, r in of(published, OdomReading):
        clean = reading(OdomReading, r.stamp_ns)
        offset = 0.3 if r.stamp_ns >= s(1.0) else 0.0
        assert r.velocity.angular == pytest.approx(clean.velocity.angular + offset, abs=1e-12)
        assert (r.pose, r.velocity.linear) == (clean.pose, clean.velocity.linear)


# -- clock skew --------------------------------------------------------------------------------

@pytest.mark.parametrize('target', SENSOR_TARGETS)
def test_clock_skew_shifts_the_stamps_of_the_window_only(target: str) -> None:
    kind = TYPE_OF[target]
    published = of(run([FaultSpec('clock_skew', target, 1.0, 1.0, skew_s=-0.5)]), kind)
    for (at, r), t in zip(published, produced(kind), strict=True):
        assert at == t  # published when produced
        assert r.stamp_ns == (t - s(0.5) if s(1.0) <= t < s(2.0) else t)
        assert same(r, replace(reading(kind, t), stamp_ns=r.stamp_ns))


# -- delay -------------------------------------------------------------------------------------

def test_delay_releases_in_order_at_the_first_step_due_with_the_original_stamps() -> None:
    fault = FaultSpec('delay', 'lidar', 1.0, 0.5, delay_s=0.3)
    published = of(run([fault], 2.5), ScanReading)
    assert [r.stamp_ns for _, r in published] == produced(ScanReading, 2.5)  # all, in order
    at = {r.stamp_ns: when for when, r in published}
    for t in produced(ScanReading, 2.5):
        if s(1.0) <= t < s(1.5):
            assert at[t] == t + s(0.3)  # the first step with now >= stamp + delay
        elif s(1.5) <= t <= s(1.7):
            assert at[t] == s(1.7)  # waits behind 1.4, which is due at 1.7
        else:
            assert at[t] == t
    assert all(same(r, scan(r.stamp_ns)) for _, r in published)
    entry = report([fault], 2.5)[0]
    assert (entry['affected'], entry['first_affected_s'], entry['last_affected_s']) == (
        8, 1.0, 1.7)
    assert entry['held_at_end'] == 0


def first_step_at_or_after(t: int) -> int:
    step = -(-t * PHYSICS_HZ // NS)  # ceil
    while time_of(step) < t:
        step += 1
    return time_of(step)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SENSOR_TARGETS), st.floats(0.0, 1.5), st.floats(0.0, 1.0),
       st.floats(0.001, 0.6))
def test_delay_law_on_every_target(target: str, start_s: float, duration_s: float,
                                   delay_s: float) -> None:
    """Each reading leaves at max(its due step, its predecessor's release): FIFO, stamps kept."""
    fault = FaultSpec('delay', target, start_s, duration_s, delay_s=delay_s)
    kind = TYPE_OF[target]
    published = of(run([fault], 2.0), kind)
    released = [(at, r.stamp_ns) for at, r in published]
    assert [t for _, t in released] == [t for t in produced(kind, 2.0)][:len(released)]
    previous = 0
    for at, t in released:
        due_at = first_step_at_or_after(t + (round(delay_s * NS) if fault.active(t) else 0))
        assert at == max(due_at, previous)
        previous = at
    assert all(same(r, reading(kind, r.stamp_ns)) for _, r in published)


def test_delay_that_is_not_a_step_multiple_releases_at_the_next_step() -> None:
    published = of(run([FaultSpec('delay', 'imu', 1.0, 0.1, delay_s=0.0041)], 1.5), ImuReading)
    at = {r.stamp_ns: when for when, r in published}
    step = NS // PHYSICS_HZ
    for t in (t for t in produced(ImuReading, 1.5) if s(1.0) <= t < s(1.1)):
        assert t + s(0.0041) <= at[t] < t + s(0.0041) + step


def test_delay_open_ended_holds_the_tail_at_the_end() -> None:
    entry = report([FaultSpec('delay', 'odom', 1.0, delay_s=0.1)], 2.0)[0]
    assert entry['held_at_end'] == 5  # 1.9 .. 2.0 at 50 Hz are not due yet at t = 2.0 s


def test_camera_faults_cover_image_and_camera_info_together() -> None:
    # camera_info is published from the same reading, so silencing the image silences both
    published = run([FaultSpec('silence', 'camera', 0.0)], 1.0)
    assert of(published, ImageReading) == []


# -- composition, ground truth, determinism, report ---------------------------------------------

def test_faults_on_one_target_compose_in_declared_order() -> None:
    faults = [FaultSpec('delay', 'lidar', 1.0, 0.5, delay_s=0.2),
              FaultSpec('lie', 'lidar', 1.0, mode='constant', value=math.inf)]
    published = of(run(faults, 2.0), ScanReading)
    assert [r.stamp_ns for _, r in published] == produced(ScanReading, 2.0)
    assert all(np.all(np.isposinf(r.ranges)) == (r.stamp_ns >= s(1.0)) for _, r in published)


def sensor_faults() -> st.SearchStrategy[FaultSpec]:
    kinds = {
        'silence': {}, 'freeze': {}, 'delay': {'delay_s': st.floats(0.001, 1.0)},
        'drop': {'probability': st.floats(0.0, 1.0)}, 'noise': {'std': st.floats(0.001, 5.0)},
        'clock_skew': {'skew_s': st.floats(0.001, 1.0)},
    }
    common = {'start_s': st.floats(0.0, 2.0), 'duration_s': st.floats(0.0, 2.0)}
    nan_lie = st.one_of(
        st.builds(FaultSpec, st.just('nan'), st.sampled_from(['lidar', 'imu', 'odom']),
                  fraction=st.floats(0.01, 1.0), **common),
        st.builds(FaultSpec, st.just('lie'), st.sampled_from(['lidar', 'imu', 'odom']),
                  mode=st.sampled_from(['constant', 'offset']), value=st.floats(-3.0, 3.0),
                  **common),
        st.builds(FaultSpec, st.just('lie'), st.just('camera'),
                  mode=st.sampled_from(['phantom', 'missed']),
                  columns=st.sampled_from([(0.0, 1.0), (0.35, 0.65), (0.9, 0.95)]),
                  bottom=st.floats(0.01, 1.0), top=st.floats(0.0, 0.9), **common),
    )
    return st.one_of(nan_lie, *[
        st.builds(FaultSpec, st.just(kind), st.sampled_from(SENSOR_TARGETS), **extra, **common)
        for kind, extra in kinds.items()
    ])


@settings(max_examples=40, deadline=None)
@given(st.lists(sensor_faults(), max_size=4), st.integers(0, 2**31 - 1))
def test_ground_truth_is_never_altered(faults: list[FaultSpec], seed: int) -> None:
    published = run(faults, 2.0, seed)
    truth = of(published, GroundTruthReading)
    assert [(at, r) for at, r in truth] == [
        (t, reading(GroundTruthReading, t)) for t in produced(GroundTruthReading, 2.0)]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SENSOR_TARGETS), st.floats(0.0, 1.5), st.floats(0.0, 1.0))
def test_silence_publishes_nothing_inside_and_everything_outside(
    target: str, start_s: float, duration_s: float
) -> None:
    fault = FaultSpec('silence', target, start_s, duration_s)
    published = run([fault], 2.0)
    kind = TYPE_OF[target]
    assert stamps(published, kind) == [t for t in produced(kind, 2.0) if not fault.active(t)]
    for other in set(EVERY) - {kind}:
        assert stamps(published, other) == produced(other, 2.0)


@settings(max_examples=20, deadline=None)
@given(st.lists(sensor_faults(), max_size=4), st.integers(0, 2**31 - 1))
def test_same_seed_same_published_streams(faults: list[FaultSpec], seed: int) -> None:
    digests = []
    for _ in range(2):
        digest = StreamDigests()
        for at, r in run(faults, 1.5, seed):
            digest.add(at, r)
        digests.append(digest.hexdigests())
    assert digests[0] == digests[1]


def test_different_seed_different_noise() -> None:
    faults = [FaultSpec('noise', 'lidar', 0.5, std=0.1)]
    a, b = (of(run(faults, 1.0, seed), ScanReading)[-1][1] for seed in (1, 2))
    assert not np.array_equal(a.ranges, b.ranges, equal_nan=True)


def test_a_fault_does_not_shift_the_draws_of_another() -> None:
    noise = FaultSpec('noise', 'imu', 0.5, std=0.1)
    alone = of(run([noise], 1.0, seed=9), ImuReading)
    with_drop_after = of(run([noise, FaultSpec('drop', 'lidar', 0.0, probability=0.5)], 1.0,
                             seed=9), ImuReading)
    assert alone == with_drop_after


def test_report_lists_every_fault_as_strict_json() -> None:
    faults = [FaultSpec('silence', 'lidar', 1.0, 0.5),
              FaultSpec('lie', 'lidar', 2.5, mode='constant', value=math.inf),
              FaultSpec('drop', 'imu', 9.0, probability=0.5),
              FaultSpec('kill', 'controller', 1.0),
              FaultSpec('cut_link', 'cloud', 1.0, 2.0)]
    entries = report(faults, 3.0)
    json.dumps(entries, allow_nan=False)
    assert [e['index'] for e in entries] == [0, 1, 2, 3, 4]
    assert entries[0] == {
        'index': 0, 'type': 'silence', 'target': 'lidar', 'start_s': 1.0, 'duration_s': 0.5,
        'params': {}, 'injected_by': 'twin', 'affected': 5, 'first_affected_s': 1.0,
        'last_affected_s': 1.4,
    }
    assert entries[1]['params'] == {'mode': 'constant', 'value': 'inf'}
    assert (entries[1]['affected'], entries[1]['first_affected_s']) == (6, 2.5)  # 2.5 .. 3.0
    assert entries[2]['affected'] == 0 and entries[2]['first_affected_s'] is None
    assert entries[3]['injected_by'] == 'scenario_runner' and entries[3]['affected'] is None
    assert entries[4]['injected_by'] == 'cloud_sync' and entries[4]['duration_s'] == 2.0


def test_published_hashes_equal_the_twins_own_without_faults() -> None:
    world = parse_world({'world': {'name': 'w', 'obstacles': [
        {'type': 'wall', 'from': [2.0, -3.0], 'to': [2.0, 3.0], 'thickness': 0.2}]}}, 'test')
    twin = Twin(world, from_flat({'camera.rate_hz': 15}), 3, Pose2D(0, 0, 0),
                REPO / 'sim' / 'robot' / 'diff_drive.urdf')
    try:
        injector, published = FaultInjector([], 3), StreamDigests()
        twin.set_command(Velocity(0.3, 0.2))
        for _ in range(60):
            readings = twin.step()
            published.add_all(twin.time_ns, injector.apply(twin.time_ns, readings))
        assert published.hexdigests() == twin.stream_hashes()
        assert set(published.hexdigests()) == {'ImuReading', 'OdomReading', 'ScanReading',
                                                'GroundTruthReading', 'ImageReading'}
    finally:
        twin.close()
