"""Global planner timing and path quality on 400x400 grids (0.05 m cells, 20 m x 20 m).

Maps (seeded): random rectangles at 10% and 20% occupied, and warehouse-like racks with aisles
and a few pallets. Robot radius 0.2 m + margin 0.1 m. For `--pairs` random start/goal pairs
that are reachable (distinct goals, so no search is reused) it measures:
  plan       one GridPlanner.plan on a prepared map (graph built once per map)
  cold       inflate + graph + plan, as after a map change (a subset of pairs)
  replan     the robot strayed off the path: same map, same goal (reuses the search tree)
and path length / shortest collision-free 8-connected grid path (Dijkstra with unit steps).
Targets from the issue: plan p99 <= 50 ms, length ratio <= 1.15. Writes bench/results/planner.json.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy
from scipy.sparse import csgraph

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _provenance as provenance  # noqa: E402

from robo_edge.planning.astar import GridPlanner, PlannerParams, build_graph  # noqa: E402
from robo_edge.planning.inflation import InflationParams, inflate  # noqa: E402
from robo_edge.robot.grid import Grid  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results'
SIZE, RES = 400, 0.05
INFLATION = InflationParams(robot_radius_m=0.2, margin_m=0.1)
TARGET_P99_MS, TARGET_RATIO = 50.0, 1.15


def walled(n: int) -> np.ndarray:
    """Return an empty n x n map with a one-cell outer wall."""
    occ = np.zeros((n, n), dtype=bool)
    occ[[0, -1], :] = occ[:, [0, -1]] = True
    return occ


def clutter(rng: np.random.Generator, n: int, density: float) -> np.ndarray:
    """Random rectangles 0.2-1.5 m a side until `density` of the cells are occupied."""
    occ = walled(n)
    while occ.mean() < density:
        w, h = rng.integers(4, 31, size=2)
        x, y = rng.integers(0, n, size=2)
        occ[y:y + h, x:x + w] = True
    return occ


def warehouse(rng: np.random.Generator, n: int) -> np.ndarray:
    """Racks 1 m deep with 2 m aisles, a middle cross aisle, and pallets in the aisles."""
    occ = walled(n)
    for x in range(40, n - 40, 60):
        occ[60:n // 2 - 20, x:x + 20] = True
        occ[n // 2 + 20:n - 60, x:x + 20] = True
    for _ in range(12):
        x, y = rng.integers(20, n - 20, size=2)
        occ[y:y + rng.integers(6, 12), x:x + rng.integers(6, 12)] = True
    return occ


def pairs(planner: GridPlanner, rng: np.random.Generator, count: int) -> list[tuple]:
    """Random reachable (start cell, goal cell) pairs with distinct goals, as (col, row)."""
    graph = planner.graph
    width = planner.costmap.grid.width
    chosen: list[tuple] = []
    goals: set[int] = set()
    while len(chosen) < count:
        s, g = rng.integers(graph.flat_of.size, size=2)
        if s == g or g in goals or graph.labels[s] != graph.labels[g]:
            continue
        goals.add(int(g))
        (sr, sc), (gr, gc) = (divmod(int(graph.flat_of[k]), width) for k in (s, g))
        chosen.append(((sc, sr), (gc, gr)))
    return chosen


def shortest_m(reference: object, graph: object, start: tuple, goal: tuple,
               width: int) -> float:
    """Shortest 8-connected grid path (no corner cutting, no clearance cost) in metres."""
    s = graph.node_of[start[1] * width + start[0]]
    g = graph.node_of[goal[1] * width + goal[0]]
    return float(csgraph.dijkstra(reference, indices=int(s))[int(g)]) * RES


def timed(fn: object, *args: object) -> tuple[object, float]:
    """Call fn(*args) and return its result and the wall time in ms."""
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1e3


def stray_point(grid: Grid, costmap: object, path: list) -> tuple | None:
    """Return a free point 0.25 m beside the first path segment's middle, or None."""
    a, b = np.asarray(path[0]), np.asarray(path[1])
    d = b - a
    normal = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)
    x, y = (a + b) / 2 + 0.25 * normal
    col, row = grid.world_to_cell(float(x), float(y))
    if grid.in_bounds(col, row) and not costmap.blocked[row, col]:
        return float(x), float(y)
    return None


def run_pair(planners: dict, reference: object, pair: tuple) -> dict:
    """Plan one pair with and without shortcutting; measure a stray replan."""
    planner, raw = planners['shortcut'], planners['raw']
    grid = planner.costmap.grid
    start, goal = (grid.cell_to_world(*cell) for cell in pair)
    result, ms = timed(planner.plan, start, goal)
    raw_result = raw.plan(start, goal)
    best = shortest_m(reference, planner.graph, *pair, grid.width)
    row = {'ms': ms, 'expanded': result.expanded, 'status': result.status.value,
           'ratio': result.length_m / best if best > 0 else 1.0,
           'raw_ratio': raw_result.length_m / best if best > 0 else 1.0,
           'straight_m': float(np.hypot(*np.subtract(start, goal)))}
    stray = stray_point(grid, planner.costmap, result.path)
    if stray is not None:
        replan, row['replan_ms'] = timed(planner.plan, stray, goal)
        row['replan_reused'] = replan.expanded == 0
    return row


def cold_ms(grid: Grid, pair: tuple) -> float:
    """Inflate, build and plan from scratch (what a map change costs)."""
    t0 = time.perf_counter()
    planner = GridPlanner(inflate(grid, INFLATION))
    planner.plan(grid.cell_to_world(*pair[0]), grid.cell_to_world(*pair[1]))
    return (time.perf_counter() - t0) * 1e3


def stats(values: list[float]) -> dict:
    """p50 / p99 / max / mean of a sample."""
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return {}
    return {'p50': float(np.percentile(a, 50)), 'p99': float(np.percentile(a, 99)),
            'max': float(a.max()), 'mean': float(a.mean()), 'count': int(a.size)}


def bench_map(name: str, occ: np.ndarray, rng: np.random.Generator, count: int,
              cold_count: int) -> dict:
    """Measure one map."""
    grid = Grid(RES, SIZE, SIZE, np.where(occ, 100, 0).astype(np.int8))
    costmap, inflate_ms = timed(inflate, grid, INFLATION)
    planners = {'shortcut': GridPlanner(costmap), 'raw': GridPlanner(
        costmap, PlannerParams(shortcut=False))}
    _, graph_ms = timed(lambda: planners['shortcut'].graph)
    reference = build_graph(costmap, 0.0).matrix
    chosen = pairs(planners['shortcut'], rng, count)
    rows = [run_pair(planners, reference, pair) for pair in chosen]
    colds = [cold_ms(grid, pair) for pair in chosen[:cold_count]]
    replans = [r['replan_ms'] for r in rows if r.get('replan_reused')]
    return {
        'map': name, 'occupied_fraction': float(occ.mean()),
        'blocked_fraction': float(costmap.blocked.mean()), 'inflate_ms': inflate_ms,
        'graph_ms': graph_ms, 'pairs': len(rows),
        'statuses': sorted({r['status'] for r in rows}),
        'plan_ms': stats([r['ms'] for r in rows]),
        'expanded': stats([r['expanded'] for r in rows]),
        'length_ratio': stats([r['ratio'] for r in rows]),
        'raw_length_ratio': stats([r['raw_ratio'] for r in rows]),
        'straight_m': stats([r['straight_m'] for r in rows]),
        'cold_ms': stats(colds), 'replan_reuse_ms': stats(replans),
    }


def print_table(maps: list[dict]) -> None:
    """Print the summary table."""
    print(f'{"map":<12} {"blocked":>7} {"plan p50":>9} {"p99":>7} {"max":>7} {"exp p50":>8} '
          f'{"exp p99":>8} {"ratio p50":>9} {"p99":>6} {"max":>6} {"raw max":>7} '
          f'{"cold p99":>8} {"replan p99":>10}')
    for m in maps:
        p, e, r = m['plan_ms'], m['expanded'], m['length_ratio']
        print(f'{m["map"]:<12} {m["blocked_fraction"]:>7.2f} {p["p50"]:>7.1f}ms '
              f'{p["p99"]:>5.1f}ms {p["max"]:>5.1f}ms {e["p50"]:>8.0f} {e["p99"]:>8.0f} '
              f'{r["p50"]:>9.3f} {r["p99"]:>6.3f} {r["max"]:>6.3f} '
              f'{m["raw_length_ratio"]["max"]:>7.3f} {m["cold_ms"].get("p99", 0):>6.1f}ms '
              f'{m["replan_reuse_ms"].get("p99", 0):>8.2f}ms')


def main() -> int:
    """Run every map and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', type=int, default=200)
    parser.add_argument('--cold', type=int, default=20, help='pairs also timed from scratch')
    parser.add_argument('--seed', type=int, default=7)
    provenance.add_arguments(parser)
    args = parser.parse_args()
    block = provenance.check(args)
    rng = np.random.default_rng(args.seed)
    load_start = os.getloadavg()
    maps = [bench_map(name, occ, rng, args.pairs, args.cold) for name, occ in (
        ('clutter_10', clutter(rng, SIZE, 0.10)), ('clutter_20', clutter(rng, SIZE, 0.20)),
        ('warehouse', warehouse(rng, SIZE)))]
    print_table(maps)
    worst_p99 = max(m['plan_ms']['p99'] for m in maps)
    worst_ratio = max(m['length_ratio']['max'] for m in maps)
    verdict = {'plan_p99_ms': worst_p99, 'length_ratio_max': worst_ratio,
               'meets_p99': worst_p99 <= TARGET_P99_MS, 'meets_ratio': worst_ratio <= TARGET_RATIO}
    print(f'worst plan p99 {worst_p99:.1f} ms (target <= {TARGET_P99_MS}), worst length ratio '
          f'{worst_ratio:.3f} (target <= {TARGET_RATIO})')
    out = {'benchmark': 'planner', **block, 'scipy': scipy.__version__,
           'load_average': {'start': load_start, 'end': os.getloadavg()},
           'grid': {'size': SIZE, 'resolution_m': RES}, 'inflation': INFLATION.__dict__,
           'planner': PlannerParams().__dict__, 'seed': args.seed, 'maps': maps,
           'targets': {'plan_p99_ms': TARGET_P99_MS, 'length_ratio': TARGET_RATIO},
           'verdict': verdict}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / 'planner.json').write_text(json.dumps(out, indent=1), encoding='utf-8')
    print(f'wrote {RESULTS / "planner.json"}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
