"""Planar pose algebra and the geometry a scan match works on (pure).

The localiser's helpers (robo_edge/mapping/localizer.py): the correction's transforms, a
window of the grid's distance transform, returns placed at a pose, and the surface normals that
say which directions a scan constrains.
"""

import math

import numpy as np
from scipy import ndimage

from robo_edge.mapping.mapper import GridGeometry, OccupancyMapper, compose_pose
from robo_edge.robot.kinematics import Pose2D, wrap_angle


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
