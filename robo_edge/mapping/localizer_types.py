"""What the localiser takes and gives: its parameters, a scan, a match's result (pure)."""

from dataclasses import dataclass

import numpy as np

from robo_edge.mapping.fusion import FusionParams
from robo_edge.robot.kinematics import Pose2D

# Why a match was not used (the empty reason means accepted).
ACCEPTED = ''
UNTRUSTED_FRAME = 'untrusted_frame'
NARROW_FOV = 'narrow_fov'
FEW_POINTS = 'few_points'
FEW_INLIERS = 'few_inliers'
DEGENERATE = 'degenerate'
PARTIAL = 'partial'  # accepted across a corridor (and in yaw), dead reckoning along it
JUMP = 'jump'
DISABLED = 'disabled'
OPPOSITE = 0.2  # a cell's mean view this far along the normal, on the other side: far face


@dataclass(frozen=True, slots=True)
class LocalizerParams:
    """Search window, likelihood field, refinement and acceptance bounds."""

    trusted_frames: tuple[str, ...] = ('laser',)
    min_fov: float = 4.0  # rad covered by the scan's beams (a LiDAR, not a camera's scan)
    min_points: int = 60  # valid returns used for matching
    max_range: float = 10.0  # returns beyond this are not matched (m)
    occupied_log_odds: float = 0.4  # a cell above this is a wall for the field
    sigma: float = 0.1  # likelihood field width (m)
    search_cells: int = 2  # x and y candidates: +-this many cells
    search_yaw: float = 0.05  # yaw candidates over +-this (rad)
    yaw_step: float = 0.0125
    search_points: int = 120  # the search scores about this many of the returns
    search_sigma: float = 0.1  # the search runs only when dead reckoning is this uncertain (m)
    max_distance: float = 0.3  # points farther than this from the map do not pull (m)
    # Match only cells the LiDAR has returned from: a seeded prior (a survey) says a cell is
    # occupied, not where in it the surface is, and matching its centres dragged the pose.
    observed_only: bool = True
    iterations: int = 8
    inlier_distance: float = 0.15  # m
    min_inlier_fraction: float = 0.5
    min_information: float = 0.05  # smallest eigenvalue of the matched returns' mean n n^T
    min_partial_information: float = 0.3  # largest one, for a partial update (a corridor)
    translation_prior: float = 0.1  # the search's penalty width for a shift (m)
    rotation_prior: float = 0.05  # and for a turn (rad)
    max_neighbour_gap: float = 0.5  # neighbouring returns farther apart give no normal (m)
    max_jump: float = 0.25  # accepted shift from the prediction (m)
    max_jump_yaw: float = 0.1  # rad
    # Dead reckoning's honest uncertainty since the last good match (sigma grows linearly:
    # the twin's wheel noise drifts up to ~0.7% of the distance; 1% is a margin over it).
    drift_per_m: float = 0.01  # position sigma per metre travelled (m/m)
    yaw_drift_per_rad: float = 0.02  # heading sigma per radian turned
    yaw_drift_per_m: float = 0.005  # heading sigma per metre travelled (rad/m)
    initial_sigma: float = 0.02  # of the start pose (m)
    initial_sigma_yaw: float = 0.01  # rad
    min_sigma: float = 0.01  # a match is never trusted below this (m; yaw: a tenth, rad)
    # A match is weighed against dead reckoning (robo_edge/mapping/fusion.py): the floors of
    # its noise, the innovation gate and the slip test.
    fusion: FusionParams = FusionParams()


@dataclass(frozen=True, slots=True)
class ScanData:
    """A LaserScan in core terms: ranges (REP 117), beam angles and the frame it came in."""

    ranges: np.ndarray
    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float
    frame_id: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What one scan did: the base pose in map, the correction now held, and the match."""

    accepted: bool
    reason: str
    pose: Pose2D  # base in map (matched when accepted, else predicted)
    correction: Pose2D  # odom in map, held for the next scans
    points: int  # valid returns used
    inlier_fraction: float
    score: float  # mean likelihood of the points at the matched pose, 0..1
    information: float  # smallest eigenvalue of the mean n n^T of the matched returns' normals
    shift: tuple[float, float, float]  # matched minus predicted (x, y, yaw)
    covariance: tuple[float, float, float]  # variances of x, y, yaw (m^2, m^2, rad^2)
