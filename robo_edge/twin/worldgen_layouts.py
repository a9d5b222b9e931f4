"""Layouts of the world generator: rooms, corridor, aisles, hall, and their clutter (pure).

Every layout builds inside a rectangle of clear space closed by outer walls. Passages stay open
by construction: doorways are 0.8-1.0 m wide and kept clear, and a clutter item (seen as its
circumscribed circle) either stands against a side of its zone or keeps GAP_M from every side,
from every other item, and out of the keep-out discs around doorways and spawn points.
No side exceeds about 19.6 m, so the mapper's 40 m grid centred on any start covers the world.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

SPAWN_CLEARANCE_M = 0.8
DOOR_WIDTH_M = (0.8, 1.0)
DOOR_END_M = 0.7  # a doorway stays this far from the ends of its wall
MIN_ROOM_M = 3.0
AISLE_M = (1.6, 2.6)
GAP_M = 0.9
TOUCH_M = 0.03
PLACE_TRIES = 30
Rect = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax of clear space
Circle = tuple[float, float, float]  # x, y, radius


@dataclass
class Plan:
    """A world under construction: obstacles, and where clutter may and may not stand."""

    rng: np.random.Generator
    walls: list[float]
    paint: Callable[[], list[float]]  # draws an obstacle colour
    height: float
    obstacles: list[dict] = field(default_factory=list)
    keepouts: list[Circle] = field(default_factory=list)
    items: list[Circle] = field(default_factory=list)
    spawns: list[tuple[float, float]] = field(default_factory=list)
    doors: list[Circle] = field(default_factory=list)

    def uniform(self, low: float, high: float) -> float:
        """Draw a plain float in [low, high)."""
        return float(self.rng.uniform(low, high))

    def wall(self, axis: int, at: float, span: tuple[float, float], thickness: float,
             doors: tuple[tuple[float, float], ...] = ()) -> None:
        """Add a wall on the line `axis` = at over `span` (+thickness/2), with doorways."""
        pieces, cursor = [], span[0]
        for lo, hi in sorted(doors):
            pieces.append((cursor, lo - thickness / 2))
            cursor = hi + thickness / 2
            centre = _point(axis, at, (lo + hi) / 2)
            self.doors.append((*centre, (hi - lo) / 2))
            self.keepouts.append((*centre, (hi - lo) / 2 + 1.0))
        for a, b in [*pieces, (cursor, span[1])]:
            self.obstacles.append({
                'type': 'wall', 'from': rounded(_point(axis, at, a)),
                'to': rounded(_point(axis, at, b)), 'thickness': round(thickness, 3),
                'height': round(self.height, 3), 'color': list(self.walls)})

    def shell(self, width: tuple[float, float], depth: tuple[float, float]) -> Rect:
        """Outer walls (overlapping at the corners) around a clear rectangle; return it."""
        w, h, t = self.uniform(*width), self.uniform(*depth), self.uniform(0.15, 0.3)
        x0, y0, x1, y1 = -w / 2, -h / 2, w / 2, h / 2
        for at in (y0 - t / 2, y1 + t / 2):
            self.wall(1, at, (x0 - t / 2, x1 + t / 2), t)
        for at in (x0 - t / 2, x1 + t / 2):
            self.wall(0, at, (y0 - t / 2, y1 + t / 2), t)
        return (x0, y0, x1, y1)

    def spawn(self, x: float, y: float) -> None:
        """Reserve a spawn point: clutter keeps out of a disc around it."""
        self.spawns.append((x, y))
        self.keepouts.append((x, y, SPAWN_CLEARANCE_M + 0.2))

    def near_door(self, point: tuple[float, float]) -> bool:
        """Whether a wall ending at `point` would stand in front of a doorway."""
        return any(math.hypot(point[0] - x, point[1] - y) < r + DOOR_END_M
                   for x, y, r in self.doors)


def _point(axis: int, at: float, along: float) -> tuple[float, float]:
    """Return a point on the line `axis` = at (axis 0: x = at, axis 1: y = at)."""
    return (at, along) if axis == 0 else (along, at)


def rounded(values: tuple[float, ...] | list[float]) -> list[float]:
    """Return plain floats rounded to the millimetre."""
    return [round(float(v), 3) for v in values]


def _centre(rect: Rect) -> tuple[float, float]:
    return ((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2)


def rooms(plan: Plan) -> str:
    """Build two to four rooms by recursive splits, each split wall with one doorway."""
    outer = plan.shell((10.0, 18.0), (8.0, 14.0))
    thickness = plan.uniform(0.1, 0.15)
    count, parts = int(plan.rng.integers(2, 5)), [outer]
    while len(parts) < count:
        parts.sort(key=lambda r: (r[2] - r[0]) * (r[3] - r[1]))
        halves = _split(plan, parts[-1], thickness)
        if halves is None:
            break
        parts[-1:] = halves
    for room in parts:
        plan.spawn(*_centre(room))
    scatter(plan, parts, plan.uniform(0.04, 0.08))
    return f'{len(parts)} rooms joined by doorways'


def _split(plan: Plan, room: Rect, thickness: float) -> list[Rect] | None:
    """Split a room across its longer side by a wall with one doorway, or None."""
    axis = 0 if room[2] - room[0] >= room[3] - room[1] else 1
    lo, hi, lo2, hi2 = room[axis], room[axis + 2], room[1 - axis], room[3 - axis]
    for _ in range(20):
        at = lo + (hi - lo) * plan.uniform(0.35, 0.65)
        # A wall ending in front of an existing doorway would block it.
        if min(at - lo, hi - at) - thickness / 2 < MIN_ROOM_M or any(
                plan.near_door(_point(axis, at, end)) for end in (lo2, hi2)):
            continue
        width = plan.uniform(*DOOR_WIDTH_M)
        door = plan.uniform(lo2 + DOOR_END_M + width / 2, hi2 - DOOR_END_M - width / 2)
        plan.wall(axis, at, (lo2, hi2), thickness, ((door - width / 2, door + width / 2),))
        first, second = list(room), list(room)
        first[axis + 2], second[axis] = at - thickness / 2, at + thickness / 2
        return [tuple(first), tuple(second)]
    return None


def corridor(plan: Plan) -> str:
    """Build a long empty corridor with side rooms behind doorways, on one or both sides."""
    length, width, t = plan.uniform(14.0, 19.0), plan.uniform(1.6, 2.4), plan.uniform(0.1, 0.15)
    north = plan.uniform(3.0, 5.0)
    south = plan.uniform(3.0, 5.0) if plan.rng.random() < 0.6 else 0.0
    low = -width / 2 - (south + t if south else 0.0)
    plan.shell((length, length), (width / 2 + t + north - low,) * 2)
    shift = (low + width / 2 + t + north) / 2  # the shell is centred: move the layout into it
    parts: list[Rect] = []
    for side, depth in ((1.0, north), (-1.0, south)):
        if depth:
            parts += _side_rooms(plan, side, width / 2, t, depth, length, -shift)
    for x in (-length / 2 + 1.0, length / 2 - 1.0):
        plan.spawn(x, -shift)
    scatter(plan, parts, plan.uniform(0.04, 0.08))
    return f'a {width:.2f} m corridor with {len(parts)} side rooms'


def _side_rooms(plan: Plan, side: float, half: float, t: float, depth: float,
                length: float, y0: float) -> list[Rect]:
    """Build rooms along one side of the corridor (centre y0), each with a doorway onto it."""
    near, far = y0 + side * (half + t), y0 + side * (half + t + depth)
    cuts, cursor = [], -length / 2
    while True:
        step = plan.uniform(MIN_ROOM_M, 5.0)
        if length / 2 - (cursor + step + t) < MIN_ROOM_M:
            break
        cuts.append(cursor + step + t / 2)
        cursor += step + t
    edges = [-length / 2, *[e for cut in cuts for e in (cut - t / 2, cut + t / 2)], length / 2]
    found, doors = [], []
    for x0, x1 in zip(edges[::2], edges[1::2], strict=True):
        w = plan.uniform(*DOOR_WIDTH_M)
        centre = plan.uniform(x0 + DOOR_END_M + w / 2, x1 - DOOR_END_M - w / 2)
        doors.append((centre - w / 2, centre + w / 2))
        found.append((x0, min(near, far), x1, max(near, far)))
        plan.spawn((x0 + x1) / 2, (near + far) / 2)
    plan.wall(1, y0 + side * (half + t / 2), (-length / 2, length / 2), t, tuple(doors))
    for cut in cuts:
        plan.wall(0, cut, (min(near, far), max(near, far)), t)
    return found


def aisles(plan: Plan) -> str:
    """Build warehouse shelf rows with aisles between them and cross aisles at both ends."""
    x0, y0, x1, y1 = plan.shell((14.0, 19.0), (10.0, 16.0))
    ends, depth, tall = plan.uniform(2.4, 3.2), plan.uniform(0.8, 1.2), plan.uniform(1.5, 2.6)
    shelf = plan.paint()
    zones = [(x0, y0, x0 + ends, y1), (x1 - ends, y0, x1, y1)]
    low, y, rows = y0, y0 + plan.uniform(*AISLE_M), 0
    while y + depth + AISLE_M[0] <= y1:
        zones.append((x0 + ends, low, x1 - ends, y))
        _shelf_row(plan, (x0 + ends, x1 - ends), y, (depth, tall), shelf)
        low, rows = y + depth, rows + 1
        y = low + plan.uniform(*AISLE_M)
    zones.append((x0 + ends, low, x1 - ends, y1))
    for zone in zones[2:]:  # keep the aisle mouths open
        for x in (zone[0], zone[2]):
            plan.keepouts.append((x, (zone[1] + zone[3]) / 2, (zone[3] - zone[1]) / 2 + 0.3))
    for x in (x0 + ends / 2, x1 - ends / 2):
        plan.spawn(x, (y0 + y1) / 2)
    scatter(plan, zones, plan.uniform(0.02, 0.04))
    return f'{rows} shelf rows with aisles'


def _shelf_row(plan: Plan, span: tuple[float, float], y: float, shape: tuple[float, float],
               shelf: list[float]) -> None:
    """Add one shelf row from y to y + depth, sometimes with a cross passage through it."""
    (depth, tall), pieces = shape, [span]
    if plan.rng.random() < 0.4:
        gap, mid = plan.uniform(1.2, 1.8), plan.uniform(-2.0, 2.0)
        pieces = [(span[0], mid - gap / 2), (mid + gap / 2, span[1])]
        plan.keepouts.append((mid, y + depth / 2, gap / 2 + 1.0))
    for a, b in pieces:
        plan.obstacles.append({'type': 'box', 'pose': rounded(((a + b) / 2, y + depth / 2, 0.0)),
                               'size': rounded((b - a, depth, tall)), 'color': shelf})


def hall(plan: Plan) -> str:
    """Build a large open hall: sparse clutter, sometimes a grid of pillars."""
    outer = plan.shell((14.0, 19.0), (12.0, 17.0))
    x0, y0, x1, y1 = outer
    plan.spawn(0.0, 0.0)
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        plan.spawn(sx * (x1 - 1.5), sy * (y1 - 1.5))
    if plan.rng.random() < 0.5:
        step, radius = plan.uniform(4.0, 6.0), plan.uniform(0.15, 0.3)
        colour = plan.paint()
        for x in np.arange(x0 + step / 2, x1 - 1.0, step):
            for y in np.arange(y0 + step / 2, y1 - 1.0, step):
                place(plan, outer, (float(x), float(y), radius), {
                    'type': 'cylinder', 'radius': round(radius, 3), 'height': 3.0,
                    'color': colour})
    scatter(plan, [outer], plan.uniform(0.02, 0.04))
    return 'an open hall with sparse clutter'


LAYOUTS: dict[str, Callable[[Plan], str]] = {
    'rooms': rooms, 'corridor': corridor, 'aisles': aisles, 'hall': hall}


def _item(plan: Plan) -> tuple[float, dict]:
    """Draw a box, a cylinder or a thin pole: its circumscribed radius and its fields."""
    rng, roll = plan.rng, plan.rng.random()
    height = plan.uniform(0.3, 0.5) if rng.random() < 0.3 else plan.uniform(0.5, 1.8)
    fields: dict = {'color': plan.paint()}
    if roll < 0.5:
        sx, sy = plan.uniform(0.3, 1.4), plan.uniform(0.3, 1.4)
        fields.update(type='box', size=rounded((sx, sy, height)))
        return math.hypot(sx, sy) / 2, fields
    radius = plan.uniform(0.12, 0.45) if roll < 0.8 else plan.uniform(0.02, 0.05)
    if roll >= 0.8:
        height = plan.uniform(0.8, 2.2)
    fields.update(type='cylinder', radius=round(radius, 3), height=round(height, 3))
    return radius, fields


def scatter(plan: Plan, zones: list[Rect], density: float) -> None:
    """Place about density x area items per zone, a third of them against a side."""
    for zone in zones:
        area = (zone[2] - zone[0]) * (zone[3] - zone[1])
        for _ in range(int(plan.rng.poisson(area * density))):
            radius, fields = _item(plan)
            for _ in range(PLACE_TRIES):
                low = (zone[0] + radius + TOUCH_M, zone[1] + radius + TOUCH_M)
                high = (zone[2] - radius - TOUCH_M, zone[3] - radius - TOUCH_M)
                if low[0] >= high[0] or low[1] >= high[1]:
                    break
                xy = [plan.uniform(low[0], high[0]), plan.uniform(low[1], high[1])]
                if plan.rng.random() < 0.35:
                    axis = int(plan.rng.integers(2))
                    xy[axis] = (low if plan.rng.random() < 0.5 else high)[axis]
                if place(plan, zone, (xy[0], xy[1], radius), fields):
                    break


def place(plan: Plan, zone: Rect, circle: Circle, fields: dict) -> bool:
    """Add an item if it keeps the passages open (see the module's docstring)."""
    x, y, r = circle
    gaps = (x - r - zone[0], y - r - zone[1], zone[2] - x - r, zone[3] - y - r)
    touching = [g <= TOUCH_M + 1e-6 for g in gaps]
    if any(g < TOUCH_M - 1e-6 or (TOUCH_M + 1e-6 < g < GAP_M) for g in gaps) or (
            touching[0] and touching[2]) or (touching[1] and touching[3]):
        return False
    if any(math.hypot(x - ix, y - iy) < r + ir + GAP_M for ix, iy, ir in plan.items) or any(
            math.hypot(x - kx, y - ky) < r + kr for kx, ky, kr in plan.keepouts):
        return False
    plan.items.append(circle)
    where = ({'pose': rounded((x, y, plan.uniform(-math.pi, math.pi)))}
             if fields['type'] == 'box' else {'position': rounded((x, y))})
    plan.obstacles.append({'type': fields['type'], **where,
                           **{k: v for k, v in fields.items() if k != 'type'}})
    return True
