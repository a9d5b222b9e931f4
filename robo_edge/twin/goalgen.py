"""Reachable navigation goals, and navigation scenarios over generated worlds (pure).

The world is rasterised and inflated by the robot's radius plus the planner's margin, as the
planner inflates its map. Goals are drawn from the free cells connected to the start that stand
GOAL_EXTRA_M beyond the inflation, each at least MIN_SPACING_M from the one before, and the
project's A* (GridPlanner) must find the path between consecutive goals. Candidates that the
route reaches by a detour (through a doorway, round a shelf row) are preferred: a candidate
scores its path length times the ratio of path length to straight distance.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csgraph

from robo_edge import paths
from robo_edge.planning.astar import GridPlanner, PlannerParams, PlanStatus
from robo_edge.planning.inflation import InflationParams, inflate
from robo_edge.robot.profile import RobotProfile, load_profile
from robo_edge.twin.raster import rasterise
from robo_edge.twin.world import World, parse_world
from robo_edge.twin.worldgen import (
    GENERATOR,
    generate_lighting,
    generate_world,
    write_generated,
)
from robo_edge.yaml_fields import load_yaml

RESOLUTION_M = 0.05
MIN_SPACING_M = 3.0
GOAL_EXTRA_M = 0.1  # a goal stands this far beyond the inflation band: no goal on its edge
MAX_LEG_M = 14.0  # longer legs score no higher (keeps runs short)
PREFERRED_FRACTION = 0.25  # goals are drawn from the best-scoring quarter of the candidates
PICK_TRIES = 10
SPEED_M_S = 0.35
PER_GOAL_S = 6.0  # turning at and settling on each goal
SLACK_S = 15.0
Goal = tuple[float, float, float]


def footprint_from_config(document: Mapping, profile: RobotProfile) -> tuple[float, float]:
    """Return (the profile's footprint radius, the planner's inflation_margin).

    `document` is a navigation.yaml document: the margin is the planner's choice, the radius
    the robot's.
    """
    try:
        margin = float(document['planner']['ros__parameters']['inflation_margin'])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError('navigation config: planner.ros__parameters needs a number '
                         'inflation_margin') from e
    return profile.footprint_radius, margin


def installed_footprint(robot: str = 'default',
                        navigation: Path | None = None) -> tuple[float, float]:
    """Return the footprint of an installed robot profile with the installed planner margin."""
    navigation = navigation or paths.share_file('config', 'navigation.yaml')
    return footprint_from_config(load_yaml(navigation),
                                 load_profile(paths.resolve(robot, 'config/robot')))


@dataclass(frozen=True)
class Route:
    """Goals in order and the planned length of each leg (start to first goal first)."""

    goals: tuple[Goal, ...]
    legs_m: tuple[float, ...]

    @property
    def length_m(self) -> float:
        """Return the planned length of the whole route."""
        return float(sum(self.legs_m))


def reach_planner(world: World, robot_radius: float, margin: float,
                  resolution: float = RESOLUTION_M) -> GridPlanner:
    """Return the project's planner on the world's true map, inflated as the planner does."""
    costmap = inflate(rasterise(world, resolution), InflationParams(robot_radius, margin))
    return GridPlanner(costmap, PlannerParams(landmarks=0))


def generate_goals(world: World, start: Sequence[float], count: int, seed: int,
                   robot_radius: float, margin: float) -> list[Goal]:
    """Return `count` goals (x, y, yaw) reachable in turn from `start` by the footprint."""
    return list(plan_route(world, start, count, seed, robot_radius, margin).goals)


def plan_route(world: World, start: Sequence[float], count: int, seed: int,
               robot_radius: float, margin: float) -> Route:
    """Draw the goals and plan every leg; raise ValueError when the start cannot get far."""
    planner = reach_planner(world, robot_radius, margin)
    candidates = _candidates(planner, (float(start[0]), float(start[1])))
    rng = np.random.default_rng([seed, 2])
    here = (float(start[0]), float(start[1]))
    visited, goals, legs = [here], [], []
    for _ in range(count):
        goal, length = _next_goal(planner, candidates, here, visited, rng)
        goals.append(goal)
        legs.append(length)
        here = goal[:2]
        visited.append(here)
    return Route(tuple(goals), tuple(legs))


def _node(planner: GridPlanner, point: tuple[float, float]) -> int:
    """Return the step-graph node of a point, or -1 outside the map or in the inflation."""
    grid = planner.costmap.grid
    col, row = grid.world_to_cell(*point)
    if not grid.in_bounds(col, row):
        return -1
    return int(planner.graph.node_of[row * grid.width + col])


def _candidates(planner: GridPlanner, start: tuple[float, float]) -> np.ndarray:
    """Nodes a goal may take: connected to the start and clear of the inflation band."""
    node = _node(planner, start)
    if node < 0:
        raise ValueError(f'start ({start[0]:.2f}, {start[1]:.2f}) is outside the map or '
                         'inside an obstacle or its inflation')
    costmap, graph = planner.costmap, planner.graph
    clearance = costmap.clearance_m.ravel()[graph.flat_of]
    return (clearance > costmap.params.inflation_m + GOAL_EXTRA_M) & (
        graph.labels == graph.labels[node])


def _next_goal(planner: GridPlanner, candidates: np.ndarray, here: tuple[float, float],
               visited: list[tuple[float, float]], rng: np.random.Generator
               ) -> tuple[Goal, float]:
    """Draw the next goal among the best-scoring candidates; return it and its leg length."""
    graph, grid = planner.graph, planner.costmap.grid
    xs = grid.origin_x + (graph.cols + 0.5) * grid.resolution
    ys = grid.origin_y + (graph.rows + 0.5) * grid.resolution
    path = csgraph.dijkstra(graph.matrix, indices=_node(planner, here)) * grid.resolution
    straight = np.hypot(xs - here[0], ys - here[1])
    nearest = np.min([np.hypot(xs - x, ys - y) for x, y in visited], axis=0)
    ok = candidates & (straight >= MIN_SPACING_M) & np.isfinite(path)
    if not ok.any():
        raise ValueError(f'no goal {MIN_SPACING_M} m or more from ({here[0]:.2f}, '
                         f'{here[1]:.2f}) is reachable with this footprint')
    score = np.zeros_like(path)
    score[ok] = (path[ok] / straight[ok] * np.minimum(path[ok], MAX_LEG_M)
                 * np.minimum(nearest[ok] / MIN_SPACING_M, 1.0))
    best = np.flatnonzero(ok & (score >= np.quantile(score[ok], 1 - PREFERRED_FRACTION)))
    for pick in rng.permutation(best)[:PICK_TRIES]:
        goal = (round(float(xs[pick]), 3), round(float(ys[pick]), 3))
        result = planner.plan(here, goal)
        if result.status == PlanStatus.OK:
            (x0, y0), (x1, y1) = result.path[-2:] if len(result.path) > 1 else (here, goal)
            yaw = min(max(round(math.atan2(y1 - y0, x1 - x0), 3), -3.141), 3.141)
            return (goal[0], goal[1], yaw), result.length_m
    raise ValueError(f'A* found no path from ({here[0]:.2f}, {here[1]:.2f}) to any candidate')


def duration_for(route_m: float, goals: int) -> float:
    """Return a run's time limit: the route at SPEED_M_S, a pause per goal, and slack."""
    return float(5 * math.ceil((route_m / SPEED_M_S + PER_GOAL_S * goals + SLACK_S) / 5))


def generate_scenario(seed: int, goals: int, robot_radius: float, margin: float,
                      kind: str | None = None, world_ref: str | None = None,
                      camera: bool = True) -> dict:
    """Return a navigation scenario document over the seed's world (inline unless world_ref).

    The seed's lighting goes into the scenario's twin settings (`camera.light_direction`);
    `camera=False` turns the camera off (faster runs, no perception).
    """
    doc = generate_world(seed, kind)
    world = parse_world(doc, doc['world']['name'])
    rng = np.random.default_rng([seed, 3])
    start = world.spawn_hints[int(rng.integers(len(world.spawn_hints)))]
    route = plan_route(world, start, goals, seed, robot_radius, margin)
    twin: dict[str, object] = dict(generate_lighting(seed))
    if not camera:
        twin['camera.rate_hz'] = 0
    return {
        'name': f'nav_{world.name}',
        'description': f'Generated by {GENERATOR} from seed {seed}: {len(route.goals)} goals, '
                       f'{route.length_m:.1f} m planned on the true map.',
        'world': world_ref if world_ref is not None else doc['world'],
        'seed': seed,
        'start': list(start),
        'duration_s': duration_for(route.length_m, len(route.goals)),
        'twin': twin,
        'goals': [list(goal) for goal in route.goals],
        'expect': {'collisions': 0, 'goals_reached': 'all'},
    }


def write_scenario(doc: dict, path: Path | str) -> Path:
    """Write a scenario document as YAML (loadable by `load_scenario`); return the path."""
    return write_generated(doc, path)
