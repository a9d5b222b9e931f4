"""Worlds of the digital twin: walls, boxes and cylinders declared in YAML (pure, no PyBullet)."""

import math
from dataclasses import dataclass, field
from pathlib import Path

from robo_edge.exceptions import WorldError
from robo_edge.yaml_fields import Fields, load_yaml

RGB = tuple[float, float, float]
DEFAULT_HEIGHT = 1.0
DEFAULT_COLOR: RGB = (0.55, 0.55, 0.6)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in its own frame, placed at (x, y) with yaw, resting on the floor."""

    name: str
    x: float
    y: float
    yaw: float
    size: tuple[float, float, float]
    color: RGB

    def corners(self) -> list[tuple[float, float]]:
        """Return the four floor-plane corners, counter-clockwise."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        hx, hy = self.size[0] / 2, self.size[1] / 2
        local = [(-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy)]
        return [(self.x + c * u - s * v, self.y + s * u + c * v) for u, v in local]


@dataclass(frozen=True)
class Cylinder:
    """An upright cylinder resting on the floor."""

    name: str
    x: float
    y: float
    radius: float
    height: float
    color: RGB


@dataclass(frozen=True)
class World:
    """A floor and its obstacles; walls are stored as boxes."""

    name: str
    source: str
    boxes: tuple[Box, ...]
    cylinders: tuple[Cylinder, ...]
    floor_color: RGB = (0.8, 0.8, 0.78)
    floor_size: tuple[float, float] = (40.0, 40.0)
    description: str = ''
    spawn_hints: tuple[tuple[float, float, float], ...] = field(default=())

    def bounds(self, margin: float = 0.5) -> tuple[float, float, float, float]:
        """Return (xmin, ymin, xmax, ymax) of every obstacle plus a margin."""
        xs: list[float] = []
        ys: list[float] = []
        for box in self.boxes:
            for x, y in box.corners():
                xs.append(x)
                ys.append(y)
        for cyl in self.cylinders:
            xs += [cyl.x - cyl.radius, cyl.x + cyl.radius]
            ys += [cyl.y - cyl.radius, cyl.y + cyl.radius]
        if not xs:
            return (-5.0, -5.0, 5.0, 5.0)
        return (min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin)


def load_world(path: Path | str) -> World:
    """Load and validate a world file; errors name the file, the key and the expectation."""
    return parse_world(load_yaml(Path(path), WorldError), str(path))


def parse_world(data: object, source: str) -> World:
    """Validate a parsed world document (the `world:` mapping at the root)."""
    root = Fields(data, source, '', WorldError)
    root.reject_unknown({'world'})
    spec = root.sub('world')
    spec.reject_unknown({'name', 'description', 'floor', 'obstacles', 'spawn_hints'})
    floor = spec.sub('floor') if 'floor' in spec.data else None
    if floor is not None:
        floor.reject_unknown({'color', 'size'})
    boxes: list[Box] = []
    cylinders: list[Cylinder] = []
    for index, item in enumerate(spec.items('obstacles')):
        obstacle = Fields(item, source, f'world.obstacles[{index}]', WorldError)
        parsed = _parse_obstacle(obstacle, index)
        (cylinders if isinstance(parsed, Cylinder) else boxes).append(parsed)
    hints = [
        _pose(Fields({'pose': hint}, source, f'world.spawn_hints[{i}]', WorldError))
        for i, hint in enumerate(spec.items('spawn_hints', []))
    ]
    return World(
        name=spec.string('name'),
        source=source,
        boxes=tuple(boxes),
        cylinders=tuple(cylinders),
        floor_color=_color(floor, (0.8, 0.8, 0.78)) if floor else (0.8, 0.8, 0.78),
        floor_size=floor.vector('size', 2, (40.0, 40.0), positive=True) if floor else (40.0, 40.0),
        description=str(spec.raw('description', '')),
        spawn_hints=tuple(hints),
    )


def _pose(fields: Fields) -> tuple[float, float, float]:
    x, y, yaw = fields.vector('pose', 3)
    return (x, y, yaw)


def _color(fields: Fields, default: RGB) -> RGB:
    r, g, b = fields.vector('color', 3, default)
    if not all(0.0 <= c <= 1.0 for c in (r, g, b)):
        raise fields.fail('color', 'three numbers in [0, 1] (r, g, b)', [r, g, b])
    return (r, g, b)


def _parse_obstacle(fields: Fields, index: int) -> Box | Cylinder:
    kind = fields.string('type')
    parsers = {'wall': _parse_wall, 'box': _parse_box, 'cylinder': _parse_cylinder}
    if kind not in parsers:
        raise fields.fail('type', 'one of wall, box, cylinder', kind)
    name = str(fields.raw('name', f'{kind}_{index}'))
    return parsers[kind](fields, name)


def _parse_wall(fields: Fields, name: str) -> Box:
    fields.reject_unknown({'type', 'name', 'from', 'to', 'thickness', 'height', 'color'})
    x0, y0 = fields.vector('from', 2)
    x1, y1 = fields.vector('to', 2)
    length = math.hypot(x1 - x0, y1 - y0)
    if length <= 0.0:
        raise fields.fail('to', 'a point different from "from"', [x1, y1])
    thickness = fields.number('thickness', 0.1, low=0.01, high=10.0)
    height = fields.number('height', DEFAULT_HEIGHT, low=0.01, high=50.0)
    return Box(
        name=name,
        x=(x0 + x1) / 2,
        y=(y0 + y1) / 2,
        yaw=math.atan2(y1 - y0, x1 - x0),
        size=(length + thickness, thickness, height),
        color=_color(fields, DEFAULT_COLOR),
    )


def _parse_box(fields: Fields, name: str) -> Box:
    fields.reject_unknown({'type', 'name', 'pose', 'size', 'color'})
    x, y, yaw = _pose(fields)
    size = fields.vector('size', 3, positive=True)
    return Box(name=name, x=x, y=y, yaw=yaw, size=size, color=_color(fields, DEFAULT_COLOR))


def _parse_cylinder(fields: Fields, name: str) -> Cylinder:
    fields.reject_unknown({'type', 'name', 'position', 'radius', 'height', 'color'})
    x, y = fields.vector('position', 2)
    return Cylinder(
        name=name,
        x=x,
        y=y,
        radius=fields.number('radius', low=0.01, high=20.0),
        height=fields.number('height', DEFAULT_HEIGHT, low=0.01, high=50.0),
        color=_color(fields, DEFAULT_COLOR),
    )
