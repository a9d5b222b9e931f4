"""Rasterise a world into an occupancy grid: the ground-truth map (pure numpy).

Used to score navigation (the shortest collision-free path on the true map) and to hand a
static map to the stack.
"""

import numpy as np

from robo_edge.robot.grid import Grid
from robo_edge.twin.world import World

OCCUPIED = 100
FREE = 0


def rasterise(world: World, resolution: float = 0.05, margin: float = 0.5) -> Grid:
    """Return a Grid covering the world's obstacles (plus a margin): 100 inside, 0 elsewhere."""
    xmin, ymin, xmax, ymax = world.bounds(margin)
    width = int(np.ceil((xmax - xmin) / resolution))
    height = int(np.ceil((ymax - ymin) / resolution))
    xs = xmin + (np.arange(width) + 0.5) * resolution
    ys = ymin + (np.arange(height) + 0.5) * resolution
    cx, cy = np.meshgrid(xs, ys)
    occupied = np.zeros((height, width), dtype=bool)
    for box in world.boxes:
        c, s = np.cos(box.yaw), np.sin(box.yaw)
        u = c * (cx - box.x) + s * (cy - box.y)
        v = -s * (cx - box.x) + c * (cy - box.y)
        occupied |= (np.abs(u) <= box.size[0] / 2) & (np.abs(v) <= box.size[1] / 2)
    for cyl in world.cylinders:
        occupied |= (cx - cyl.x) ** 2 + (cy - cyl.y) ** 2 <= cyl.radius ** 2
    data = np.where(occupied, OCCUPIED, FREE).astype(np.int8)
    return Grid(resolution, width, height, data, origin_x=xmin, origin_y=ymin)
