"""Scan-to-map localisation: corrects the odometry pose by matching a LiDAR scan (pure).

Each trusted scan is matched against the occupancy grid built so far (before the scan is folded
into it). The odometry prediction (the held correction composed with the odometry pose) is the
centre of a small correlative search over (x, y, yaw) scored on a likelihood field
exp(-d^2 / 2 sigma^2), d the distance to the nearest occupied cell (scipy's exact Euclidean
distance transform of a window around the scan). The best candidate is refined by
point-to-line ICP (Gauss-Newton): each return pairs with the mean return position of its
nearest occupied cell (the transform's nearest-feature indices), along the return's surface
normal from its neighbours, so a wall on a cell edge is not matched half a cell off. A match is
accepted only with enough points, a large enough share of them on the map, a well-conditioned
geometry (not a single wall or an empty map) and a shift from the prediction within bounds;
otherwise the previous correction (dead reckoning since the last good match) is kept.

Every result carries an honest covariance: after a good match, the match's own (floored at
`min_sigma`); while dead reckoning, one that grows with the distance travelled and the angle
turned since (never "unknown": consumers slow down, and claim a goal only, by how much).

Frames: `correction` is the pose of `odom` in `map`, so the base pose in map is
correction composed with the odometry pose.
"""

import math
from dataclasses import dataclass

import numpy as np

from robo_edge.mapping.fusion import Fusion
from robo_edge.mapping.localizer_types import (  # noqa: F401 (re-exported)
    ACCEPTED,
    DEGENERATE,
    DISABLED,
    FEW_INLIERS,
    FEW_POINTS,
    JUMP,
    NARROW_FOV,
    OPPOSITE,
    PARTIAL,
    UNTRUSTED_FRAME,
    LocalizerParams,
    MatchResult,
    ScanData,
)
from robo_edge.mapping.mapper import GridGeometry, OccupancyMapper
from robo_edge.mapping.match_geometry import (  # noqa: F401 (re-exported: the pose algebra)
    DistanceWindow,
    base_in_map,
    correction_of,
    information,
    invert_pose,
    rotate,
    surface_normals,
    transform,
)
from robo_edge.robot.kinematics import Pose2D, wrap_angle


def scan_points(scan: ScanData, sensor: Pose2D, max_range: float) -> np.ndarray:
    """Return the valid returns (within range_min..min(range_max, max_range)) in base_link."""
    ranges = np.asarray(scan.ranges, dtype=np.float64).ravel()
    angles = scan.angle_min + scan.angle_increment * np.arange(ranges.size) + sensor.yaw
    valid = (np.isfinite(ranges) & (ranges >= scan.range_min) & (ranges <= scan.range_max)
             & (ranges <= max_range))
    r, a = ranges[valid], angles[valid]  # the beam angles already carry the mount's yaw
    return np.stack([sensor.x + r * np.cos(a), sensor.y + r * np.sin(a)], axis=1)


class Localizer:
    """Holds the correction (odom in map) and updates it from each trusted scan."""

    def __init__(self, initial_correction: Pose2D, sensor: Pose2D | None = None,
                 params: LocalizerParams | None = None) -> None:
        self.correction = initial_correction
        self.sensor = sensor or Pose2D(0.0, 0.0, 0.0)
        self.params = params or LocalizerParams()
        self.fusion = Fusion(self.params.fusion)
        self._anchor_sigma = (self.params.initial_sigma, self.params.initial_sigma_yaw)
        self.travel_m = 0.0  # dead-reckoned since the last good match
        self._turn = 0.0
        self._last_odom: Pose2D | None = None

    def advance(self, odom: Pose2D) -> None:
        """Count the odometry travel and turn since the previous scan."""
        last = self._last_odom
        if last is not None:
            self.travel_m += math.hypot(odom.x - last.x, odom.y - last.y)
            self._turn += abs(wrap_angle(odom.yaw - last.yaw))
        self._last_odom = odom

    def grown_covariance(self) -> tuple[float, float, float]:
        """Return the x, y, yaw variances of the pose dead-reckoned since the last match."""
        p = self.params
        sigma = self._anchor_sigma[0] + p.drift_per_m * self.travel_m
        sigma_yaw = (self._anchor_sigma[1] + p.yaw_drift_per_rad * self._turn
                     + p.yaw_drift_per_m * self.travel_m)
        return sigma ** 2, sigma ** 2, sigma_yaw ** 2

    def _anchor(self, covariance: tuple[float, float, float], partial: bool) -> None:
        """Restart the uncertainty from an accepted match (along a corridor: yaw only)."""
        p = self.params
        sigma_yaw = max(math.sqrt(covariance[2]), p.min_sigma / 10)
        if partial:
            self._anchor_sigma = (self._anchor_sigma[0] + p.drift_per_m * self.travel_m,
                                  sigma_yaw)
        else:
            sigma = max(math.sqrt(max(covariance[0], covariance[1])), p.min_sigma)
            self._anchor_sigma = (sigma, sigma_yaw)
        self.travel_m, self._turn = 0.0, 0.0

    def trust(self, scan: ScanData) -> str:
        """Return why a scan is not a LiDAR scan to match, or ACCEPTED."""
        p = self.params
        if scan.frame_id not in p.trusted_frames:
            return UNTRUSTED_FRAME
        if abs(scan.angle_increment) * len(scan.ranges) < p.min_fov:
            return NARROW_FOV
        return ACCEPTED

    def update(self, scan: ScanData, odom: Pose2D, grid: OccupancyMapper) -> MatchResult:
        """Match a scan taken at odometry pose `odom` against the grid; update the correction.

        Call it before the scan is folded into `grid`.
        """
        p = self.params
        self.advance(odom)
        predicted = base_in_map(self.correction, odom)
        reason = self.trust(scan)
        points = scan_points(scan, self.sensor, p.max_range)
        if not reason and points.shape[0] < p.min_points:
            reason = FEW_POINTS
        if reason:
            return self._held(reason, predicted, points.shape[0])
        occupied = grid.log_odds_view() > p.occupied_log_odds
        if p.observed_only:
            occupied &= grid.observed()
        window = self._window(occupied, grid.geometry, predicted, points)
        if not window.any_occupied:
            return self._held(FEW_INLIERS, predicted, points.shape[0])
        normals, has_normal = surface_normals(points, p.max_neighbour_gap)
        # The correlative search escapes a wrong basin when the prediction is far off; when
        # dead reckoning is still tight it only snaps to the nearest cell of the wrong face
        # of a thin wall, so ICP then starts at the prediction.
        sigma = math.sqrt(self.grown_covariance()[0])
        best = self._search(window, predicted, points) if sigma > p.search_sigma else predicted
        fit = self._refine(window, grid, best, points, normals, has_normal)
        return self._judge(predicted, fit, points.shape[0], odom)

    def hold(self, reason: str, odom: Pose2D) -> MatchResult:
        """Return the result of a scan not matched (localisation off, a fallback source)."""
        self.advance(odom)
        return self._held(reason, base_in_map(self.correction, odom), 0)

    # -- steps ------------------------------------------------------------------------------
    def _held(self, reason: str, predicted: Pose2D, points: int) -> MatchResult:
        return MatchResult(False, reason, predicted, self.correction, points, 0.0, 0.0, 0.0,
                           (0.0, 0.0, 0.0), self.grown_covariance())

    def _window(self, occupied: np.ndarray, geometry: GridGeometry, predicted: Pose2D,
                points: np.ndarray) -> DistanceWindow:
        world = transform(points, predicted)
        p = self.params
        reach = p.max_jump + p.max_distance + p.search_cells * geometry.resolution
        pad = int(math.ceil(reach / geometry.resolution)) + 2
        bounds = np.stack([world.min(axis=0), world.max(axis=0)])
        return DistanceWindow(occupied, geometry, bounds, pad)

    def _search(self, window: DistanceWindow, predicted: Pose2D, points: np.ndarray) -> Pose2D:
        """Return the best pose of the correlative search around the prediction.

        Every yaw and cell offset at once: one gather in the likelihood field, padded with
        zeros so that no candidate needs a bounds check.
        """
        p = self.params
        k = p.search_cells
        steps = int(round(p.search_yaw / p.yaw_step))
        yaws = predicted.yaw + p.yaw_step * np.arange(-steps, steps + 1)
        field = np.pad(np.exp(-0.5 * (window.distance / p.sigma) ** 2), 2 * k)
        stride = max(1, points.shape[0] // p.search_points)
        pts = points[::stride]
        c, s = np.cos(yaws)[:, None], np.sin(yaws)[:, None]
        x = predicted.x + c * pts[None, :, 0] - s * pts[None, :, 1]
        y = predicted.y + s * pts[None, :, 0] + c * pts[None, :, 1]
        cols = np.floor((x - window.x0) / window.res).astype(np.int64) + 2 * k
        rows = np.floor((y - window.y0) / window.res).astype(np.int64) + 2 * k
        h, w = window.distance.shape
        outside = (cols < 2 * k) | (cols >= w + 2 * k) | (rows < 2 * k) | (rows >= h + 2 * k)
        cols[outside], rows[outside] = k, k  # a cell of the zero border for every offset
        offsets = np.arange(-k, k + 1)
        dy, dx = np.meshgrid(offsets, offsets, indexing='ij')
        dy, dx = dy.ravel(), dx.ravel()
        width = w + 4 * k
        flat = rows * width + cols  # (yaws, points)
        shifts = dy * width + dx  # (offsets,)
        scores = np.take(field.ravel(), flat[:, None, :] + shifts[None, :, None]).sum(axis=2)
        # Prefer the prediction: in a corridor a cell along it scores about the same.
        shift2 = (dx ** 2 + dy ** 2) * window.res ** 2 / p.translation_prior ** 2
        turn2 = ((yaws - predicted.yaw) / p.rotation_prior) ** 2
        scores = scores * np.exp(-shift2[None, :] - turn2[:, None])
        yaw_i, offset_i = np.unravel_index(int(np.argmax(scores)), scores.shape)
        return Pose2D(predicted.x + dx[offset_i] * window.res,
                      predicted.y + dy[offset_i] * window.res, float(yaws[yaw_i]))

    def _refine(self, window: DistanceWindow, grid: OccupancyMapper, start: Pose2D,
                points: np.ndarray, normals: np.ndarray, has_normal: np.ndarray) -> '_Fit':
        """Point-to-line ICP from `start` against the cells' mean returns (Gauss-Newton)."""
        p = self.params
        pose, h, residuals, normals_used = start, np.zeros((3, 3)), np.zeros(0), normals[:0]
        for _ in range(p.iterations):
            world, r, dist, inside = self._pairs(window, grid, pose, points, normals)
            use = inside & has_normal & (dist <= p.max_distance)
            if np.count_nonzero(use) < 3:
                break
            c, s = math.cos(pose.yaw), math.sin(pose.yaw)
            n = rotate(normals[use], c, s)
            px, py = points[use, 0], points[use, 1]
            dyaw = n[:, 0] * (-s * px - c * py) + n[:, 1] * (c * px - s * py)
            jac = np.stack([n[:, 0], n[:, 1], dyaw], axis=1)
            h, residuals, normals_used = jac.T @ jac, r[use], n
            step = -np.linalg.solve(h + 1e-9 * np.eye(3), jac.T @ residuals)
            pose = Pose2D(pose.x + step[0], pose.y + step[1], pose.yaw + step[2])
            if abs(step[0]) + abs(step[1]) < 1e-4 and abs(step[2]) < 1e-4:
                break
        world, _, dist, inside = self._pairs(window, grid, pose, points, normals)
        inlier_fraction = float(np.mean(inside & (dist <= p.inlier_distance)))
        score = float(np.mean(np.exp(-0.5 * (window.lookup(world) / p.sigma) ** 2)))
        variance = float(np.mean(residuals ** 2)) if residuals.size else 0.0
        try:
            cov = np.linalg.inv(h) * max(variance, 1e-6)
            covariance = (float(cov[0, 0]), float(cov[1, 1]), float(cov[2, 2]))
        except np.linalg.LinAlgError:
            covariance = (math.inf, math.inf, math.inf)
        pose = Pose2D(float(pose.x), float(pose.y), wrap_angle(float(pose.yaw)))
        weak, strong, axis = information(normals_used)
        return _Fit(pose, inlier_fraction, score, covariance, weak, strong, axis)

    def _pairs(self, window: DistanceWindow, grid: OccupancyMapper, pose: Pose2D,
               points: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, ...]:
        """Pair each point at `pose` with its nearest cell's mean return.

        Returns the points in map, the point-to-line residuals, the point-to-point distances
        and which points fell inside the window.
        """
        world = transform(points, pose)
        targets, views, inside = window.nearest_returns(world, grid)
        n = rotate(normals, math.cos(pose.yaw), math.sin(pose.yaw))
        # A return pairs only with a cell seen from its own side of the surface (not the far
        # face of a thin wall seen from the other room): along the return's normal, the
        # direction back to the laser and the cell's mean view must not point opposite ways.
        sensor = transform(np.array([[self.sensor.x, self.sensor.y]]), pose)[0]
        back = sensor - world
        mine = n[:, 0] * back[:, 0] + n[:, 1] * back[:, 1]
        theirs = n[:, 0] * views[:, 0] + n[:, 1] * views[:, 1]
        inside = inside & ~((np.sign(mine) != np.sign(theirs)) & (np.abs(theirs) > OPPOSITE))
        error = world - targets
        residual = n[:, 0] * error[:, 0] + n[:, 1] * error[:, 1]
        return world, residual, np.hypot(error[:, 0], error[:, 1]), inside

    def _judge(self, predicted: Pose2D, fit: '_Fit', points: int, odom: Pose2D) -> MatchResult:
        p, pose, information = self.params, fit.pose, fit.information
        shift = (pose.x - predicted.x, pose.y - predicted.y, wrap_angle(pose.yaw - predicted.yaw))
        reason, measured = ACCEPTED, fit.covariance
        if information < p.min_information and fit.strong >= p.min_partial_information:
            # A corridor: keep the shift across it (and the turn), not along it.
            ax, ay = fit.axis
            across = shift[0] * ax + shift[1] * ay
            shift = (across * ax, across * ay, shift[2])
            pose = Pose2D(predicted.x + shift[0], predicted.y + shift[1], pose.yaw)
            reason, measured = PARTIAL, (0.0, 0.0, measured[2])  # across: the floor's
        if fit.inlier_fraction < p.min_inlier_fraction:
            reason = FEW_INLIERS
        elif information < p.min_information and reason != PARTIAL:
            reason = DEGENERATE
        elif math.hypot(shift[0], shift[1]) > p.max_jump or abs(shift[2]) > p.max_jump_yaw:
            reason = JUMP
        if reason not in (ACCEPTED, PARTIAL):
            return MatchResult(False, reason, predicted, self.correction, points,
                               fit.inlier_fraction, fit.score, information, shift,
                               self.grown_covariance())
        fused = self.fusion.update(predicted, self.grown_covariance(), pose, measured)
        self.correction = correction_of(fused.pose, odom)
        self._anchor(fused.covariance, reason == PARTIAL)
        return MatchResult(True, reason, fused.pose, self.correction, points,
                           fit.inlier_fraction, fit.score, information, shift,
                           self.grown_covariance())


@dataclass(frozen=True, slots=True)
class _Fit:
    pose: Pose2D
    inlier_fraction: float
    score: float
    covariance: tuple[float, float, float]
    information: float  # the weakest direction's
    strong: float  # the strongest direction's
    axis: tuple[float, float]  # the strongest direction (across a corridor)
