"""Third votes for the LiDAR / camera cross-check: evidence one camera cannot fake (pure).

Two sensors with different blind spots disagree in ordinary driving, so a disagreement alone
says nobody lies. Who does is decided by evidence outside the pair:

- `map_vote`: the LiDAR against the map built so far. Beams that pass through cells the map
  knows to be occupied, or end in cells it knows to be free, contradict it. A LiDAR lying +inf
  sees through walls; one lying by an offset ends behind walls or in free space. A healthy
  LiDAR at a well-localised pose contradicts almost nothing (a tolerance absorbs pose error).
- `motion_vote`: the virtual scan against odometry. The world is static: obstacles the camera
  saw some way back, moved by the odometry delta, must be where it sees them now. An obstacle
  painted at a fixed place in the image moves with the robot and fails this. The vote is cast
  on the obstacles in dispute (those the LiDAR does not see), and only on those the earlier
  scan looked at: walls both sensors see would outvote a phantom, and an obstacle that came
  into view is not one that moved.
- the perception model's own health (its breaker's detectors), passed in as a boolean.

Each vote is True (agrees), False (contradicts) or None (no evidence: no map yet, a map that
knows nothing along the beams, a robot that has not moved).
"""

import math
from dataclasses import dataclass

import numpy as np

from robo_edge.breakers.params import param
from robo_edge.robot.grid import OCCUPIED_THRESHOLD, Grid
from robo_edge.robot.kinematics import Pose2D

FREE = 25  # at or below (and >= 0): free


@dataclass(frozen=True, slots=True)
class VoteConfig:
    """Thresholds of the third votes (metres, fractions)."""

    map_max_range: float = param(8.0, 'beams are checked against the map this far (m)', 0.5)
    map_tolerance: float = param(0.25, 'occupied or free cells this close to a return are '
                                       'not a contradiction (pose error, m)', 0.0)
    map_max_contradiction: float = param(0.25, 'the LiDAR contradicts the map above this share '
                                               'of checked beams', 0.0, 1.0)
    map_min_beams: int = param(30, 'beams crossing known cells needed for a map vote', 1)
    motion_min_travel: float = param(0.3, 'odometry travel needed for a motion vote (m)', 0.0)
    motion_max_turn: float = param(0.35, 'no motion vote across a larger turn (rad)', 0.0)
    motion_max_range: float = param(3.0, 'virtual returns compared (m)', 0.1)
    motion_max_median: float = param(0.2, 'the virtual scan moves with the robot above this '
                                          'median mismatch (m)', 0.0)
    motion_min_points: int = param(8, 'returns needed in each scan for a motion vote', 1)
    motion_window_s: float = param(0.6, 'youngest age of the earlier virtual scan (s)', 0.05)
    motion_max_age_s: float = param(3.0, 'oldest age of the earlier virtual scan (s)', 0.05)
    motion_corroboration: float = param(0.3, 'a LiDAR return this close (m) or nearer on a '
                                             "camera obstacle's bearing corroborates it", 0.0)
    motion_bin_deg: float = param(2.0, 'bearing bins of that corroboration (deg)', 0.1, 90.0)
    motion_view_margin: float = param(0.05, "points this close to the earlier scan's edge of "
                                            'view (rad) are not compared', 0.0)
    solo_stuck: float = param(0.1, 'with no LiDAR to dispute: a point this close (m) to one '
                                   'the earlier scan had at the same place on the robot...', 0.0)
    solo_min_range: float = param(0.8, 'nearer points are not compared with no LiDAR: an '
                                       "obstacle nearer than the camera's nearest visible floor "
                                       'reads at the bottom of the image, riding along (m)', 0.0)
    solo_max_share: float = param(0.15, "...and not where odometry moved the earlier scan's "
                                        'points: the camera contradicts a static world above '
                                        'this share of compared points', 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Sighting:
    """A virtual scan's obstacle points (N x 2, base_link) at an odometry pose, and its view."""

    points: np.ndarray
    pose: Pose2D
    bearings: tuple[float, float] = (-math.pi, math.pi)  # looked at, about `origin`
    range_max: float = math.inf  # ...this far from `origin`
    origin: tuple[float, float] = (0.0, 0.0)  # the sensor's place in base_link


@dataclass(frozen=True, slots=True)
class Vote:
    """One vote and the figures behind it."""

    agrees: bool | None
    value: float  # contradiction share (map) or median mismatch in metres (motion)
    samples: int  # beams (map) or returns (motion) that counted

    def detail(self, name: str) -> str:
        """Return the vote as text."""
        verdict = {True: 'agrees', False: 'contradicts', None: 'no evidence'}[self.agrees]
        return f'{name} {verdict} ({self.value:.2f} over {self.samples})'


def map_vote(grid: Grid, laser: Pose2D, ranges: np.ndarray, angle_min: float,
             angle_increment: float, config: VoteConfig) -> Vote:
    """Return whether a LiDAR scan taken at `laser` (pose in map) agrees with the map."""
    r = np.asarray(ranges, dtype=np.float64)
    reach = np.where(np.isposinf(r), config.map_max_range, np.minimum(r, config.map_max_range))
    usable = ~np.isnan(r) & ~np.isneginf(r)
    step = grid.resolution / 2
    steps = np.arange(step, config.map_max_range + step, step)
    angles = laser.yaw + angle_min + angle_increment * np.arange(r.size)
    xs = laser.x + np.cos(angles)[:, None] * steps[None, :]
    ys = laser.y + np.sin(angles)[:, None] * steps[None, :]
    cells = _values_at(grid, xs, ys)
    before = steps[None, :] <= (reach - config.map_tolerance)[:, None]
    known = np.any((cells >= 0) & before, axis=1)
    see_through = np.any((cells >= OCCUPIED_THRESHOLD) & before, axis=1)
    near_end = np.abs(steps[None, :] - r[:, None]) <= config.map_tolerance
    end_cells = np.where(near_end, cells, 0)
    ends_free = (np.isfinite(r) & (r < config.map_max_range)
                 & np.all(~near_end | ((end_cells >= 0) & (end_cells <= FREE)), axis=1)
                 & np.any(near_end, axis=1))
    checked = usable & known
    beams = int(checked.sum())
    if beams < config.map_min_beams:
        return Vote(None, math.nan, beams)
    share = float(np.mean((see_through | ends_free)[checked]))
    return Vote(share <= config.map_max_contradiction, share, beams)


def motion_vote(earlier: Sighting, later: Sighting, config: VoteConfig,
                disputed: np.ndarray | None = None) -> Vote:
    """Return whether the virtual scan's obstacles stayed put while the robot moved.

    `disputed` marks the points of `later` in dispute (default: all). Only disputed points
    within `motion_max_range` that the earlier scan looked at (its bearings and range, with
    a margin) are compared with the earlier points moved by the odometry delta.
    """
    compared = _compared(earlier, later, config, disputed)
    if isinstance(compared, Vote):
        return compared
    a, b = compared
    median = float(np.median(_gaps(b, into_frame(a, earlier.pose, later.pose))))
    return Vote(median <= config.motion_max_median, median, len(b))


def solo_motion_vote(earlier: Sighting, later: Sighting, config: VoteConfig) -> Vote:
    """Return whether the virtual scan keeps to a static world with no LiDAR beside it.

    With the LiDAR out, no obstacle is in dispute and the walls would carry a median. A
    point counts against the camera when it sits where the earlier scan had one on the robot
    (within `solo_stuck`) but not where odometry moved the earlier points (beyond
    `motion_max_median`): an obstacle riding along with the robot. Walls parallel to the
    motion sit at both places and do not count, nor do points nearer than `solo_min_range`
    (an obstacle closer than the camera sees the floor reads at the image's bottom edge, which
    rides along). The value is the share of such points.
    """
    far = np.hypot(later.points[:, 0], later.points[:, 1]) >= config.solo_min_range
    compared = _compared(earlier, later, config, far)
    if isinstance(compared, Vote):
        return compared
    a, b = compared
    moved_gap = _gaps(b, into_frame(a, earlier.pose, later.pose))
    stuck_gap = _gaps(b, a)
    share = float(np.mean((stuck_gap <= config.solo_stuck)
                          & (moved_gap > config.motion_max_median)))
    return Vote(share <= config.solo_max_share, share, len(b))


def _compared(earlier: Sighting, later: Sighting, config: VoteConfig,
              disputed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | Vote:
    """Return (earlier points, later points to compare), or a vote without evidence."""
    dx, dy = later.pose.x - earlier.pose.x, later.pose.y - earlier.pose.y
    turn = math.remainder(later.pose.yaw - earlier.pose.yaw, math.tau)
    if math.hypot(dx, dy) < config.motion_min_travel or abs(turn) > config.motion_max_turn:
        return Vote(None, math.nan, 0)
    b = np.asarray(later.points, dtype=np.float64).reshape(-1, 2)
    keep = np.hypot(b[:, 0], b[:, 1]) <= config.motion_max_range
    if disputed is not None:
        keep &= np.asarray(disputed, dtype=bool)
    b = b[keep & _in_view(into_frame(b, later.pose, earlier.pose), earlier, config)]
    a = np.asarray(earlier.points, dtype=np.float64).reshape(-1, 2)
    if min(len(a), len(b)) < config.motion_min_points:
        return Vote(None, math.nan, min(len(a), len(b)))
    return a, b


def _gaps(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Return each point's distance to the nearest reference point."""
    return np.sqrt(((points[:, None, :] - reference[None, :, :]) ** 2).sum(axis=2)).min(axis=1)


def _in_view(points: np.ndarray, sighting: Sighting, config: VoteConfig) -> np.ndarray:
    """Return which points (in the sighting's base frame) its scan looked at."""
    x, y = points[:, 0] - sighting.origin[0], points[:, 1] - sighting.origin[1]
    lo, hi = sighting.bearings
    half = (hi - lo) / 2
    off_centre = np.abs(np.remainder(np.arctan2(y, x) - (lo + half) + math.pi, math.tau) - math.pi)
    return ((off_centre <= half - config.motion_view_margin)
            & (np.hypot(x, y) <= sighting.range_max))


def into_frame(points: np.ndarray, source: Pose2D, target: Pose2D) -> np.ndarray:
    """Return base_link points taken at odometry pose `source` in the base frame at `target`."""
    c, s = math.cos(source.yaw), math.sin(source.yaw)
    wx = source.x + c * points[:, 0] - s * points[:, 1]
    wy = source.y + s * points[:, 0] + c * points[:, 1]
    c, s = math.cos(target.yaw), math.sin(target.yaw)
    ox, oy = wx - target.x, wy - target.y
    return np.stack([c * ox + s * oy, -s * ox + c * oy], axis=1)


def _values_at(grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the grid value of the cell holding each point (-1 outside the grid)."""
    uv = grid.world_to_grid(np.stack([x.ravel(), y.ravel()], axis=1))
    cols, rows = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
    inside = (cols >= 0) & (cols < grid.width) & (rows >= 0) & (rows < grid.height)
    out = np.full(cols.shape, -1, dtype=np.int16)
    out[inside] = grid.data[rows[inside], cols[inside]]
    return out.reshape(x.shape)
