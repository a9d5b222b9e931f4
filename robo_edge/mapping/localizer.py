"""Scan-to-map localisation: corrects the odometry pose by matching a LiDAR scan (pure).

Each trusted scan is matched against the occupancy grid built so far (before the scan is folded
into it). The odometry prediction (the held correction composed with the odometry pose) is the
centre of a small correlative search over (x, y, yaw) scored on a likelihood field
exp(-d^2 / 2 sigma^2), d the distance to the nearest occupied cell (scipy's exact Euclidean
distance transform of a window around the scan). The best candidate is refined by Gauss-Newton
on the bilinearly interpolated distance field. A match is accepted only with enough points, a
large enough share of them on the map, a well-conditioned geometry (not a single wall or an
empty map) and a shift from the prediction within bounds; otherwise the previous correction
(dead reckoning since the last good match) is kept.

Frames: `correction` is the pose of `odom` in `map`, so the base pose in map is
correction composed with the odometry pose.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from robo_edge.mapping.mapper import GridGeometry, compose_pose
from robo_edge.twin.kinematics import Pose2D, wrap_angle

# Why a match was not used (the empty reason means accepted).
ACCEPTED = ''
UNTRUSTED_FRAME = 'untrusted_frame'
NARROW_FOV = 'narrow_fov'
FEW_POINTS = 'few_points'
FEW_INLIERS = 'few_inliers'
DEGENERATE = 'degenerate'
JUMP = 'jump'
DISABLED = 'disabled'


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
    max_distance: float = 0.3  # points farther than this from the map do not pull (m)
    iterations: int = 8
    inlier_distance: float = 0.15  # m
    min_inlier_fraction: float = 0.5
    min_information: float = 0.05  # smallest eigenvalue of the scan's mean normal outer product
    max_neighbour_gap: float = 0.5  # neighbouring returns farther apart give no normal (m)
    max_jump: float = 0.25  # accepted shift from the prediction (m)
    max_jump_yaw: float = 0.1  # rad


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
    information: float  # smallest eigenvalue of the mean n n^T of the scan's surface normals
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
        if self.any_occupied:
            self.distance = ndimage.distance_transform_edt(~window) * res
        else:
            self.distance = np.full(window.shape, np.inf)

    def lookup(self, xy: np.ndarray) -> np.ndarray:
        """Return the distance of the cell holding each point (inf outside the window)."""
        cols = np.floor((xy[..., 0] - self.x0) / self.res).astype(np.int64)
        rows = np.floor((xy[..., 1] - self.y0) / self.res).astype(np.int64)
        h, w = self.distance.shape
        inside = (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h)
        out = np.full(cols.shape, np.inf)
        out[inside] = self.distance[rows[inside], cols[inside]]
        return out

    def interpolate(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the bilinear distance and its gradient (N x 2) at points; inf outside."""
        u = (xy[:, 0] - self.x0) / self.res - 0.5  # cell-centre coordinates
        v = (xy[:, 1] - self.y0) / self.res - 0.5
        c, r = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
        h, w = self.distance.shape
        inside = (c >= 0) & (c < w - 1) & (r >= 0) & (r < h - 1)
        d = np.full(u.shape, np.inf)
        grad = np.zeros((u.size, 2))
        if not inside.any():
            return d, grad
        c, r, fu, fv = c[inside], r[inside], (u - np.floor(u))[inside], (v - np.floor(v))[inside]
        g = self.distance
        d00, d01, d10, d11 = g[r, c], g[r, c + 1], g[r + 1, c], g[r + 1, c + 1]
        d[inside] = ((1 - fv) * ((1 - fu) * d00 + fu * d01) + fv * ((1 - fu) * d10 + fu * d11))
        grad[inside, 0] = ((1 - fv) * (d01 - d00) + fv * (d11 - d10)) / self.res
        grad[inside, 1] = ((1 - fu) * (d10 - d00) + fu * (d11 - d01)) / self.res
        return d, grad


class Localizer:
    """Holds the correction (odom in map) and updates it from each trusted scan."""

    def __init__(self, initial_correction: Pose2D, sensor: Pose2D | None = None,
                 params: LocalizerParams | None = None) -> None:
        self.correction = initial_correction
        self.sensor = sensor or Pose2D(0.0, 0.0, 0.0)
        self.params = params or LocalizerParams()

    def trust(self, scan: ScanData) -> str:
        """Return why a scan is not a LiDAR scan to match, or ACCEPTED."""
        p = self.params
        if scan.frame_id not in p.trusted_frames:
            return UNTRUSTED_FRAME
        if abs(scan.angle_increment) * len(scan.ranges) < p.min_fov:
            return NARROW_FOV
        return ACCEPTED

    def update(self, scan: ScanData, odom: Pose2D, log_odds: np.ndarray,
               geometry: GridGeometry) -> MatchResult:
        """Match a scan taken at odometry pose `odom` against the grid; update the correction."""
        predicted = base_in_map(self.correction, odom)
        reason = self.trust(scan)
        points = scan_points(scan, self.sensor, self.params.max_range)
        if not reason and points.shape[0] < self.params.min_points:
            reason = FEW_POINTS
        if reason:
            return self._held(reason, predicted, points.shape[0])
        occupied = log_odds > self.params.occupied_log_odds
        window = self._window(occupied, geometry, predicted, points)
        if not window.any_occupied:
            return self._held(FEW_INLIERS, predicted, points.shape[0])
        best = self._search(window, predicted, points)
        pose, covariance = self._refine(window, best, points)
        information = normal_information(points, self.params.max_neighbour_gap)
        return self._judge(window, predicted, pose, points, odom, information, covariance)

    def hold(self, reason: str, odom: Pose2D) -> MatchResult:
        """Return the result of a scan not matched (for example with localisation off)."""
        return self._held(reason, base_in_map(self.correction, odom), 0)

    # -- steps ------------------------------------------------------------------------------
    def _held(self, reason: str, predicted: Pose2D, points: int) -> MatchResult:
        return MatchResult(False, reason, predicted, self.correction, points, 0.0, 0.0, 0.0,
                           (0.0, 0.0, 0.0), (math.inf, math.inf, math.inf))

    def _window(self, occupied: np.ndarray, geometry: GridGeometry, predicted: Pose2D,
                points: np.ndarray) -> DistanceWindow:
        world = transform(points, predicted)
        p = self.params
        reach = p.max_jump + p.max_distance + p.search_cells * geometry.resolution
        pad = int(math.ceil(reach / geometry.resolution)) + 2
        bounds = np.stack([world.min(axis=0), world.max(axis=0)])
        return DistanceWindow(occupied, geometry, bounds, pad)

    def _search(self, window: DistanceWindow, predicted: Pose2D, points: np.ndarray) -> Pose2D:
        """Return the best pose of the correlative search around the prediction."""
        p = self.params
        steps = int(round(p.search_yaw / p.yaw_step))
        yaws = predicted.yaw + p.yaw_step * np.arange(-steps, steps + 1)
        k = np.arange(-p.search_cells, p.search_cells + 1) * window.res
        dx, dy = np.meshgrid(k, k, indexing='ij')
        offsets = np.stack([dx.ravel(), dy.ravel()], axis=1)  # (M, 2)
        best_score, best = -1.0, predicted
        for yaw in yaws:
            world = transform(points, Pose2D(predicted.x, predicted.y, float(yaw)))
            d = window.lookup(world[None, :, :] + offsets[:, None, :])  # (M, N)
            score = np.exp(-0.5 * (d / p.sigma) ** 2).sum(axis=1)
            i = int(np.argmax(score))
            if score[i] > best_score:
                best_score = float(score[i])
                best = Pose2D(predicted.x + offsets[i, 0], predicted.y + offsets[i, 1],
                              float(yaw))
        return best

    def _refine(self, window: DistanceWindow, start: Pose2D,
                points: np.ndarray) -> tuple[Pose2D, tuple[float, float, float]]:
        """Gauss-Newton on the distance field; return the pose and its covariance."""
        p = self.params
        pose, h = start, np.zeros((3, 3))
        for _ in range(p.iterations):
            world = transform(points, pose)
            d, grad = window.interpolate(world)
            use = d <= p.max_distance
            if np.count_nonzero(use) < 3:
                break
            c, s = math.cos(pose.yaw), math.sin(pose.yaw)
            px, py = points[use, 0], points[use, 1]
            dyaw = grad[use, 0] * (-s * px - c * py) + grad[use, 1] * (c * px - s * py)
            jac = np.stack([grad[use, 0], grad[use, 1], dyaw], axis=1)
            h = jac.T @ jac
            b = jac.T @ d[use]
            try:
                step = -np.linalg.solve(h + 1e-6 * np.eye(3), b)
            except np.linalg.LinAlgError:
                break
            pose = Pose2D(pose.x + step[0], pose.y + step[1], pose.yaw + step[2])
            if abs(step[0]) + abs(step[1]) < 1e-5 and abs(step[2]) < 1e-5:
                break
        d, _ = window.interpolate(transform(points, pose))
        residual = float(np.mean(np.minimum(d, p.max_distance) ** 2))
        try:
            cov = np.linalg.inv(h + 1e-9 * np.eye(3)) * max(residual, 1e-6)
            covariance = (float(cov[0, 0]), float(cov[1, 1]), float(cov[2, 2]))
        except np.linalg.LinAlgError:
            covariance = (math.inf, math.inf, math.inf)
        return pose, covariance

    def _judge(self, window: DistanceWindow, predicted: Pose2D, pose: Pose2D,
               points: np.ndarray, odom: Pose2D, information: float,
               covariance: tuple[float, float, float]) -> MatchResult:
        p = self.params
        world = transform(points, pose)
        d = window.lookup(world)
        d_fine, _ = window.interpolate(world)
        inlier_fraction = float(np.mean(d_fine <= p.inlier_distance))
        score = float(np.mean(np.exp(-0.5 * (d / p.sigma) ** 2)))
        pose = Pose2D(float(pose.x), float(pose.y), wrap_angle(float(pose.yaw)))
        shift = (pose.x - predicted.x, pose.y - predicted.y, wrap_angle(pose.yaw - predicted.yaw))
        reason = ACCEPTED
        if inlier_fraction < p.min_inlier_fraction:
            reason = FEW_INLIERS
        elif information < p.min_information:
            reason = DEGENERATE
        elif math.hypot(shift[0], shift[1]) > p.max_jump or abs(shift[2]) > p.max_jump_yaw:
            reason = JUMP
        n = points.shape[0]
        if reason:
            return MatchResult(False, reason, predicted, self.correction, n, inlier_fraction,
                               score, information, shift, (math.inf, math.inf, math.inf))
        self.correction = correction_of(pose, odom)
        return MatchResult(True, ACCEPTED, pose, self.correction, n, inlier_fraction, score,
                           information, shift, covariance)


def transform(points: np.ndarray, pose: Pose2D) -> np.ndarray:
    """Return base_link points (N x 2) placed at `pose`."""
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    x, y = points[:, 0], points[:, 1]
    return np.stack([pose.x + c * x - s * y, pose.y + s * x + c * y], axis=1)


def normal_information(points: np.ndarray, max_gap: float) -> float:
    """Return the smallest eigenvalue of the mean n n^T over the scan's surface normals.

    Normals come from each return's two neighbours (in beam order). One straight wall gives
    ~0 (the position along it is not observable); walls in two directions give up to 0.5.
    """
    if points.shape[0] < 3:
        return 0.0
    tangent = points[2:] - points[:-2]
    length = np.hypot(tangent[:, 0], tangent[:, 1])
    use = (length > 1e-9) & (length <= 2 * max_gap)
    if np.count_nonzero(use) < 3:
        return 0.0
    t = tangent[use] / length[use, None]
    normals = np.stack([-t[:, 1], t[:, 0]], axis=1)
    return float(np.linalg.eigvalsh(normals.T @ normals / normals.shape[0])[0])
