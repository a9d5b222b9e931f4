"""Mapper and controller timing: the cost of one scan update and of one control tick.

Mapper: 360-beam scans, ray-cast with numpy in a synthetic 8 x 6 m room (a doorway lets some
beams escape as +inf, a few beams are NaN, two pillars stand inside), taken along a loop through
the room and folded into a 400 x 400 grid at 0.05 m; p50/p99/max over --updates updates.
Also the int8 conversion for /map. Controller: regulated pure pursuit ticks closing the loop at
20 Hz on a 10 m S-curve; safety gate ticks with a 360-point scan. Writes
bench/results/mapper_controller.json.
"""

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import _provenance as provenance  # noqa: E402

from robo_edge.control.pure_pursuit import FollowStatus, RegulatedPurePursuit  # noqa: E402
from robo_edge.mapping.mapper import OccupancyMapper, centered_geometry  # noqa: E402
from robo_edge.robot.kinematics import (  # noqa: E402
    BaseLimits,
    Pose2D,
    Velocity,
    accelerate,
    integrate,
    saturate,
)
from robo_edge.safety.gate import GateConfig, GateInputs, GateState, ScanPoints, tick  # noqa: E402

RESULTS = HERE / 'results'
BEAMS, RANGE_MIN, RANGE_MAX = 360, 0.12, 12.0
ANGLE_MIN, INCREMENT = -math.pi, 2 * math.pi / BEAMS
# Room walls as segments (x0, y0, x1, y1); the east wall has a doorway from y = 0.5 to 1.5.
WALLS = np.array([
    (-4.0, -3.0, 4.0, -3.0), (4.0, -3.0, 4.0, 0.5), (4.0, 1.5, 4.0, 3.0),
    (4.0, 3.0, -4.0, 3.0), (-4.0, 3.0, -4.0, -3.0),
])
PILLARS = np.array([(1.5, 1.0, 0.3), (-2.0, -1.0, 0.4)])  # x, y, radius


def segment_hits(ox: float, oy: float, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Return the ray parameter of the nearest wall hit per beam (inf when none)."""
    x0, y0, x1, y1 = (WALLS[:, i][None, :] for i in range(4))
    ex, ey = x1 - x0, y1 - y0
    denom = dx[:, None] * ey - dy[:, None] * ex
    with np.errstate(divide='ignore', invalid='ignore'):
        t = ((x0 - ox) * ey - (y0 - oy) * ex) / denom
        u = ((x0 - ox) * dy[:, None] - (y0 - oy) * dx[:, None]) / denom
    t = np.where((t > 0) & (u >= 0) & (u <= 1), t, np.inf)
    return t.min(axis=1)


def pillar_hits(ox: float, oy: float, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Return the ray parameter of the nearest pillar hit per beam (inf when none)."""
    cx, cy, r = (PILLARS[:, i][None, :] for i in range(3))
    fx, fy = ox - cx, oy - cy
    b = fx * dx[:, None] + fy * dy[:, None]
    disc = b * b - (fx * fx + fy * fy - r * r)
    t = -b - np.sqrt(np.maximum(disc, 0.0))
    return np.where((disc >= 0) & (t > 0), t, np.inf).min(axis=1)


def cast_scan(pose: Pose2D, rng: np.random.Generator) -> np.ndarray:
    """Return REP 117 ranges from `pose` in the room, with noise and a few invalid beams."""
    angles = pose.yaw + ANGLE_MIN + INCREMENT * np.arange(BEAMS)
    dx, dy = np.cos(angles), np.sin(angles)
    ranges = np.minimum(segment_hits(pose.x, pose.y, dx, dy), pillar_hits(pose.x, pose.y, dx, dy))
    ranges = ranges + rng.normal(0.0, 0.01, BEAMS)
    ranges[ranges > RANGE_MAX] = np.inf
    ranges[rng.random(BEAMS) < 0.01] = np.nan
    return ranges


def loop_pose(k: int, count: int) -> Pose2D:
    """Return the k-th pose of an ellipse through the room, facing along it."""
    a = 2 * math.pi * k / count
    return Pose2D(2.8 * math.cos(a), 2.0 * math.sin(a), a + math.pi / 2)


def stats_ms(samples: list[float]) -> dict:
    """Return p50/p99/max/mean of samples in seconds, as milliseconds."""
    ms = np.asarray(samples) * 1e3
    return {'p50': float(np.percentile(ms, 50)), 'p99': float(np.percentile(ms, 99)),
            'max': float(ms.max()), 'mean': float(ms.mean()), 'count': int(ms.size)}


def timed(fn: Callable[[], object]) -> float:
    """Return how long one call takes, in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_mapper(updates: int) -> dict:
    """Time scan updates on a 400 x 400 grid, and the int8 conversion."""
    rng = np.random.default_rng(7)
    poses = [loop_pose(k, updates) for k in range(updates)]
    scans = [cast_scan(pose, rng) for pose in poses]
    mapper = OccupancyMapper(centered_geometry(poses[0].x, poses[0].y, 20.0, 0.05))
    for pose, ranges in zip(poses[:20], scans[:20], strict=True):  # warm-up
        mapper.update(ranges, ANGLE_MIN, INCREMENT, RANGE_MIN, RANGE_MAX, pose)
    update_s = [timed(lambda p=pose, r=ranges: mapper.update(
        r, ANGLE_MIN, INCREMENT, RANGE_MIN, RANGE_MAX, p))
        for pose, ranges in zip(poses, scans, strict=True)]
    grid = mapper.occupancy()
    occupancy_s = [timed(mapper.occupancy) for _ in range(100)]
    g = mapper.geometry
    return {'grid': f'{g.width}x{g.height}', 'resolution_m': g.resolution, 'beams': BEAMS,
            'update_ms': stats_ms(update_s), 'occupancy_int8_ms': stats_ms(occupancy_s),
            'cells_known': int((grid >= 0).sum()), 'cells_occupied': int((grid > 65).sum()),
            'target_p99_ms': 5.0, 'meets_target': stats_ms(update_s)['p99'] <= 5.0}


def s_curve_path() -> list[tuple[float, float]]:
    """Return a 10 m-long S-curve sampled every ~5 cm (about 200 points)."""
    x = np.linspace(0.0, 8.0, 161)
    return list(zip(x, 1.0 * np.sin(x * math.pi / 4), strict=True))


def bench_controller() -> dict:
    """Time pure pursuit ticks while closing the loop at 20 Hz until the goal is reached."""
    limits, dt, path = BaseLimits(), 0.05, s_curve_path()
    controller = RegulatedPurePursuit(limits=limits)
    pose, velocity, samples = Pose2D(0.0, 0.0, math.atan(math.pi / 4)), Velocity(), []
    for _ in range(2000):
        start = time.perf_counter()
        out = controller.compute(path, pose, velocity, dt, 1.0, 0.0)
        samples.append(time.perf_counter() - start)
        velocity = accelerate(velocity, saturate(out.velocity, limits), limits, dt)
        pose = integrate(pose, velocity, dt)
        if out.status is FollowStatus.GOAL_REACHED and velocity == Velocity():
            break
    return {'path_points': len(path), 'tick_ms': stats_ms(samples),
            'goal_reached': out.status is FollowStatus.GOAL_REACHED,
            'sim_time_s': len(samples) * dt}


def bench_gate(ticks: int) -> dict:
    """Time safety gate ticks with a 360-point scan in base_link."""
    rng = np.random.default_rng(3)
    config, state, samples = GateConfig(), GateState(), []
    ranges = cast_scan(Pose2D(0.0, 0.0, 0.0), rng)
    angles = ANGLE_MIN + INCREMENT * np.arange(BEAMS)
    points = (ranges * np.cos(angles), ranges * np.sin(angles))
    for k in range(ticks):
        now = k * 50_000_000
        inputs = GateInputs(now, Velocity(0.5, 0.2), now, 0.6, ScanPoints(*points, now))
        start = time.perf_counter()
        state = tick(state, inputs, config).state
        samples.append(time.perf_counter() - start)
    return {'scan_points': BEAMS, 'tick_ms': stats_ms(samples)}


def main() -> int:
    """Run the three measurements, print them and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--updates', type=int, default=1000, help='mapper updates to time')
    provenance.add_arguments(parser)
    args = parser.parse_args()
    block = provenance.check(args)
    result = {'benchmark': 'mapper_controller', **block,
              'load_average': os.getloadavg(), 'mapper': bench_mapper(args.updates),
              'controller': bench_controller(), 'gate': bench_gate(1000)}
    m, c, g = result['mapper'], result['controller'], result['gate']
    for name, s in (('mapper update', m['update_ms']), ('map -> int8', m['occupancy_int8_ms']),
                    ('controller tick', c['tick_ms']), ('gate tick', g['tick_ms'])):
        print(f'{name:<16} p50 {s["p50"]:6.3f} ms  p99 {s["p99"]:6.3f} ms  '
              f'max {s["max"]:6.3f} ms  (n={s["count"]})')
    print(f'mapper p99 target <= 5 ms: {"met" if m["meets_target"] else "MISSED"}')
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / 'mapper_controller.json'
    out.write_text(json.dumps(result, indent=1), encoding='utf-8')
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
