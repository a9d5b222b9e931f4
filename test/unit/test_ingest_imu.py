"""IMU validation: finite values, unit quaternion (unless absent), gravity band."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo_edge.ingest.imu import ImuFrame, ImuLimits, imu_values, provided, validate_imu
from robo_edge.ingest.verdict import DropReason

LIMITS = ImuLimits(gravity_min=7.0, gravity_max=12.5, quaternion_tolerance=0.01)
NO_DATA = np.array([-1.0] + [0.0] * 8)


def imu(
    orientation=(0.0, 0.0, 0.0, 1.0),
    gyro=(0.0, 0.0, 0.1),
    accel=(0.0, 0.0, 9.81),
    orientation_cov=None,
    accel_cov=None,
):
    zeros = np.zeros(9)
    return ImuFrame(
        orientation=np.array(orientation, dtype=float),
        orientation_covariance=zeros if orientation_cov is None else orientation_cov,
        angular_velocity=np.array(gyro, dtype=float),
        angular_velocity_covariance=zeros,
        linear_acceleration=np.array(accel, dtype=float),
        linear_acceleration_covariance=zeros if accel_cov is None else accel_cov,
    )


def test_valid_sample_passes():
    assert validate_imu(imu(), LIMITS).ok


@pytest.mark.parametrize('field', ['orientation', 'gyro', 'accel'])
def test_nan_anywhere_is_a_nan_drop(field):
    values = {
        'orientation': (0.0, math.nan, 0.0, 1.0),
        'gyro': (math.nan, 0.0, 0.0),
        'accel': (0.0, 0.0, math.nan),
    }
    verdict = validate_imu(imu(**{field: values[field]}), LIMITS)
    assert verdict.reason is DropReason.NAN


def test_infinity_is_a_non_finite_drop():
    verdict = validate_imu(imu(gyro=(math.inf, 0.0, 0.0)), LIMITS)
    assert verdict.reason is DropReason.NON_FINITE


def test_nan_covariance_is_a_nan_drop():
    cov = np.zeros(9)
    cov[4] = math.nan
    assert validate_imu(imu(accel_cov=cov), LIMITS).reason is DropReason.NAN


def test_unnormalised_quaternion_is_dropped():
    verdict = validate_imu(imu(orientation=(0.0, 0.0, 0.0, 1.1)), LIMITS)
    assert verdict.reason is DropReason.QUATERNION
    assert '1.1000' in verdict.detail


def test_absent_orientation_is_not_checked():
    sample = imu(orientation=(0.0, 0.0, 0.0, 0.0), orientation_cov=NO_DATA)
    assert not provided(NO_DATA)
    assert validate_imu(sample, LIMITS).ok
    garbage = imu(orientation=(math.nan, 0.0, 0.0, 0.0), orientation_cov=NO_DATA)
    assert validate_imu(garbage, LIMITS).ok


@pytest.mark.parametrize(
    'accel', [(0.0, 0.0, 0.0), (0.0, 0.0, 6.9), (0.0, 0.0, 12.6), (20.0, 0.0, 9.81)]
)
def test_implausible_gravity_is_dropped(accel):
    verdict = validate_imu(imu(accel=accel), LIMITS)
    assert verdict.reason is DropReason.GRAVITY


def test_gravity_band_edges_pass():
    assert validate_imu(imu(accel=(0.0, 0.0, 7.0)), LIMITS).ok
    assert validate_imu(imu(accel=(0.0, 7.0, 10.0)), LIMITS).ok


def test_absent_acceleration_skips_the_gravity_check():
    assert validate_imu(imu(accel=(0.0, 0.0, 0.0), accel_cov=NO_DATA), LIMITS).ok


def test_values_hash_input_is_the_ten_readings():
    assert imu_values(imu()).shape == (10,)


VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.0, 9.81]),
)
VEC3 = st.tuples(VALUE, VALUE, VALUE)


@given(st.tuples(VALUE, VALUE, VALUE, VALUE), VEC3, VEC3, st.booleans())
def test_random_samples_always_get_the_right_verdict(orientation, gyro, accel, has_orientation):
    cov = None if has_orientation else NO_DATA
    verdict = validate_imu(imu(orientation, gyro, accel, orientation_cov=cov), LIMITS)
    checked = list(gyro) + list(accel) + (list(orientation) if has_orientation else [])
    if any(math.isnan(v) for v in checked):
        assert verdict.reason is DropReason.NAN
    elif any(math.isinf(v) for v in checked):
        assert verdict.reason is DropReason.NON_FINITE
    else:
        assert verdict.ok or verdict.reason in (DropReason.QUATERNION, DropReason.GRAVITY)
        if verdict.ok:
            assert 7.0 <= math.hypot(*accel) <= 12.5
