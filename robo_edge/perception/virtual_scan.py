"""A floor/obstacle segmentation -> a virtual planar scan in base_link (pure numpy).

Per image column, the nearest obstacle is where the floor ends: search up from the bottom row
for the first non-floor pixel, and place the boundary between it and the floor pixel below it,
at the sub-pixel row where the floor margin (p(floor) - max p(other)) crosses zero. The ray
through that point (camera_info intrinsics, scaled to the mask) is turned into base_link with
the camera's mounting pose and met with the floor plane z = 0: obstacles stand on the floor, so
that is where the obstacle meets it. The points give ranges and bearings from base_link, which
are resampled onto a fixed uniform-angle grid covering the camera's horizontal field of view.

Ranges follow REP 117: +inf where the column is floor up to range_max (or its boundary ray
never meets the floor), -inf closer than range_min, NaN for a beam no column covers. An
obstacle that already covers the bottom row is reported at the range of the image's bottom
edge: the nearest floor the camera can see, so the obstacle is at most that far.
"""

import math
from dataclasses import dataclass

import numpy as np

# camera_optical_frame (x right, y down, z ahead) -> camera_link (x ahead, y left, z up).
OPTICAL_TO_LINK = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
# Pose of camera_link in base_link in sim/robot/diff_drive.urdf: x, y, z, roll, pitch, yaw.
URDF_CAMERA_MOUNT = (0.12, 0.0, 0.42, 0.0, 0.35, 0.0)
_HORIZON_EPS = 1e-9


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of an image; pixel centres lie at integer coordinates."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def scaled(self, width: int, height: int) -> 'Intrinsics':
        """Return the intrinsics of the same view resampled to width x height pixels."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(width, height, self.fx * sx, self.fy * sy,
                          (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5)


@dataclass(frozen=True)
class MountPose:
    """Pose of camera_link in base_link (m, rad; URDF fixed-axis roll, pitch, yaw)."""

    x: float = URDF_CAMERA_MOUNT[0]
    y: float = URDF_CAMERA_MOUNT[1]
    z: float = URDF_CAMERA_MOUNT[2]
    roll: float = URDF_CAMERA_MOUNT[3]
    pitch: float = URDF_CAMERA_MOUNT[4]
    yaw: float = URDF_CAMERA_MOUNT[5]

    def rotation(self) -> np.ndarray:
        """Return the rotation camera_link -> base_link (Rz(yaw) Ry(pitch) Rx(roll))."""
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
        rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
        return rz @ ry @ rx


class CameraGeometry:
    """Pixel rays in base_link, their floor points, and the inverse (floor point -> pixel)."""

    def __init__(self, intrinsics: Intrinsics, mount: MountPose) -> None:
        self.intrinsics = intrinsics
        self.mount = mount
        self.origin = np.array([mount.x, mount.y, mount.z])
        self.rotation = mount.rotation() @ OPTICAL_TO_LINK  # optical -> base_link

    def rays(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Return (n, 3) base_link directions of the rays through pixels (u, v)."""
        k = self.intrinsics
        u, v = np.broadcast_arrays(np.asarray(u, float), np.asarray(v, float))
        optical = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)], axis=-1)
        return optical @ self.rotation.T

    def floor_points(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Return (n, 2) base_link x, y where the rays meet z = 0; NaN where they never do."""
        rays = self.rays(u, v)
        down = rays[..., 2]
        with np.errstate(divide='ignore', invalid='ignore'):
            s = np.where(down < -_HORIZON_EPS, -self.origin[2] / down, np.nan)
        return self.origin[:2] + s[..., None] * rays[..., :2]

    def project(self, xy: np.ndarray) -> np.ndarray:
        """Return (n, 2) pixel (u, v) of base_link floor points; NaN behind the camera."""
        points = np.column_stack([np.asarray(xy, float).reshape(-1, 2), np.zeros(len(xy))])
        optical = (points - self.origin) @ self.rotation
        k = self.intrinsics
        with np.errstate(divide='ignore', invalid='ignore'):
            z = np.where(optical[:, 2] > _HORIZON_EPS, optical[:, 2], np.nan)
            return np.column_stack([k.fx * optical[:, 0] / z + k.cx,
                                    k.fy * optical[:, 1] / z + k.cy])


@dataclass(frozen=True)
class ScanConfig:
    """Limits of the virtual scan; `min_obstacle_rows` non-floor rows in a row end the floor."""

    range_min: float = 0.1
    range_max: float = 4.0
    min_obstacle_rows: int = 2


@dataclass(frozen=True)
class ScanGrid:
    """A uniform-angle beam grid in base_link (angles counter-clockwise from +x)."""

    angle_min: float
    angle_increment: float
    beams: int

    @property
    def angle_max(self) -> float:
        """Return the angle of the last beam."""
        return self.angle_min + self.angle_increment * (self.beams - 1)

    def angles(self) -> np.ndarray:
        """Return the beam angles."""
        return self.angle_min + self.angle_increment * np.arange(self.beams)


@dataclass(frozen=True)
class VirtualScan:
    """Ranges on the grid (float32, REP 117) and the obstacle points (n, 2) in base_link."""

    grid: ScanGrid
    ranges: np.ndarray
    points: np.ndarray
    range_min: float
    range_max: float


def column_grid(geometry: CameraGeometry, config: ScanConfig) -> ScanGrid:
    """Return the grid: one beam per column, spanning what the edge columns see at every range.

    The bearing of an edge column's floor points changes a little with range (the camera is
    pitched and sits ahead of base_link); the grid takes the narrowest span so every beam lies
    between columns at every range up to range_max.
    """
    k = geometry.intrinsics
    rows = np.linspace(-0.5, k.height - 0.5, 4 * k.height + 1)
    horizon = _column_bearings(geometry)
    spans = []
    for column in (0, k.width - 1):
        xy = geometry.floor_points(np.full_like(rows, float(column)), rows)
        ranges = np.hypot(xy[:, 0], xy[:, 1])
        usable = np.isfinite(ranges) & (ranges <= config.range_max)
        if not usable.any():
            raise ValueError('the camera sees no floor within range_max: check its mounting pose')
        # A column without a hit is placed at its horizon bearing: that must be inside too.
        spans.append(np.append(np.arctan2(xy[usable, 1], xy[usable, 0]), horizon[column]))
    left, right = spans
    angle_min, angle_max = float(right.max()), float(left.min())
    if angle_max <= angle_min:
        raise ValueError('the camera columns do not span a bearing interval')
    return ScanGrid(angle_min, (angle_max - angle_min) / (k.width - 1), k.width)


def boundary_rows(floor_margin: np.ndarray, min_obstacle_rows: int = 1) -> np.ndarray:
    """Return per column the sub-pixel row where the floor seen from the bottom ends.

    `floor_margin` (H, W) is > 0 where the pixel is floor. The boundary lies between the first
    run of `min_obstacle_rows` non-floor pixels (searching up) and the floor pixel below it,
    where the margin crosses zero; NaN for a column that is floor to the top. A run that
    starts at the bottom row gives the bottom edge, H - 0.5.
    """
    height, width = floor_margin.shape
    non_floor = ~(floor_margin > 0)
    # obstacle_run[r]: rows r-run+1..r all non-floor; rows above the image count as non-floor,
    # so a run may end at the top edge.
    obstacle_run = non_floor.copy()
    for k in range(1, max(1, int(min_obstacle_rows))):
        obstacle_run[k:] &= non_floor[:-k]
    from_bottom = obstacle_run[::-1]
    first = from_bottom.argmax(axis=0)
    found = from_bottom[first, np.arange(width)]
    row = height - 1 - first
    result = np.full(width, np.nan)
    cols = np.flatnonzero(found)
    at_bottom = row[cols] == height - 1
    result[cols[at_bottom]] = height - 0.5
    inner = cols[~at_bottom]
    r = row[inner]
    below = floor_margin[r + 1, inner].astype(float)
    above = floor_margin[r, inner].astype(float)
    result[inner] = (r + 1) - below / (below - above)
    return result


def virtual_scan(floor_margin: np.ndarray, geometry: CameraGeometry, grid: ScanGrid,
                 config: ScanConfig) -> VirtualScan:
    """Return the virtual scan of one frame's floor margin (H, W) at the geometry's size."""
    height, width = floor_margin.shape
    k = geometry.intrinsics
    if (width, height) != (k.width, k.height):
        raise ValueError(f'margin is {width}x{height}, the geometry {k.width}x{k.height}')
    columns = np.arange(width, dtype=float)
    rows = boundary_rows(floor_margin, config.min_obstacle_rows)
    found = np.isfinite(rows)
    xy = geometry.floor_points(columns, np.where(found, rows, k.cy))
    ranges = np.hypot(xy[:, 0], xy[:, 1])
    hit = found & np.isfinite(ranges) & (ranges <= config.range_max)
    bearings = np.where(hit, np.arctan2(xy[:, 1], xy[:, 0]), _column_bearings(geometry))
    ranges = np.where(hit, ranges, np.inf)
    beams = resample(bearings, ranges, grid)
    beams[beams < config.range_min] = -np.inf
    return VirtualScan(grid, beams.astype(np.float32), xy[hit & (ranges >= config.range_min)],
                       config.range_min, config.range_max)


def _column_bearings(geometry: CameraGeometry) -> np.ndarray:
    """Return each column's bearing for a column without a hit: its ray's azimuth at the horizon.

    Far along a column the floor point's bearing tends to the azimuth of the ray's horizontal
    direction at the horizon row; that is where a column with no obstacle looks.
    """
    k = geometry.intrinsics
    columns = np.arange(k.width, dtype=float)
    rays = geometry.rays(columns, np.full_like(columns, k.cy))
    return np.arctan2(rays[:, 1], rays[:, 0])


def resample(bearings: np.ndarray, ranges: np.ndarray, grid: ScanGrid) -> np.ndarray:
    """Resample per-column (bearing, range) onto the grid.

    Between two columns that both hit, the range is interpolated linearly in bearing; next to a
    column without a hit, the nearer column's value is taken; beyond the columns it is NaN.
    """
    order = np.argsort(bearings)
    b, r = bearings[order], ranges[order]
    angles = grid.angles()
    upper = np.clip(np.searchsorted(b, angles), 1, len(b) - 1)
    lower = upper - 1
    span = b[upper] - b[lower]
    with np.errstate(divide='ignore', invalid='ignore'):
        t = np.clip(np.where(span > 0, (angles - b[lower]) / span, 0.0), 0.0, 1.0)
    both = np.isfinite(r[lower]) & np.isfinite(r[upper])
    nearest = np.where(t < 0.5, r[lower], r[upper])
    with np.errstate(invalid='ignore'):
        linear = r[lower] + t * (r[upper] - r[lower])
    out = np.where(both, linear, nearest)
    slack = 0.5 * abs(grid.angle_increment)
    outside = (angles < b[0] - slack) | (angles > b[-1] + slack)
    out[outside] = np.nan
    return out


def floor_margin_from_labels(floor: np.ndarray) -> np.ndarray:
    """Return the margin of a hard floor labelling (+1 floor, -1 not)."""
    return np.where(floor, 1.0, -1.0).astype(np.float32)
