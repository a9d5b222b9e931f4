"""Validation of laser scans with REP 117 semantics.

NaN is an invalid reading; +inf and -inf are valid "no return" readings. A scan whose share of
NaN beams exceeds a limit is dropped; otherwise its NaN beams are counted and it passes.
"""

import math
from dataclasses import dataclass

import numpy as np

from robo_edge.ingest.verdict import DropReason, Verdict, drop

# Drivers disagree on whether angle_max is the last beam or one increment past it.
_BEAM_COUNT_SLACK = 1.0


@dataclass(frozen=True, slots=True)
class ScanFrame:
    """The fields of a sensor_msgs/LaserScan that validation reads."""

    angle_min: float
    angle_max: float
    angle_increment: float
    range_min: float
    range_max: float
    ranges: np.ndarray
    intensities_len: int


def validate_scan(frame: ScanFrame, nan_fraction_max: float) -> Verdict:
    """Return ACCEPT (with the NaN count) or why the scan is unusable."""
    problem = _geometry_problem(frame)
    if problem:
        return drop(DropReason.STRUCTURE, problem)
    beams = len(frame.ranges)
    if frame.intensities_len not in (0, beams):
        return drop(
            DropReason.STRUCTURE, f'{frame.intensities_len} intensities for {beams} ranges'
        )
    nan_count = int(np.count_nonzero(np.isnan(frame.ranges)))
    if nan_count > nan_fraction_max * beams:
        return drop(
            DropReason.NAN,
            f'{nan_count} of {beams} beams NaN (share {nan_count / beams:.2f} > '
            f'{nan_fraction_max:.2f})',
        )
    return Verdict(nan_count=nan_count)


def expected_beams(angle_min: float, angle_max: float, angle_increment: float) -> float:
    """Return the beam count the angles describe (not rounded); NaN when they describe none."""
    if not math.isfinite(angle_increment) or angle_increment == 0.0:
        return math.nan
    return (angle_max - angle_min) / angle_increment + 1.0


def _geometry_problem(frame: ScanFrame) -> str:
    angles = (frame.angle_min, frame.angle_max, frame.angle_increment)
    if not all(math.isfinite(a) for a in angles) or frame.angle_increment == 0.0:
        return f'angles min/max/increment {angles} not finite or increment zero'
    if not (math.isfinite(frame.range_min) and math.isfinite(frame.range_max)):
        return f'range limits {frame.range_min}..{frame.range_max} not finite'
    if not 0.0 <= frame.range_min < frame.range_max:
        return f'range limits {frame.range_min}..{frame.range_max} not 0 <= min < max'
    expected = expected_beams(frame.angle_min, frame.angle_max, frame.angle_increment)
    beams = len(frame.ranges)
    if beams == 0 or not math.isfinite(expected) or expected < 1.0:
        return f'{beams} ranges, angles describe {expected:.1f} beams'
    if abs(beams - expected) > _BEAM_COUNT_SLACK:
        return f'{beams} ranges, angles describe {expected:.1f} beams'
    return ''
