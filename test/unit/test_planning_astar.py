"""Planner: never through a blocked cell, no corner cutting, near-shortest, honest statuses."""

import heapq
import math

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from robo_edge.planning.astar import GridPlanner, PlannerParams, PlanStatus, plan_path
from robo_edge.planning.inflation import CostMap, InflationParams, inflate
from robo_edge.planning.path_checks import distance_to_path, path_blocked, supercover
from robo_edge.robot.grid import Grid

RES = 0.05
SQ2 = math.sqrt(2)


def costmap_of(data: np.ndarray, radius: int = 0, margin: int = 0, **grid_kw: float) -> CostMap:
    data = np.asarray(data, dtype=np.int8)
    grid = Grid(RES, data.shape[1], data.shape[0], data, **grid_kw)
    return inflate(grid, InflationParams(radius * RES, margin * RES))


def reference_distance(blocked: np.ndarray, start: tuple, goal: tuple) -> float:
    """Shortest 8-connected path (cells) with no corner cutting, by a plain Dijkstra."""
    h, w = blocked.shape
    free = ~blocked
    dist = {start: 0.0}
    heap = [(0.0, start)]
    while heap:
        d, (c, r) = heapq.heappop(heap)
        if (c, r) == goal:
            return d
        if d > dist[(c, r)]:
            continue
        for dc in (-1, 0, 1):
            for dr in (-1, 0, 1):
                nc, nr = c + dc, r + dr
                if (dc, dr) == (0, 0) or not (0 <= nc < w and 0 <= nr < h) or not free[nr, nc]:
                    continue
                if dc and dr and not (free[r, nc] and free[nr, c]):
                    continue
                nd = d + (SQ2 if dc and dr else 1.0)
                if nd < dist.get((nc, nr), math.inf):
                    dist[(nc, nr)] = nd
                    heapq.heappush(heap, (nd, (nc, nr)))
    return math.inf


def touches(p0: np.ndarray, p1: np.ndarray, col: int, row: int, grow: float = 0.0) -> bool:
    """Whether segment p0-p1 meets the closed square of cell (col, row) (Liang-Barsky)."""
    t0, t1 = 0.0, 1.0
    d = p1 - p0
    for p, q in ((-d[0], p0[0] - (col - grow)), (d[0], col + 1 + grow - p0[0]),
                 (-d[1], p0[1] - (row - grow)), (d[1], row + 1 + grow - p0[1])):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            t0 = max(t0, q / p)
        else:
            t1 = min(t1, q / p)
    return t0 <= t1


def touched_cells(p0: np.ndarray, p1: np.ndarray, grow: float = 0.0) -> set:
    lo = np.floor(np.minimum(p0, p1) - 1).astype(int)
    hi = np.floor(np.maximum(p0, p1) + 1).astype(int)
    # A near-zero direction component divides to +-inf, which the clipping handles.
    with np.errstate(over='ignore', divide='ignore'):
        return {(c, r) for c in range(lo[0], hi[0] + 1) for r in range(lo[1], hi[1] + 1)
                if touches(p0, p1, c, r, grow)}


def assert_path_free(costmap: CostMap, path: list) -> None:
    coords = costmap.grid.world_to_grid(np.array(path))
    h, w = costmap.blocked.shape
    for a, b in zip(coords[:-1], coords[1:], strict=True):
        for c, r in touched_cells(a, b):
            assert 0 <= c < w and 0 <= r < h, f'segment {a}-{b} leaves the grid at {(c, r)}'
            assert not costmap.blocked[r, c], f'segment {a}-{b} crosses blocked {(c, r)}'


@st.composite
def random_grids(draw: st.DrawFn) -> np.ndarray:
    w, h = draw(st.integers(6, 30)), draw(st.integers(6, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = np.zeros((h, w), np.int8)
    for _ in range(draw(st.integers(0, 8))):
        c, r = rng.integers(0, w), rng.integers(0, h)
        data[r:r + rng.integers(1, 6), c:c + rng.integers(1, 6)] = 100
    data[rng.random((h, w)) < draw(st.floats(0, 0.25))] = 100
    return data


@settings(max_examples=120, deadline=None)
@given(data=random_grids(), radius=st.integers(0, 2), margin=st.integers(0, 1),
       weight=st.floats(0.0, 0.15), shortcut=st.booleans(), landmarks=st.sampled_from([0, 1, 4]),
       pick=st.data())
def test_paths_are_free_near_shortest_and_honest(
        data: np.ndarray, radius: int, margin: int, weight: float, shortcut: bool,
        landmarks: int, pick: st.DataObject) -> None:
    costmap = costmap_of(data, radius, margin)
    free = np.argwhere(~costmap.blocked)
    assume(len(free) >= 2)
    (sr, sc), (gr, gc) = (free[pick.draw(st.integers(0, len(free) - 1))] for _ in range(2))
    grid = costmap.grid
    start, goal = grid.cell_to_world(sc, sr), grid.cell_to_world(gc, gr)
    params = PlannerParams(weight, shortcut=shortcut, landmarks=landmarks)
    result = plan_path(costmap, start, goal, params)
    best = reference_distance(costmap.blocked, (sc, sr), (gc, gr))
    event(result.status.value)
    if math.isinf(best):
        assert result.status is PlanStatus.UNREACHABLE and not result.path
        return
    assert result.status is PlanStatus.OK
    assert result.path[0] == pytest.approx(start) and result.path[-1] == pytest.approx(goal)
    assert_path_free(costmap, result.path)
    lengths = np.hypot(*np.diff(np.array(result.path), axis=0).T)
    assert result.length_m == pytest.approx(lengths.sum(), abs=1e-9)
    assert result.length_m <= (1 + weight) * best * RES + 1e-9
    assert result.length_m >= math.dist(start, goal) - 1e-9


@settings(max_examples=40, deadline=None)
@given(data=random_grids(), radius=st.integers(0, 2), margin=st.integers(0, 1),
       snap=st.integers(0, 4), pick=st.data())
def test_blocked_start_snaps_to_a_connected_free_cell_or_says_why(
        data: np.ndarray, radius: int, margin: int, snap: int, pick: st.DataObject) -> None:
    costmap = costmap_of(data, radius, margin)
    blocked, free = np.argwhere(costmap.blocked), np.argwhere(~costmap.blocked)
    assume(len(blocked) and len(free))
    sr, sc = blocked[pick.draw(st.integers(0, len(blocked) - 1))]
    gr, gc = free[pick.draw(st.integers(0, len(free) - 1))]
    grid = costmap.grid
    result = plan_path(costmap, grid.cell_to_world(sc, sr), grid.cell_to_world(gc, gr),
                       PlannerParams(start_snap_radius_m=snap * RES))
    near = [(c, r) for r, c in free if (c - sc) ** 2 + (r - sr) ** 2 <= snap ** 2]
    reachable = [n for n in near if reference_distance(costmap.blocked, n, (gc, gr)) < math.inf]
    event(result.status.value)
    if result.has_path:
        assert result.status is PlanStatus.START_BLOCKED
        first = grid.world_to_cell(*result.path[0])
        assert first in reachable
        nearest = min((c - sc) ** 2 + (r - sr) ** 2 for c, r in reachable)
        assert (first[0] - sc) ** 2 + (first[1] - sr) ** 2 == nearest
        assert_path_free(costmap, result.path)
    elif result.status is PlanStatus.START_BLOCKED:
        assert not near
    else:
        assert result.status is PlanStatus.UNREACHABLE and near and not reachable


@settings(max_examples=40, deadline=None)
@given(data=random_grids(), pick=st.data())
def test_walled_off_goal_is_unreachable_without_search(
        data: np.ndarray, pick: st.DataObject) -> None:
    h, w = data.shape
    c0, r0 = pick.draw(st.integers(0, w - 3)), pick.draw(st.integers(0, h - 3))
    c1, r1 = pick.draw(st.integers(c0 + 2, w - 1)), pick.draw(st.integers(r0 + 2, h - 1))
    data = data.copy()
    data[r0:r1 + 1, [c0, c1]] = 100
    data[[r0, r1], c0:c1 + 1] = 100
    data[r0 + 1:r1, c0 + 1:c1] = 0
    data[r0 + 1, c0 + 1] = 0
    outside = np.argwhere(data == 0)
    outside = [(r, c) for r, c in outside if not (r0 <= r <= r1 and c0 <= c <= c1)]
    assume(outside)
    sr, sc = outside[pick.draw(st.integers(0, len(outside) - 1))]
    costmap = costmap_of(data)
    grid = costmap.grid
    planner = GridPlanner(costmap)
    result = planner.plan(grid.cell_to_world(sc, sr), grid.cell_to_world(c0 + 1, r0 + 1))
    assert result.status is PlanStatus.UNREACHABLE
    assert result.path == [] and result.expanded == 0


def test_no_squeezing_between_diagonal_obstacles() -> None:
    data = np.array([[0, 100], [100, 0]])
    result = plan_path(costmap_of(data), (0.025, 0.025), (0.075, 0.075))
    assert result.status is PlanStatus.UNREACHABLE


def test_detours_around_a_blocked_corner() -> None:
    data = np.zeros((5, 5))
    data[1, 2] = data[2, 1] = 100
    costmap = costmap_of(data)
    grid = costmap.grid
    result = plan_path(costmap, grid.cell_to_world(1, 1), grid.cell_to_world(2, 2))
    assert result.status is PlanStatus.OK
    assert result.length_m > SQ2 * RES + 1e-9
    assert_path_free(costmap, result.path)


def test_open_grid_gives_the_straight_line() -> None:
    costmap = costmap_of(np.zeros((40, 60)))
    grid = costmap.grid
    start, goal = grid.cell_to_world(2, 3), grid.cell_to_world(55, 30)
    result = plan_path(costmap, start, goal)
    assert result.status is PlanStatus.OK
    assert len(result.path) == 2
    assert result.length_m == pytest.approx(math.dist(start, goal))


def test_exact_start_and_goal_points_are_kept() -> None:
    costmap = costmap_of(np.zeros((20, 20)))
    result = plan_path(costmap, (0.111, 0.222), (0.87, 0.61))
    assert result.path[0] == pytest.approx((0.111, 0.222))
    assert result.path[-1] == pytest.approx((0.87, 0.61))
    assert_path_free(costmap, result.path)


def test_start_equal_to_goal() -> None:
    costmap = costmap_of(np.zeros((5, 5)))
    result = plan_path(costmap, (0.1, 0.1), (0.1, 0.1))
    assert result.status is PlanStatus.OK and result.length_m == 0.0


def test_rotated_and_offset_grid_plans_in_the_map_frame() -> None:
    data = np.zeros((30, 30))
    data[5:25, 15] = 100
    costmap = costmap_of(data, 1, 0, origin_x=3.0, origin_y=-2.0, origin_yaw=0.7)
    grid = costmap.grid
    start, goal = grid.cell_to_world(5, 15), grid.cell_to_world(25, 15)
    result = plan_path(costmap, start, goal)
    assert result.status is PlanStatus.OK
    assert result.path[0] == pytest.approx(start) and result.path[-1] == pytest.approx(goal)
    assert_path_free(costmap, result.path)
    assert path_blocked(costmap, result.path) is None


def test_start_in_inflated_band_plans_from_the_nearest_free_cell() -> None:
    data = np.zeros((30, 30))
    data[:, 10] = 100
    data[0, :] = 100
    costmap = costmap_of(data, radius=2, margin=1)
    grid = costmap.grid
    start = grid.cell_to_world(12, 15)
    result = plan_path(costmap, start, grid.cell_to_world(25, 20), PlannerParams(
        start_snap_radius_m=0.3))
    assert result.status is PlanStatus.START_BLOCKED and result.has_path
    assert grid.world_to_cell(*result.path[0]) == (14, 15)
    assert_path_free(costmap, result.path)


def test_snap_radius_is_inclusive_despite_rounding() -> None:
    data = np.zeros((30, 40))
    data[:, 10] = 100
    costmap = costmap_of(data, radius=4, margin=1)
    grid = costmap.grid
    # 0.3 / 0.05 is 5.999... in floating point; the free cell 6 cells away must still count.
    result = plan_path(costmap, grid.cell_to_world(10, 15), grid.cell_to_world(30, 15),
                       PlannerParams(start_snap_radius_m=0.3))
    assert result.status is PlanStatus.START_BLOCKED and result.has_path
    assert grid.world_to_cell(*result.path[0]) == (16, 15)


def test_start_deep_in_an_obstacle_gets_no_path() -> None:
    data = np.zeros((40, 40))
    data[:, :20] = 100
    costmap = costmap_of(data, radius=1)
    grid = costmap.grid
    result = plan_path(costmap, grid.cell_to_world(5, 20), grid.cell_to_world(30, 20))
    assert result.status is PlanStatus.START_BLOCKED and not result.has_path


def test_goal_blocked_and_out_of_bounds() -> None:
    data = np.zeros((20, 20))
    data[10, 10] = 100
    costmap = costmap_of(data, radius=1)
    grid = costmap.grid
    start = grid.cell_to_world(2, 2)
    assert plan_path(costmap, start, grid.cell_to_world(11, 10)).status is (
        PlanStatus.GOAL_BLOCKED)
    assert plan_path(costmap, start, (5.0, 0.5)).status is PlanStatus.OUT_OF_BOUNDS
    assert plan_path(costmap, (-0.01, 0.5), start).status is PlanStatus.OUT_OF_BOUNDS


def test_replan_to_same_goal_reuses_the_search_tree() -> None:
    data = np.zeros((60, 60))
    data[10:50, 30] = 100
    costmap = costmap_of(data, radius=1)
    grid = costmap.grid
    planner = GridPlanner(costmap)
    goal = grid.cell_to_world(50, 30)
    first = planner.plan(grid.cell_to_world(5, 30), goal)
    assert first.expanded > 0
    strayed = grid.world_to_cell(*first.path[1])
    again = planner.plan(grid.cell_to_world(*strayed), goal)
    fresh = GridPlanner(costmap).plan(grid.cell_to_world(*strayed), goal)
    assert again.expanded == 0
    assert again.path == fresh.path


def test_clearance_weight_keeps_away_from_obstacles() -> None:
    data = np.zeros((40, 80))
    data[0, :] = data[-1, :] = 100
    data[:22, 40] = 100
    costmap = costmap_of(data, radius=1)
    grid = costmap.grid
    start, goal = grid.cell_to_world(5, 25), grid.cell_to_world(75, 25)

    def min_clearance(weight: float) -> float:
        result = plan_path(costmap, start, goal, PlannerParams(weight, shortcut=False))
        coords = grid.world_to_grid(np.array(result.path))
        pairs = zip(coords[:-1], coords[1:], strict=True)
        cells = set().union(*(touched_cells(a, b) for a, b in pairs))
        return min(costmap.clearance_m[r, c] for c, r in cells)

    assert min_clearance(3.0) > min_clearance(0.0) + 0.1


@pytest.mark.parametrize('kwargs', [
    {'clearance_weight': -0.1}, {'clearance_weight': math.inf}, {'start_snap_radius_m': -1.0},
    {'landmarks': -1}, {'landmarks': 9},
])
def test_planner_params_are_validated(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PlannerParams(**kwargs)


# --- path checks ---

coord = st.floats(-3.0, 12.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(x0=coord, y0=coord, x1=coord, y1=coord)
def test_supercover_is_exactly_the_touched_cells(x0: float, y0: float, x1: float,
                                                 y1: float) -> None:
    p0, p1 = np.array([x0, y0]), np.array([x1, y1])
    ours = set(map(tuple, supercover(p0, p1).tolist()))
    assert touched_cells(p0, p1) <= ours
    assert ours <= touched_cells(p0, p1, grow=1e-6)


def test_supercover_of_a_diagonal_step_includes_both_corner_cells() -> None:
    cells = set(map(tuple, supercover((0.5, 0.5), (1.5, 1.5)).tolist()))
    assert cells == {(0, 0), (1, 0), (0, 1), (1, 1)}


def test_path_blocked_names_the_first_blocked_segment() -> None:
    data = np.zeros((20, 20))
    costmap = costmap_of(data)
    grid = costmap.grid
    path = [grid.cell_to_world(*c) for c in ((1, 1), (15, 1), (15, 15), (1, 15))]
    assert path_blocked(costmap, path) is None
    data[10, 15] = 100
    costmap = costmap_of(data)
    assert path_blocked(costmap, path) == 1
    assert path_blocked(costmap, path, start_index=2) is None
    assert path_blocked(costmap, [path[0]]) is None
    assert path_blocked(costmap, [(5.0, 5.0)]) == 0
    assert path_blocked(costmap, []) is None


def test_path_blocked_after_the_map_changes_under_a_plan() -> None:
    data = np.zeros((30, 30))
    costmap = costmap_of(data, radius=1)
    grid = costmap.grid
    result = plan_path(costmap, grid.cell_to_world(2, 15), grid.cell_to_world(27, 15))
    data[15, 14] = 100
    changed = costmap_of(data, radius=1)
    assert path_blocked(changed, result.path) == 0
    replanned = plan_path(changed, result.path[0], result.path[-1])
    assert replanned.status is PlanStatus.OK
    assert path_blocked(changed, replanned.path) is None


def test_distance_to_path() -> None:
    path = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0)]
    assert distance_to_path(path, (1.0, 0.5)) == pytest.approx(0.5)
    assert distance_to_path(path, (3.0, 1.0)) == pytest.approx(1.0)
    assert distance_to_path(path, (-3.0, -4.0)) == pytest.approx(5.0)
    assert distance_to_path([(1.0, 1.0)], (1.0, 2.0)) == pytest.approx(1.0)
    assert distance_to_path([(1.0, 1.0), (1.0, 1.0)], (1.0, 2.0)) == pytest.approx(1.0)
    assert distance_to_path([], (0.0, 0.0)) == math.inf
