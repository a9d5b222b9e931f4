"""The cross-check that finds a lying scan: the LiDAR against the perception virtual scan.

(The IMU against odometry: robo_edge/breakers/yaw_check.py.)

Scans: both are put on common bearings about base_link (bins of `bin_deg`; each bin holds its
nearest return), only where both look (the overlap of their fields of view). Normal
disagreement is tolerated by robust statistics: the median absolute difference over bins where
both see something within `max_range`, and the share of bins where one sees an obstacle within
`obstacle_range` while the other misses it: the camera when it sees nothing within
`obstacle_range + free_margin`, the LiDAR when it sees nothing up to `free_margin` behind the
camera's obstacle (a phantom painted in front of a wall hides nothing but the wall). A camera
that misses obstacles is suspect at a smaller share than a LiDAR that does: a planar LiDAR
misses what lies below its plane or between its beams, while a camera looks at the whole floor
and a healthy model misses almost nothing (a band of the image painted as floor misses a fifth
to a half of the view). The outermost `edge_bins` of the camera's view are left out (floors
are misread at the edge of the image). The statistics name the scan that misses obstacles, or
reports them farther, as the suspect; they cannot say who lies: the third votes
(robo_edge/breakers/arbiter.py) decide.
Ranges follow REP 117 (NaN invalid, +inf no return, -inf closer than `range_min`, kept at
`range_min`).
"""

import math
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from robo_edge.breakers.faults import NS_PER_S, Fault, Source, TripReason
from robo_edge.breakers.params import param
from robo_edge.robot.kinematics import Pose2D

if TYPE_CHECKING:
    from robo_edge.breakers.arbiter import Decision
    from robo_edge.breakers.votes import Vote

_ORIGIN = Pose2D(0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class BeamScan:
    """A planar scan (LaserScan's fields) and its sensor's mount in base_link."""

    angle_min: float
    angle_increment: float
    ranges: np.ndarray
    range_min: float = 0.0
    range_max: float = math.inf
    mount: Pose2D = field(default=_ORIGIN)


@dataclass(frozen=True, slots=True)
class ScanCheckConfig:
    """Thresholds of the LiDAR / virtual scan comparison (metres, seconds)."""

    bin_deg: float = param(2.0, 'width of the common bearing bins (deg)', 0.1, 90.0)
    max_range: float = param(5.0, 'ranges compared for the median difference (m)', 0.1)
    obstacle_range: float = param(3.0, 'an obstacle within this (m) must be seen by both', 0.1)
    free_margin: float = param(1.0, '...the other misses it when it sees nothing within '
                                    'obstacle_range + this (m; the LiDAR: within the '
                                    "camera's range + this)", 0.0)
    max_median_diff: float = param(0.3, 'suspect above this median |difference| (m)', 0.0)
    max_miss_fraction: float = param(0.25, "LiDAR suspect above this share of the camera's "
                                           'obstacle bins it misses', 0.0, 1.0)
    max_virtual_miss_fraction: float = param(0.15, 'camera suspect above this share of the '
                                                  "LiDAR's obstacle bins it misses", 0.0, 1.0)
    min_bins: int = param(5, 'bins needed for a conclusive median difference', 1)
    min_virtual_bins: int = param(10, '...and to suspect the camera on it (a sliver of the '
                                      'view is no evidence against it)', 1)
    edge_bins: int = param(1, 'bins at each edge of the camera view left out', 0)
    min_obstacle_bins: int = param(10, 'bins of obstacle needed for a conclusive miss share', 1)
    fail_count: int = param(5, 'consecutive failing comparisons before blaming', 1)
    phantom_fail_count: int = param(10, 'decisions blaming a camera for obstacles only it '
                                        'sees, on the odometry vote, that blame it...', 1)
    phantom_window_s: float = param(2.0, '...within this window (s)', 0.1)
    window_s: float = param(1.0, 'failures older than this are forgotten', 0.0)


class ScanVerdict(Enum):
    """The outcome of one comparison."""

    AGREE = 'agree'
    LIDAR_SUSPECT = 'lidar_suspect'
    VIRTUAL_SUSPECT = 'virtual_suspect'
    INCONCLUSIVE = 'inconclusive'


@dataclass(frozen=True, slots=True)
class ScanComparison:
    """One comparison: the verdict and the statistics behind it."""

    verdict: ScanVerdict
    overlap_bins: int
    compared_bins: int
    median_abs_diff: float
    median_diff: float  # LiDAR minus virtual: > 0 when the LiDAR sees things farther
    lidar_miss_fraction: float
    virtual_miss_fraction: float

    def detail(self) -> str:
        """Return the statistics as one line."""
        return (f'{self.verdict.value}: median |diff| {self.median_abs_diff:.2f} m over '
                f'{self.compared_bins} bins, lidar misses {self.lidar_miss_fraction:.0%}, '
                f'virtual misses {self.virtual_miss_fraction:.0%}')


def bin_scan(scan: BeamScan, bin_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """Return per bearing bin about base_link: the nearest return (inf: none) and 'looked'."""
    bins = int(math.ceil(2 * math.pi / bin_rad))
    r = np.asarray(scan.ranges, dtype=np.float64)
    angles = scan.angle_min + scan.angle_increment * np.arange(r.size) + scan.mount.yaw
    r = np.where(np.isneginf(r), scan.range_min, r)
    finite = np.isfinite(r) & (r >= scan.range_min) & (r <= scan.range_max)
    free = np.isposinf(r)
    x = scan.mount.x + np.where(finite, r, 0.0) * np.cos(angles)
    y = scan.mount.y + np.where(finite, r, 0.0) * np.sin(angles)
    bearing = np.where(finite, np.arctan2(y, x), angles)
    index = bearing_bins(bearing, bin_rad)
    looked = np.zeros(bins, dtype=bool)
    looked[index[finite | free]] = True
    nearest = np.full(bins, np.inf)
    np.minimum.at(nearest, index[finite], np.hypot(x[finite], y[finite]))
    return nearest, looked


def bearing_bins(bearing: np.ndarray, bin_rad: float) -> np.ndarray:
    """Return the common bearing bin of each bearing (rad about base_link)."""
    bins = int(math.ceil(2 * math.pi / bin_rad))
    return np.floor((bearing + math.pi) / bin_rad).astype(np.int64) % bins


def compare_scans(lidar: BeamScan, virtual: BeamScan, config: ScanCheckConfig) -> ScanComparison:
    """Compare a LiDAR scan with the perception virtual scan where both look."""
    bin_rad = math.radians(config.bin_deg)
    near_l, looked_l = bin_scan(lidar, bin_rad)
    near_v, looked_v = bin_scan(virtual, bin_rad)
    seen = looked_v  # erode the camera's arc at both ends
    for k in range(1, config.edge_bins + 1):
        looked_v = looked_v & np.roll(seen, k) & np.roll(seen, -k)
    both = looked_l & looked_v
    near_l, near_v = near_l[both], near_v[both]
    free_beyond = config.obstacle_range + config.free_margin
    l_sees, v_sees = near_l <= config.obstacle_range, near_v <= config.obstacle_range
    # A miss share needs an obstacle over several bins: a thin pole one sensor resolves and
    # the other does not (a few pixels, or between beams) is coverage, not a lie.
    # The LiDAR misses a camera obstacle when it sees nothing up to free_margin behind it: a
    # phantom in front of a wall is missed as much as one in open space.
    lidar_misses = _share(v_sees & (near_l > near_v + config.free_margin), v_sees,
                          config.min_obstacle_bins)
    virtual_misses = _share(l_sees & (near_v > free_beyond), l_sees, config.min_obstacle_bins)
    compared = (near_l <= config.max_range) & (near_v <= config.max_range)
    diffs = near_l[compared] - near_v[compared]
    mad = float(np.median(np.abs(diffs))) if diffs.size else math.nan
    median = float(np.median(diffs)) if diffs.size else math.nan
    enough = diffs.size >= config.min_bins
    if lidar_misses > config.max_miss_fraction:
        verdict = ScanVerdict.LIDAR_SUSPECT
    elif virtual_misses > config.max_virtual_miss_fraction:
        verdict = ScanVerdict.VIRTUAL_SUSPECT
    elif enough and mad > config.max_median_diff and median > 0:
        verdict = ScanVerdict.LIDAR_SUSPECT
    elif enough and mad > config.max_median_diff:
        camera = diffs.size >= config.min_virtual_bins
        verdict = ScanVerdict.VIRTUAL_SUSPECT if camera else ScanVerdict.INCONCLUSIVE
    elif enough or not (math.isnan(lidar_misses) and math.isnan(virtual_misses)):
        verdict = ScanVerdict.AGREE
    else:
        verdict = ScanVerdict.INCONCLUSIVE
    return ScanComparison(verdict, int(both.sum()), int(diffs.size), mad, median,
                          lidar_misses, virtual_misses)


def _share(hits: np.ndarray, among: np.ndarray, min_bins: int) -> float:
    """Return hits / among, NaN (no evidence) when `among` counts fewer than `min_bins`."""
    total = int(among.sum())
    return int(hits.sum()) / total if total >= min_bins else math.nan


class ScanCrossCheck:
    """Blames a scan after `fail_count` decisions against it in a row (agreement clears).

    It takes decisions (robo_edge/breakers/arbiter.py), not raw comparisons: who is blamed is
    decided by the third votes, and the fault names the vote that decided. A camera blamed on
    the odometry vote for obstacles only it sees (a phantom: they move with the robot) is
    counted apart: `phantom_fail_count` such decisions within `phantom_window_s`, agreement in
    between allowed. That error fails safe (the union keeps the obstacle), so one spot where a
    model sees things briefly does not condemn the camera; and a phantom hides behind real
    obstacles in some views, which a count in a row would restart at.
    """

    def __init__(self, config: ScanCheckConfig) -> None:
        self.config = config
        self._window_ns = round(config.window_s * NS_PER_S)
        self._phantom_window_ns = round(config.phantom_window_s * NS_PER_S)
        self._suspect: ScanVerdict | None = None
        self._count = 0
        self._last_fail_ns = 0
        self._phantoms: deque[int] = deque()
        self.last = None  # the last Decision
        self.decided_by: dict[str, int] = {}

    def observe(self, now_ns: int, decision: 'Decision') -> tuple[Source, Fault] | None:
        """Take one decision; return (the blamed source, its fault) once the blame holds."""
        self.last = decision
        if decision.verdict is not ScanVerdict.AGREE or decision.decided_by != 'scans':
            self.decided_by[decision.decided_by] = self.decided_by.get(decision.decided_by, 0) + 1
        verdict = decision.verdict
        if is_phantom(decision):
            return self._phantom(now_ns, decision.detail())
        if verdict is ScanVerdict.INCONCLUSIVE:
            return None
        if verdict is ScanVerdict.AGREE:
            self._suspect, self._count = None, 0
            return None
        expired = now_ns - self._last_fail_ns > self._window_ns
        if verdict is not self._suspect or expired:
            self._suspect, self._count = verdict, 0
        self._count += 1
        self._last_fail_ns = now_ns
        if self._count < self.config.fail_count:
            return None
        source = Source.LIDAR if verdict is ScanVerdict.LIDAR_SUSPECT else Source.PERCEPTION
        return source, Fault(TripReason.CROSS_CHECK,
                             f'{self._count} scan comparisons failed; {decision.detail()}')

    def observe_alone(self, now_ns: int, vote: 'Vote') -> tuple[Source, Fault] | None:
        """Take the odometry vote on a virtual scan with no LiDAR to compare it with.

        A contradiction (obstacles riding along with the robot) counts as a phantom decision.
        """
        if vote.agrees is not False:
            return None
        self.decided_by['odometry_alone'] = self.decided_by.get('odometry_alone', 0) + 1
        return self._phantom(now_ns, f'no LiDAR to compare; {vote.detail("odometry alone")}')

    def _phantom(self, now_ns: int, detail: str) -> tuple[Source, Fault] | None:
        """Count a phantom decision; blame the camera once enough fall within the window."""
        self._phantoms.append(now_ns)
        while self._phantoms[0] < now_ns - self._phantom_window_ns:
            self._phantoms.popleft()
        if len(self._phantoms) < self.config.phantom_fail_count:
            return None
        return Source.PERCEPTION, Fault(
            TripReason.CROSS_CHECK, f'{len(self._phantoms)} scan comparisons failed within '
                                    f'{self.config.phantom_window_s:g} s; {detail}')


def is_phantom(decision: 'Decision') -> bool:
    """Whether a decision blames the camera, on the odometry vote, for obstacles only it sees."""
    return (decision.verdict is ScanVerdict.VIRTUAL_SUSPECT
            and decision.comparison.verdict is ScanVerdict.LIDAR_SUSPECT
            and decision.decided_by == 'odometry')
