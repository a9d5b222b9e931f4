"""Geometric checks of a path against a cost map: supercover, blocked segments, distance to path.

Segments are in continuous grid coordinates (cell units, corner of cell (0, 0) at 0, 0) unless a
function says map frame. The supercover of a segment is every cell whose closed square it
touches, corners included: a diagonal step between two cell centres touches both orthogonal
neighbours, so "every supercover cell is free" also forbids cutting a blocked corner.
"""

import math
from collections.abc import Sequence

import numpy as np

from robo_edge.planning.inflation import CostMap

Point = tuple[float, float]
# In cell units: a crossing this close to a grid corner counts as touching every cell there.
_EPS = 1e-9


def _crossings(a0: float, a1: float, b0: float, b1: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid lines a = k crossed by the segment, and the b coordinate where each is crossed."""
    if a0 == a1:
        return np.empty(0), np.empty(0)
    lines = np.arange(math.ceil(min(a0, a1)), math.floor(max(a0, a1)) + 1, dtype=float)
    return lines, b0 + (lines - a0) / (a1 - a0) * (b1 - b0)


def supercover(p0: Sequence[float], p1: Sequence[float]) -> np.ndarray:
    """Return the (K, 2) int (col, row) cells the segment p0-p1 touches (may hold repeats).

    Every cell the segment touches holds an endpoint or a point where the segment crosses a
    grid line; each such point touches the cells on both sides of any line it lies on.
    """
    (x0, y0), (x1, y1) = p0, p1
    vx, vy = _crossings(x0, x1, y0, y1)
    hy, hx = _crossings(y0, y1, x0, x1)
    xs = np.concatenate([[x0, x1], vx, hx])
    ys = np.concatenate([[y0, y1], vy, hy])
    x_lo, x_hi = np.floor(xs - _EPS), np.floor(xs + _EPS)
    y_lo, y_hi = np.floor(ys - _EPS), np.floor(ys + _EPS)
    cols = np.concatenate([x_lo, x_lo, x_hi, x_hi])
    rows = np.concatenate([y_lo, y_hi, y_lo, y_hi])
    return np.stack([cols, rows], axis=1).astype(np.int64)


def segment_free(blocked: np.ndarray, p0: Sequence[float], p1: Sequence[float]) -> bool:
    """Whether every cell the segment touches is inside the grid and not blocked."""
    cells = supercover(p0, p1)
    height, width = blocked.shape
    cols, rows = cells[:, 0], cells[:, 1]
    if cols.min() < 0 or rows.min() < 0 or cols.max() >= width or rows.max() >= height:
        return False
    return not blocked[rows, cols].any()


def path_blocked(costmap: CostMap, path: Sequence[Point], start_index: int = 0) -> int | None:
    """Index of the first segment (from `start_index`) of a map-frame path that is blocked.

    A one-point path is checked as a point. Leaving the grid counts as blocked.
    """
    if not path:
        return None
    coords = costmap.grid.world_to_grid(np.asarray(path, dtype=float))
    if len(coords) == 1:
        return None if segment_free(costmap.blocked, coords[0], coords[0]) else 0
    for i in range(start_index, len(coords) - 1):
        if not segment_free(costmap.blocked, coords[i], coords[i + 1]):
            return i
    return None


def distance_to_path(path: Sequence[Point], point: Point) -> float:
    """Shortest distance from a map-frame point to a polyline (inf for an empty path)."""
    if not path:
        return math.inf
    pts = np.asarray(path, dtype=float).reshape(-1, 2)
    p = np.asarray(point, dtype=float)
    if len(pts) == 1:
        return float(np.hypot(*(p - pts[0])))
    a, b = pts[:-1], pts[1:]
    ab = b - a
    length2 = np.einsum('ij,ij->i', ab, ab)
    t = np.einsum('ij,ij->i', p - a, ab) / np.where(length2 > 0, length2, 1.0)
    closest = a + np.clip(t, 0.0, 1.0)[:, None] * ab
    return float(np.hypot(*(closest - p).T).min())
