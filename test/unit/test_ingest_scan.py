"""Scan validation with REP 117 semantics: inf is a valid no-return, NaN is invalid."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo_edge.ingest.scan import ScanFrame, expected_beams, validate_scan
from robo_edge.ingest.verdict import DropReason


def scan(ranges, angle_min=-1.0, increment=None, range_min=0.1, range_max=10.0, intensities=0):
    ranges = np.asarray(ranges, dtype=np.float32)
    increment = 0.01 if increment is None else increment
    angle_max = angle_min + increment * (len(ranges) - 1)
    return ScanFrame(angle_min, angle_max, increment, range_min, range_max, ranges, intensities)


def test_infinities_are_valid_no_returns():
    verdict = validate_scan(scan([1.0, math.inf, -math.inf, 2.0]), 0.5)
    assert verdict.ok
    assert verdict.nan_count == 0


def test_nan_beams_are_counted_below_the_limit():
    verdict = validate_scan(scan([1.0, math.nan, 2.0, 3.0]), 0.5)
    assert verdict.ok
    assert verdict.nan_count == 1


def test_scan_over_the_nan_share_is_dropped():
    verdict = validate_scan(scan([math.nan, math.nan, math.nan, 3.0]), 0.5)
    assert verdict.reason is DropReason.NAN
    assert '3 of 4' in verdict.detail


def test_nan_share_exactly_at_the_limit_passes():
    assert validate_scan(scan([math.nan, math.nan, 1.0, 2.0]), 0.5).ok


def test_beam_count_tolerates_both_driver_conventions():
    ranges = np.ones(100, dtype=np.float32)
    last_beam = ScanFrame(0.0, 0.99, 0.01, 0.1, 10.0, ranges, 0)
    one_past = ScanFrame(0.0, 1.0, 0.01, 0.1, 10.0, ranges, 0)
    assert validate_scan(last_beam, 0.5).ok
    assert validate_scan(one_past, 0.5).ok


def test_wrong_beam_count_is_a_structure_drop():
    frame = ScanFrame(0.0, 0.99, 0.01, 0.1, 10.0, np.ones(90, dtype=np.float32), 0)
    verdict = validate_scan(frame, 0.5)
    assert verdict.reason is DropReason.STRUCTURE
    assert '90 ranges' in verdict.detail


@pytest.mark.parametrize('increment', [0.0, math.nan, math.inf])
def test_bad_increment_is_a_structure_drop(increment):
    frame = ScanFrame(0.0, 1.0, increment, 0.1, 10.0, np.ones(10, dtype=np.float32), 0)
    assert validate_scan(frame, 0.5).reason is DropReason.STRUCTURE


@pytest.mark.parametrize(
    ('range_min', 'range_max'),
    [(5.0, 5.0), (6.0, 5.0), (-1.0, 5.0), (0.1, math.inf), (math.nan, 5.0)],
)
def test_bad_range_limits_are_a_structure_drop(range_min, range_max):
    verdict = validate_scan(scan([1.0, 2.0], range_min=range_min, range_max=range_max), 0.5)
    assert verdict.reason is DropReason.STRUCTURE


def test_intensities_must_be_empty_or_one_per_beam():
    assert validate_scan(scan([1.0, 2.0], intensities=2), 0.5).ok
    assert validate_scan(scan([1.0, 2.0], intensities=0), 0.5).ok
    assert validate_scan(scan([1.0, 2.0], intensities=1), 0.5).reason is DropReason.STRUCTURE


def test_empty_scan_is_a_structure_drop():
    frame = ScanFrame(0.0, 0.0, 0.01, 0.1, 10.0, np.zeros(0, dtype=np.float32), 0)
    assert validate_scan(frame, 0.5).reason is DropReason.STRUCTURE


def test_reversed_scan_direction_is_valid():
    frame = ScanFrame(1.0, 0.0, -0.1, 0.1, 10.0, np.ones(11, dtype=np.float32), 0)
    assert validate_scan(frame, 0.5).ok
    assert expected_beams(1.0, 0.0, -0.1) == pytest.approx(11.0)


READING = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.5, 30.0, -2.0])


@given(st.lists(READING, min_size=1, max_size=400), st.floats(0.0, 1.0))
def test_random_nan_and_inf_patterns(readings, nan_fraction_max):
    verdict = validate_scan(scan(readings), nan_fraction_max)
    nan_count = sum(math.isnan(r) for r in readings)
    if nan_count > nan_fraction_max * len(readings):
        assert verdict.reason is DropReason.NAN
    else:
        assert verdict.ok
        assert verdict.nan_count == nan_count


ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


@given(
    ANY_FLOAT,
    ANY_FLOAT,
    ANY_FLOAT,
    ANY_FLOAT,
    ANY_FLOAT,
    st.lists(st.floats(width=32), max_size=50),
    st.integers(0, 60),
)
def test_random_scans_always_get_a_verdict(a_min, a_max, inc, r_min, r_max, ranges, n_int):
    frame = ScanFrame(a_min, a_max, inc, r_min, r_max, np.asarray(ranges, np.float32), n_int)
    verdict = validate_scan(frame, 0.5)
    assert verdict.ok or verdict.reason in (DropReason.STRUCTURE, DropReason.NAN)
    assert verdict.ok or verdict.detail
