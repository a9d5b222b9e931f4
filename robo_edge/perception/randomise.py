"""Domain randomisation for the floor-segmentation data: random worlds, looks and poses (pure).

Everything is drawn from a numpy Generator handed in by the caller, so one seed gives one
dataset. Worlds are built as `World` objects in code; the shipped worlds are never drawn here.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from robo_edge.robot.kinematics import Pose2D
from robo_edge.twin.raster import OCCUPIED, rasterise
from robo_edge.twin.world import RGB, Box, Cylinder, World

ROBOT_RADIUS = 0.2  # the base's collision cylinder (sim/robot/diff_drive.urdf)
GRID_RESOLUTION = 0.05
# Grid clearance is measured between cell centres: keep a margin over the robot's radius so a
# pose accepted on the grid is also clear of the true shapes (PyBullet checks it again).
CLEARANCE_MARGIN = 0.06
NEAR_BAND = 0.6  # a 'near' pose has at most this much room between the robot and an obstacle
LAYOUTS = ('room', 'corridors', 'rows', 'open')

Region = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax


@dataclass(frozen=True)
class Looks:
    """How one world is rendered: the light and the camera's pixel noise."""

    light_direction: tuple[float, float, float]
    noise_std: float


@dataclass(frozen=True)
class Jitter:
    """A photometric change applied to a frame after the twin's own noise."""

    brightness: float  # added, in pixel values
    contrast: float  # gain about mid-grey
    gains: tuple[float, float, float]  # per-channel gains (white balance)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Return the jittered rgb8 image."""
        out = (rgb.astype(np.float32) - 128.0) * self.contrast + 128.0 + self.brightness
        out *= np.asarray(self.gains, dtype=np.float32)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


NO_JITTER = Jitter(0.0, 1.0, (1.0, 1.0, 1.0))


@dataclass(frozen=True)
class RandomScene:
    """A generated world, the region its poses are drawn from, and how it looks."""

    world: World
    region: Region
    layout: str
    looks: Looks


def random_looks(rng: np.random.Generator) -> Looks:
    """Draw a light direction (always from above) and a camera noise level."""
    light = (float(rng.uniform(-1.0, 1.0)), float(rng.uniform(-1.0, 1.0)),
             float(rng.uniform(0.25, 1.5)))
    return Looks(light, float(rng.uniform(0.0, 6.0)))


def random_jitter(rng: np.random.Generator) -> Jitter:
    """Draw a brightness, contrast and white-balance change."""
    gains = tuple(float(g) for g in rng.uniform(0.88, 1.12, 3))
    return Jitter(float(rng.uniform(-35.0, 35.0)), float(rng.uniform(0.65, 1.3)), gains)


def random_scene(rng: np.random.Generator, name: str) -> RandomScene:
    """Generate one random world: a layout, sizes, colours, a floor and its looks."""
    layout = LAYOUTS[int(rng.choice(len(LAYOUTS), p=(0.35, 0.25, 0.2, 0.2)))]
    half_x, half_y = rng.uniform(2.5, 10.0, 2)
    centre = rng.uniform(-1.5, 1.5, 2)
    region = (float(centre[0] - half_x), float(centre[1] - half_y),
              float(centre[0] + half_x), float(centre[1] + half_y))
    palette = _Palette.draw(rng)
    boxes: list[Box] = []
    if layout != 'open':
        boxes += _outer_walls(rng, region, palette)
    if layout == 'corridors':
        boxes += _inner_walls(rng, region, palette)
    if layout == 'rows':
        boxes += _rows(rng, region, palette)
    area = (region[2] - region[0]) * (region[3] - region[1])
    clutter = int(rng.poisson(area * rng.uniform(0.0, 0.1))) + (0 if boxes else 3)
    cylinders: list[Cylinder] = []
    for index in range(clutter):
        x, y = rng.uniform(region[0], region[2]), rng.uniform(region[1], region[3])
        if rng.random() < 0.6:
            boxes.append(Box(f'box_{index}', float(x), float(y), float(rng.uniform(-math.pi,
                             math.pi)), _box_size(rng), palette.obstacle(rng)))
        else:
            cylinders.append(Cylinder(f'cyl_{index}', float(x), float(y),
                                      float(rng.uniform(0.05, 0.6)), _height(rng),
                                      palette.obstacle(rng)))
    extent = max(abs(v) for v in region)
    # Sometimes the floor ends just past the room, so its edge and the void beyond show.
    margin = rng.uniform(0.0, 1.0) if rng.random() < 0.2 else rng.uniform(3.0, 30.0)
    side = 2 * (extent + margin)
    world = World(name=name, source='generated', boxes=tuple(boxes), cylinders=tuple(cylinders),
                  floor_color=palette.floor, floor_size=(float(side), float(side)),
                  description=f'random {layout}')
    return RandomScene(world, region, layout, random_looks(rng))


@dataclass(frozen=True)
class _Palette:
    """The floor colour and how obstacle colours relate to it (sometimes almost the same)."""

    floor: RGB
    walls: RGB
    camouflage: float  # probability that an obstacle takes a colour close to the floor's
    spread: float  # how far a camouflaged colour may be from the floor's, per channel

    @staticmethod
    def draw(rng: np.random.Generator) -> '_Palette':
        floor = _grey(rng) if rng.random() < 0.55 else _any_colour(rng)
        camouflage = float(rng.choice((0.0, 0.15, 0.6)))
        spread = float(rng.uniform(0.03, 0.15))
        walls = _near(rng, floor, spread) if rng.random() < camouflage else (
            _grey(rng) if rng.random() < 0.5 else _any_colour(rng))
        return _Palette(floor, walls, camouflage, spread)

    def obstacle(self, rng: np.random.Generator) -> RGB:
        if rng.random() < self.camouflage:
            return _near(rng, self.floor, self.spread)
        return _any_colour(rng)


def _grey(rng: np.random.Generator) -> RGB:
    level = rng.uniform(0.2, 0.92)
    return tuple(float(c) for c in np.clip(level + rng.uniform(-0.05, 0.05, 3), 0.0, 1.0))


def _any_colour(rng: np.random.Generator) -> RGB:
    return tuple(float(c) for c in rng.uniform(0.03, 0.97, 3))


def _near(rng: np.random.Generator, base: RGB, spread: float) -> RGB:
    shifted = np.asarray(base) + rng.uniform(-spread, spread, 3)
    return tuple(float(c) for c in np.clip(shifted, 0.0, 1.0))


def _height(rng: np.random.Generator) -> float:
    # One obstacle in five is low (a step, a pallet, a cable duct): the hardest to see.
    return float(rng.uniform(0.08, 0.35) if rng.random() < 0.2 else rng.uniform(0.35, 2.8))


def _box_size(rng: np.random.Generator) -> tuple[float, float, float]:
    sx, sy = rng.uniform(0.15, 2.0, 2)
    return (float(sx), float(sy), _height(rng))


def _wall(name: str, a: tuple[float, float], b: tuple[float, float], thickness: float,
          height: float, color: RGB) -> Box:
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    return Box(name, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2, math.atan2(b[1] - a[1], b[0] - a[0]),
               (length + thickness, thickness, height), color)


def _outer_walls(rng: np.random.Generator, region: Region, palette: _Palette) -> list[Box]:
    """Four walls around the region, each sometimes missing or with a doorway."""
    x0, y0, x1, y1 = region
    height = float(rng.uniform(0.3, 3.5))
    thickness = float(rng.uniform(0.08, 0.4))
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    walls: list[Box] = []
    for side in range(4):
        if rng.random() < 0.1:
            continue
        a, b = corners[side], corners[(side + 1) % 4]
        color = palette.walls if rng.random() < 0.8 else palette.obstacle(rng)
        walls += _with_doorway(rng, f'wall_{side}', a, b, thickness, height, color, 0.3)
    return walls


def _with_doorway(rng: np.random.Generator, name: str, a: tuple[float, float],
                  b: tuple[float, float], thickness: float, height: float, color: RGB,
                  chance: float) -> list[Box]:
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    gap = rng.uniform(0.8, 2.0)
    if rng.random() >= chance or length < gap + 1.0:
        return [_wall(name, a, b, thickness, height, color)]
    start = rng.uniform(0.5, length - gap - 0.5) / length
    end = start + gap / length
    mid_a = (a[0] + (b[0] - a[0]) * start, a[1] + (b[1] - a[1]) * start)
    mid_b = (a[0] + (b[0] - a[0]) * end, a[1] + (b[1] - a[1]) * end)
    return [_wall(name + '_a', a, mid_a, thickness, height, color),
            _wall(name + '_b', mid_b, b, thickness, height, color)]


def _inner_walls(rng: np.random.Generator, region: Region, palette: _Palette) -> list[Box]:
    """Partitions parallel to the room's sides, with doorways, making corridors and rooms."""
    x0, y0, x1, y1 = region
    height = float(rng.uniform(0.5, 3.0))
    thickness = float(rng.uniform(0.08, 0.25))
    walls: list[Box] = []
    for index in range(int(rng.integers(1, 5))):
        color = palette.walls if rng.random() < 0.7 else palette.obstacle(rng)
        if rng.random() < 0.5:
            y = rng.uniform(y0 + 1.2, y1 - 1.2)
            a, b = (x0, y), (x0 + (x1 - x0) * rng.uniform(0.4, 1.0), y)
        else:
            x = rng.uniform(x0 + 1.2, x1 - 1.2)
            a, b = (x, y0), (x, y0 + (y1 - y0) * rng.uniform(0.4, 1.0))
        if rng.random() < 0.5:  # start from the other side
            a, b = (x0 + x1 - a[0], y0 + y1 - a[1]), (x0 + x1 - b[0], y0 + y1 - b[1])
        walls += _with_doorway(rng, f'partition_{index}', a, b, thickness, height, color, 0.7)
    return walls


def _rows(rng: np.random.Generator, region: Region, palette: _Palette) -> list[Box]:
    """Parallel rows of long boxes (shelves, counters, racks) with aisles between them."""
    x0, y0, x1, y1 = region
    along_x = rng.random() < 0.5
    span = (x1 - x0) if along_x else (y1 - y0)
    across = (y1 - y0) if along_x else (x1 - x0)
    depth = rng.uniform(0.4, 1.4)
    aisle = rng.uniform(1.2, 3.2)
    height = float(rng.uniform(0.5, 2.8))
    length = span * rng.uniform(0.4, 0.85)
    color = palette.obstacle(rng)
    rows: list[Box] = []
    offset = -across / 2 + aisle
    index = 0
    while offset + depth < across / 2 - aisle / 2:
        centre_across = offset + depth / 2
        centre_along = rng.uniform(-(span - length) / 2, (span - length) / 2)
        cx = (x0 + x1) / 2 + (centre_along if along_x else centre_across)
        cy = (y0 + y1) / 2 + (centre_across if along_x else centre_along)
        size = (length, depth, height) if along_x else (depth, length, height)
        rows.append(Box(f'row_{index}', float(cx), float(cy), 0.0,
                        tuple(float(s) for s in size), color))
        offset += depth + aisle
        index += 1
    return rows


@dataclass(frozen=True)
class FreeSpace:
    """Where the robot may stand: grid clearance, nearest obstacle cells and allowed cells."""

    origin: tuple[float, float]
    resolution: float
    clearance: np.ndarray  # metres from each cell centre to the nearest occupied cell centre
    nearest: np.ndarray  # (2, rows, cols) index of that occupied cell
    allowed: np.ndarray  # bool: cells a pose may be drawn from

    def centre(self, row: int, col: int) -> tuple[float, float]:
        """Return the world coordinates of a cell centre."""
        return (self.origin[0] + (col + 0.5) * self.resolution,
                self.origin[1] + (row + 0.5) * self.resolution)


def free_space(world: World, region: Region | None = None) -> FreeSpace:
    """Find the cells where the robot fits.

    With a region, poses come from inside it; without one, from the free space connected to
    the world's spawn hints (a shipped world's interior), or from anywhere inside its bounds.
    """
    margin = 1.0
    if region is not None:  # the grid must reach past the region (open layouts have no walls)
        bounds = world.bounds(0.0)
        margin += max(0.0, bounds[0] - region[0], bounds[1] - region[1],
                      region[2] - bounds[2], region[3] - bounds[3])
    grid = rasterise(world, GRID_RESOLUTION, margin=margin)
    occupied = grid.data.reshape(grid.height, grid.width) == OCCUPIED
    distance, nearest = ndimage.distance_transform_edt(~occupied, return_indices=True)
    clearance = distance * grid.resolution
    fits = clearance >= ROBOT_RADIUS + CLEARANCE_MARGIN
    rows, cols = np.indices(fits.shape)
    xs = grid.origin_x + (cols + 0.5) * grid.resolution
    ys = grid.origin_y + (rows + 0.5) * grid.resolution
    if region is None and world.spawn_hints:
        components, _ = ndimage.label(fits)
        seeds = set()
        for hx, hy, _ in world.spawn_hints:
            col = int((hx - grid.origin_x) / grid.resolution)
            row = int((hy - grid.origin_y) / grid.resolution)
            if 0 <= row < fits.shape[0] and 0 <= col < fits.shape[1] and components[row, col]:
                seeds.add(int(components[row, col]))
        allowed = np.isin(components, sorted(seeds))
    else:
        xmin, ymin, xmax, ymax = region if region is not None else world.bounds(0.0)
        allowed = fits & (xs >= xmin) & (xs <= xmax) & (ys >= ymin) & (ys <= ymax)
    return FreeSpace((grid.origin_x, grid.origin_y), grid.resolution, clearance, nearest,
                     allowed)


def sample_pose(space: FreeSpace, rng: np.random.Generator, near: bool) -> Pose2D:
    """Draw a pose: anywhere facing anywhere, or close to an obstacle and roughly facing it."""
    candidates = space.allowed
    if near:
        band = candidates & (space.clearance <= ROBOT_RADIUS + NEAR_BAND)
        candidates = band if band.any() else candidates
    cells = np.flatnonzero(candidates)
    if cells.size == 0:
        raise ValueError('no free cell where the robot fits')
    row, col = np.unravel_index(int(cells[int(rng.integers(cells.size))]), candidates.shape)
    x, y = space.centre(int(row), int(col))
    x += float(rng.uniform(-0.4, 0.4)) * space.resolution
    y += float(rng.uniform(-0.4, 0.4)) * space.resolution
    if near:
        ox, oy = space.centre(int(space.nearest[0, row, col]), int(space.nearest[1, row, col]))
        yaw = math.atan2(oy - y, ox - x) + float(rng.uniform(-1.0, 1.0))
    else:
        yaw = float(rng.uniform(-math.pi, math.pi))
    yaw = math.atan2(math.sin(yaw), math.cos(yaw))
    return Pose2D(float(x), float(y), yaw)
