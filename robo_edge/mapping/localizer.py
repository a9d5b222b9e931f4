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
from scipy import ndimage

from robo_edge.mapping.mapper import GridGeometry, OccupancyMapper, compose_pose
from robo_edge.robot.kinematics import Pose2D, wrap_angle

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


def invert_pose(pose: Pose2D) -> Pose2D:
    """Return the inverse of a planar transform."""
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    return Pose2D(-c * pose.x - s * pose.y, s * pose.x - c * pose.y, -pose.yaw)


def correction_of(base_in_map: Pose2D, odom: Pose2D) -> Pose2D:
    """Return the pose of odom in map that puts the odometry pose `odom` at `base_in_map`."""
    c = compose_pose(base_in_map, invert_pose(odom))
    return Pose2D(c.x, c.y, wrap_angle(c.yaw))


def base_in_map(correction: Pose2D, odom: Pose2D) -> Pose2D:
    """Return the base pose in map from the correction and the odometry pose."""
    p = compose_pose(correction, odom)
    return Pose2D(p.x, p.y, wrap_angle(p.yaw))


def scan_points(scan: ScanData, sensor: Pose2D, max_range: float) -> np.ndarray:
    """Return the valid returns (within range_min..min(range_max, max_range)) in base_link."""
    ranges = np.asarray(scan.ranges, dtype=np.float64).ravel()
    angles = scan.angle_min + scan.angle_increment * np.arange(ranges.size) + sensor.yaw
    valid = (np.isfinite(ranges) & (ranges >= scan.range_min) & (ranges <= scan.range_max)
             & (ranges <= max_range))
    r, a = ranges[valid], angles[valid]  # the beam angles already carry the mount's yaw
    return np.stack([sensor.x + r * np.cos(a), sensor.y + r * np.sin(a)], axis=1)


class DistanceWindow:
    """The distance to the nearest occupied cell over a window of the grid (metres)."""

    def __init__(self, occupied: np.ndarray, geometry: GridGeometry, bounds: np.ndarray,
                 pad_cells: int) -> None:
        res = geometry.resolution
        lo = np.floor((bounds[0] - (geometry.origin_x, geometry.origin_y)) / res) - pad_cells
        hi = np.floor((bounds[1] - (geometry.origin_x, geometry.origin_y)) / res) + pad_cells
        c0, r0 = (int(max(v, 0)) for v in lo)
        c1 = int(min(hi[0], geometry.width - 1)) + 1
        r1 = int(min(hi[1], geometry.height - 1)) + 1
        window = occupied[r0:max(r1, r0 + 1), c0:max(c1, c0 + 1)]
        self.res = res
        self.x0 = geometry.origin_x + c0 * res  # corner of the window's cell (0, 0)
        self.y0 = geometry.origin_y + r0 * res
        self.any_occupied = bool(window.any())
        self.nearest = np.zeros(window.shape, dtype=np.int64)  # flat grid index
        self._targets: np.ndarray | None = None
        self._views: np.ndarray | None = None
        if self.any_occupied:
            distance, (rows, cols) = ndimage.distance_transform_edt(
                ~window, return_indices=True)
            self.distance = distance * res
            self.nearest = (rows + r0) * geometry.width + (cols + c0)
        else:
            self.distance = np.full(window.shape, np.inf)

    def lookup(self, xy: np.ndarray) -> np.ndarray:
        """Return the distance of the cell holding each point (inf outside the window)."""
        rows, cols, inside = self._cells(xy)
        out = np.full(cols.shape, np.inf)
        out[inside] = self.distance[rows[inside], cols[inside]]
        return out

    def nearest_returns(self, xy: np.ndarray, grid: OccupancyMapper) -> tuple[np.ndarray, ...]:
        """Return per point the mean return and the view of its nearest occupied cell, `inside`.

        The targets of the whole window are looked up once, on the first call.
        """
        if self._targets is None:
            h, w = self.nearest.shape
            flat = self.nearest.ravel()
            self._targets = grid.hit_points(flat).reshape(h, w, 2)
            self._views = grid.view_directions(flat).reshape(h, w, 2)
        rows, cols, inside = self._cells(xy)
        out, views = np.zeros(xy.shape), np.zeros(xy.shape)
        out[inside] = self._targets[rows[inside], cols[inside]]
        views[inside] = self._views[rows[inside], cols[inside]]
        return out, views, inside

    def _cells(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cols = np.floor((xy[..., 0] - self.x0) / self.res).astype(np.int64)
        rows = np.floor((xy[..., 1] - self.y0) / self.res).astype(np.int64)
        h, w = self.distance.shape
        return rows, cols, (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h)


class Localizer:
    """Holds the correction (odom in map) and updates it from each trusted scan."""

    def __init__(self, initial_correction: Pose2D, sensor: Pose2D | None = None,
                 params: LocalizerParams | None = None) -> None:
        self.correction = initial_correction
        self.sensor = sensor or Pose2D(0.0, 0.0, 0.0)
        self.params = params or LocalizerParams()
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
        reason, covariance = ACCEPTED, fit.covariance
        if information < p.min_information and fit.strong >= p.min_partial_information:
            # A corridor: keep the shift across it (and the turn), not along it.
            ax, ay = fit.axis
            across = shift[0] * ax + shift[1] * ay
            shift = (across * ax, across * ay, shift[2])
            pose = Pose2D(predicted.x + shift[0], predicted.y + shift[1], pose.yaw)
            reason, covariance = PARTIAL, (math.inf, math.inf, covariance[2])
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
        self.correction = correction_of(pose, odom)
        self._anchor(covariance, reason == PARTIAL)
        return MatchResult(True, reason, pose, self.correction, points, fit.inlier_fraction,
                           fit.score, information, shift, self.grown_covariance())


@dataclass(frozen=True, slots=True)
class _Fit:
    pose: Pose2D
    inlier_fraction: float
    score: float
    covariance: tuple[float, float, float]
    information: float  # the weakest direction's
    strong: float  # the strongest direction's
    axis: tuple[float, float]  # the strongest direction (across a corridor)


def rotate(vectors: np.ndarray, c: float, s: float) -> np.ndarray:
    """Return (N x 2) vectors rotated by the angle of cosine c and sine s."""
    return np.stack([c * vectors[:, 0] - s * vectors[:, 1],
                     s * vectors[:, 0] + c * vectors[:, 1]], axis=1)


def transform(points: np.ndarray, pose: Pose2D) -> np.ndarray:
    """Return base_link points (N x 2) placed at `pose`."""
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    x, y = points[:, 0], points[:, 1]
    return np.stack([pose.x + c * x - s * y, pose.y + s * x + c * y], axis=1)


def surface_normals(points: np.ndarray, max_gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Return a unit normal per point from its two neighbours (beam order), and which have one.

    Neighbours farther apart than 2 max_gap (an edge, a grazing wall) give no normal.
    """
    normals = np.zeros_like(points)
    has = np.zeros(points.shape[0], dtype=bool)
    if points.shape[0] < 3:
        return normals, has
    tangent = points[2:] - points[:-2]
    length = np.hypot(tangent[:, 0], tangent[:, 1])
    ok = (length > 1e-9) & (length <= 2 * max_gap)
    t = tangent[ok] / length[ok, None]
    inner = normals[1:-1]
    inner[ok] = np.stack([-t[:, 1], t[:, 0]], axis=1)
    has[1:-1] = ok
    return normals, has


def information(normals: np.ndarray) -> tuple[float, float, tuple[float, float]]:
    """Return the eigenvalues of the mean n n^T of surface normals and the strong direction.

    One straight wall gives ~0 and ~1 (the position along it is not observable, across it is);
    walls in two directions give up to 0.5 each.
    """
    if normals.shape[0] < 3:
        return 0.0, 0.0, (1.0, 0.0)
    values, vectors = np.linalg.eigh(normals.T @ normals / normals.shape[0])
    return float(values[0]), float(values[1]), (float(vectors[0, 1]), float(vectors[1, 1]))
