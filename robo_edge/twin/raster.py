"""Rasterise a world into an occupancy grid: the ground-truth map (pure numpy).

Used to score navigation (the shortest collision-free path on the true map) and to hand a
static map to the stack.
"""

import numpy as np

from robo_edge.robot.grid import Grid
from robo_edge.twin.world import World

OCCUPIED = 100
FREE = 0


def rasterise(world: World, resolution: float = 0.05, margin: float = 0.5,
              min_height: float = 0.0) -> Grid:
    """Return a Grid covering the world's obstacles (plus a margin): 100 inside, 0 elsewhere.

    Obstacles lower than `min_height` are left out (a LiDAR at that height passes over them).
    """
    xmin, ymin, xmax, ymax = world.bounds(margin)
    width = int(np.ceil((xmax - xmin) / resolution))
    height = int(np.ceil((ymax - ymin) / resolution))
    xs = xmin + (np.arange(width) + 0.5) * resolution
    ys = ymin + (np.arange(height) + 0.5) * resolution
    cx, cy = np.meshgrid(xs, ys)
    occupied = np.zeros((height, width), dtype=bool)
    for box in (b for b in world.boxes if b.size[2] >= min_height):
        c, s = np.cos(box.yaw), np.sin(box.yaw)
        u = c * (cx - box.x) + s * (cy - box.y)
        v = -s * (cx - box.x) + c * (cy - box.y)
        occupied |= (np.abs(u) <= box.size[0] / 2) & (np.abs(v) <= box.size[1] / 2)
    for cyl in (c for c in world.cylinders if c.height >= min_height):
        occupied |= (cx - cyl.x) ** 2 + (cy - cyl.y) ** 2 <= cyl.radius ** 2
    data = np.where(occupied, OCCUPIED, FREE).astype(np.int8)
    return Grid(resolution, width, height, data, origin_x=xmin, origin_y=ymin)
