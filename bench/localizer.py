"""Scan-to-map localisation: matching cost per scan and pose error against a drifting odometry.

For each world (sim/worlds), the robot follows the shortest path from the navigation scenario's
start through its goals (A* on the true map), at 0.05 m per scan (0.5 m/s at 10 Hz). Scans are
360 beams ray-marched on the rasterised true map (0.02 m) with 0.01 m noise. Odometry drifts:
1% scale on distance, 2% on turns and white noise. Each scan is matched against the map built
so far and then folded in at the matched pose, as the mapper node does (0.1 m, 40 m grid).
Reports p50/p99/max of the match and of the map update (wall ms; the match's process CPU time
too, which a loaded host inflates less), and the position error of the localised and the
dead-reckoned pose. Writes bench/results/localizer.json.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import _provenance as provenance  # noqa: E402
from _stats import percentiles  # noqa: E402

from robo_edge import paths  # noqa: E402
from robo_edge.mapping.localizer import Localizer, ScanData, base_in_map  # noqa: E402
from robo_edge.mapping.mapper import OccupancyMapper, centered_geometry  # noqa: E402
from robo_edge.planning.astar import PlannerParams, plan_path  # noqa: E402
from robo_edge.planning.inflation import InflationParams, inflate  # noqa: E402
from robo_edge.robot.grid import Grid  # noqa: E402
from robo_edge.robot.kinematics import Pose2D, wrap_angle  # noqa: E402
from robo_edge.scenario.spec import load_scenario  # noqa: E402
from robo_edge.twin.raster import rasterise  # noqa: E402
from robo_edge.twin.world import load_world  # noqa: E402

RESULTS = HERE / 'results'
SIM = HERE.parent / 'sim'  # the source tree's files: runs without a ROS install too
WORLDS = ('empty_room', 'warehouse', 'corridors', 'cluttered_room')
BEAMS, RANGE_MIN, RANGE_MAX = 360, 0.12, 12.0
STEP_M = 0.05


def ray_march(grid: Grid, pose: Pose2D, rng: np.random.Generator) -> np.ndarray:
    """Ranges of a 360-beam scan on a raster (first occupied cell), +inf beyond range."""
    angles = pose.yaw - math.pi + 2 * math.pi / BEAMS * np.arange(BEAMS)
    steps = np.arange(RANGE_MIN, RANGE_MAX, grid.resolution / 2)
    xs = pose.x + np.cos(angles)[:, None] * steps[None, :]
    ys = pose.y + np.sin(angles)[:, None] * steps[None, :]
    uv = np.floor(grid.world_to_grid(np.stack([xs.ravel(), ys.ravel()], axis=1))).astype(int)
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < grid.width) & (uv[:, 1] >= 0) & (uv[:, 1] < grid.height)
    hit = np.zeros(uv.shape[0], dtype=bool)
    hit[inside] = grid.data[uv[inside, 1], uv[inside, 0]] > 50
    hit = hit.reshape(BEAMS, steps.size)
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    ranges = np.where(first >= 0, steps[np.maximum(first, 0)], np.inf)
    return ranges + np.where(np.isfinite(ranges), rng.normal(0.0, 0.01, BEAMS), 0.0)


def route(scenario_name: str, truth: Grid) -> list[Pose2D]:
    """Poses every STEP_M along the shortest path through the scenario's goals."""
    scenario = load_scenario(paths.resolve(str(SIM / 'scenarios' / f'{scenario_name}.yaml'),
                                           'sim/scenarios'))
    costmap = inflate(truth, InflationParams(0.25, margin_m=0.0))
    stops = [(scenario.start.x, scenario.start.y)] + [(g.x, g.y) for g in scenario.goals]
    points: list[tuple[float, float]] = []
    for a, b in zip(stops, stops[1:], strict=False):
        result = plan_path(costmap, a, b, PlannerParams(clearance_weight=0.0))
        points += list(result.path)
    poses, yaw = [], scenario.start.yaw
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        length = math.hypot(x1 - x0, y1 - y0)
        if length < 1e-9:
            continue
        yaw = math.atan2(y1 - y0, x1 - x0)
        for f in np.arange(0.0, length, STEP_M):
            poses.append(Pose2D(x0 + f / length * (x1 - x0), y0 + f / length * (y1 - y0), yaw))
    return [Pose2D(scenario.start.x, scenario.start.y, scenario.start.yaw)] * 5 + poses


def drifting_odometry(poses: list[Pose2D], rng: np.random.Generator) -> list[Pose2D]:
    """Odometry from the true increments with scale errors and noise (odom starts at 0)."""
    odom, out = Pose2D(0.0, 0.0, 0.0), []
    for a, b in zip([poses[0], *poses], poses, strict=False):
        c, s = math.cos(a.yaw), math.sin(a.yaw)
        dx, dy = c * (b.x - a.x) + s * (b.y - a.y), -s * (b.x - a.x) + c * (b.y - a.y)
        dyaw = wrap_angle(b.yaw - a.yaw)
        dist = math.hypot(dx, dy)
        dx, dy = dx * 1.01 + rng.normal(0.0, 0.002 * dist), dy * 1.01
        dyaw = dyaw * 1.02 + rng.normal(0.0, 0.004 * dist)
        c, s = math.cos(odom.yaw), math.sin(odom.yaw)
        odom = Pose2D(odom.x + c * dx - s * dy, odom.y + s * dx + c * dy, odom.yaw + dyaw)
        out.append(odom)
    return out


def run_world(world_name: str, seed: int) -> dict:
    """Drive one world's route with a drifting odometry; time and score the localiser."""
    world = load_world(paths.resolve(str(SIM / 'worlds' / f'{world_name}.yaml'), 'sim/worlds'))
    truth = rasterise(world, 0.02)
    poses = route(f'nav_{world_name}', truth)
    rng = np.random.default_rng(seed)
    odometry = drifting_odometry(poses, rng)
    start = poses[0]
    mapper = OccupancyMapper(centered_geometry(start.x, start.y, 40.0, 0.1))
    localizer = Localizer(start)  # odom starts at the start pose
    match_ms, update_ms, match_cpu_ms, errors, dead, accepted = [], [], [], [], [], 0
    for true, odom in zip(poses, odometry, strict=True):
        ranges = ray_march(truth, true, rng)
        scan = ScanData(ranges, -math.pi, 2 * math.pi / BEAMS, RANGE_MIN, RANGE_MAX, 'laser')
        t0, c0 = time.perf_counter(), time.process_time()
        result = localizer.update(scan, odom, mapper)
        t1, c1 = time.perf_counter(), time.process_time()
        mapper.update(ranges, scan.angle_min, scan.angle_increment, RANGE_MIN, RANGE_MAX,
                      result.pose)
        t2 = time.perf_counter()
        match_ms.append((t1 - t0) * 1e3)
        match_cpu_ms.append((c1 - c0) * 1e3)
        update_ms.append((t2 - t1) * 1e3)
        accepted += result.accepted
        errors.append(math.hypot(result.pose.x - true.x, result.pose.y - true.y))
        reckoned = base_in_map(start, odom)
        dead.append(math.hypot(reckoned.x - true.x, reckoned.y - true.y))
    return {
        'scans': len(poses), 'path_m': round(len(poses) * STEP_M, 1),
        'accepted_fraction': accepted / len(poses),
        'match_ms': percentiles(match_ms), 'map_update_ms': percentiles(update_ms),
        'match_cpu_ms': percentiles(match_cpu_ms),
        'localized_error_m': percentiles(errors), 'final_localized_error_m': errors[-1],
        'dead_reckoning_error_m': percentiles(dead), 'final_dead_reckoning_error_m': dead[-1],
    }


def main() -> int:
    """Run every world and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('worlds', nargs='*', default=list(WORLDS))
    provenance.add_arguments(parser)
    args = parser.parse_args()
    block = provenance.check(args)
    start_load = os.getloadavg()
    worlds = {}
    for name in args.worlds:
        worlds[name] = run_world(name, args.seed)
        w = worlds[name]
        print(f'{name:<16} {w["scans"]:>5} scans  match p50 {w["match_ms"]["p50"]:.2f} '
              f'p99 {w["match_ms"]["p99"]:.2f} max {w["match_ms"]["max"]:.2f} ms (cpu p50 '
              f'{w["match_cpu_ms"]["p50"]:.2f} p99 {w["match_cpu_ms"]["p99"]:.2f})  '
              f'update p99 {w["map_update_ms"]["p99"]:.2f} ms  accepted '
              f'{w["accepted_fraction"]:.0%}  error max {w["localized_error_m"]["max"]:.3f} m '
              f'(dead reckoning {w["dead_reckoning_error_m"]["max"]:.3f} m)', flush=True)
    match = [w['match_ms'] for w in worlds.values()]
    load = (start_load, os.getloadavg())
    out = {'benchmark': 'localizer', **block,
           'host': {**block['host'], 'loadavg_start_end': load},
           'seed': args.seed, 'worlds': worlds,
           'summary': {'match_ms_p99_max': max(m['p99'] for m in match),
                       'match_ms_max': max(m['max'] for m in match)}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / 'localizer.json').write_text(json.dumps(out, indent=1), encoding='utf-8')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
