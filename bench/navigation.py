"""Navigation in the twin: every world x seeds x its goal list, scored against the true map.

For each run: success (all goals reached), collisions, per-leg path length against the
shortest collision-free path on the rasterised true map, time to each goal, minimum clearance,
and the controller's tick latency (from its diagnostics in the recording). Writes
bench/results/navigation.json and .png (`--output` renames them).

Two shortest paths are the reference for each leg. `path_ratio` (the target) uses the grid
inflated by the robot radius plus the safety gate's lateral margin (`width_margin` in
config/navigation.yaml): the gate stops the robot before any return inside that envelope, so
no path with less clearance can be driven. `path_ratio_body` uses the robot radius alone, so
it shows where that reference squeezes through a gap the envelope does not fit.
"""

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _provenance as provenance  # noqa: E402
from _hostinfo import git_commit  # noqa: E402
from _stats import percentiles  # noqa: E402
from mcap_ros2.reader import read_ros2_messages  # noqa: E402

from robo_edge import paths  # noqa: E402
from robo_edge.planning.astar import PlannerParams, plan_path  # noqa: E402
from robo_edge.planning.inflation import InflationParams, inflate  # noqa: E402
from robo_edge.scenario.plot import draw_world  # noqa: E402
from robo_edge.scenario.runner import RunOptions, run_scenarios  # noqa: E402
from robo_edge.scenario.spec import Scenario, load_scenario  # noqa: E402
from robo_edge.twin.raster import rasterise  # noqa: E402
from robo_edge.twin.world import load_world  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results'
# Per-scenario runs with trajectories, so that a long matrix can resume (git-ignored).
RUNS_CACHE = RESULTS / 'navigation_runs'
# Two goal lists per world.
SCENARIOS = tuple(f'nav_{world}{goal_list}' for world in
                  ('empty_room', 'warehouse', 'corridors', 'cluttered_room')
                  for goal_list in ('', '_b'))
ROBOT_RADIUS = 0.2


def with_seed(scenario: Scenario, seed: int) -> Scenario:
    """Return a copy run with another seed under a unique name."""
    return dataclasses.replace(scenario, seed=seed, name=f'{scenario.name}__s{seed}')


def gate_width_margin() -> float:
    """Return the safety gate's lateral margin beyond the robot radius, from the shipped config."""
    config = yaml.safe_load(paths.resolve('navigation', 'config').read_text(encoding='utf-8'))
    return float(config['safety_gate']['ros__parameters']['width_margin'])


def optimal_legs(scenario: Scenario, world, margin_m: float) -> list[float | None]:
    """Shortest collision-free length of each leg on the true map (None when impossible)."""
    costmap = inflate(rasterise(world, 0.05), InflationParams(ROBOT_RADIUS, margin_m=margin_m))
    params = PlannerParams(clearance_weight=0.0)
    points = [scenario.start, *scenario.goals]
    legs = []
    for a, b in zip(points, points[1:], strict=False):
        result = plan_path(costmap, (a.x, a.y), (b.x, b.y), params)
        legs.append(result.length_m if result.has_path else None)
    return legs


def driven_legs(trajectory: list | None, goal_times_s: list[float]) -> list[float]:
    """Length driven between consecutive goal arrivals (simulated times)."""
    samples = np.asarray(trajectory or [[0, 0, 0, 0]])
    steps = np.hypot(np.diff(samples[:, 1]), np.diff(samples[:, 2]))
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    times = samples[:, 0]
    marks = [0.0] + [float(np.interp(t, times, cumulative)) for t in goal_times_s]
    return [b - a for a, b in zip(marks, marks[1:], strict=False)]


def worst_ratio(legs: list[float], optimal: list[float | None]) -> float | None:
    """Return the largest driven/shortest ratio over the legs that have a shortest path."""
    ratios = [d / o for d, o in zip(legs, optimal, strict=False) if o]
    return max(ratios) if ratios else None


def with_ratios(run: dict, references: dict[str, list]) -> dict:
    """Add each reference's worst leg ratio to a scored run (also to runs cached before)."""
    legs = run.get('driven_legs_m')
    if legs is None:
        legs = driven_legs(run['trajectory'], list(np.cumsum(run['time_to_goal_s'])))
    ratios = {f'{name}_max': worst_ratio(legs, optimal) for name, optimal in references.items()}
    return {**run, 'driven_legs_m': legs, **ratios}


def controller_timing(mcap: str | None) -> dict[str, float | None]:
    """Return the controller's last reported tick and compute p99 (ms) in a recording.

    Tick: wall time from a tick's `/clock` to its command, input waits included. Compute: the
    pure pursuit, recovery and publishing alone (absent from recordings before it existed).
    """
    values: dict[str, str] = {}
    if mcap:
        for item in read_ros2_messages(mcap, topics=['/diagnostics']):
            for status in item.ros_msg.status:
                if status.name == 'robo_edge/controller':
                    values = {kv.key: kv.value for kv in status.values}
    return {f'controller_{name}_p99_ms': float(values[f'{name}_ms_p99'])
            if f'{name}_ms_p99' in values else None for name in ('tick', 'compute')}


def score(result: dict, scenario: Scenario) -> dict:
    """Summarise one run."""
    times = result.get('goal_times_s', [])
    return {
        'name': result['name'], 'seed': result['seed'], 'passed': result['passed'],
        'failures': result['failures'], 'goals': f'{result.get("goals_reached", 0)}/'
        f'{len(scenario.goals)}', 'collisions': result.get('collision_count', 0),
        'min_clearance_m': result.get('min_clearance_m'),
        'driven_legs_m': driven_legs(result.get('trajectory'), times),
        'time_to_goal_s': [b - a for a, b in zip([0.0, *times], times, strict=False)],
        **controller_timing(result.get('mcap')),
        'real_time_factor': result.get('real_time_factor'),
        # A nominal run should trip no breaker and run out of no lockstep wait (repeatable).
        'breaker_trips': result.get('breaker_trips'),
        'late_releases': result.get('late_releases'),
        'localization_xy_max_m': (result.get('localization') or {}).get(
            'localized', {}).get('xy_max_m'),
        'dead_reckoning_xy_max_m': (result.get('localization') or {}).get(
            'dead_reckoning', {}).get('xy_max_m'),
        'trajectory': result.get('trajectory'),
    }


def summarise(runs: list[dict]) -> dict:
    """Aggregate figures against the targets."""
    def ratios(name: str) -> dict:
        return percentiles([r[f'{name}_max'] for r in runs if r[f'{name}_max'] is not None])

    def finite(key: str) -> list[float]:
        return [v for v in (r.get(key) for r in runs) if v is not None and math.isfinite(v)]

    def runs_with(key: str) -> int | None:
        """Count the runs where `key` is set; None when a cached run predates the key."""
        values = [r.get(key) for r in runs]
        return None if any(v is None for v in values) else sum(bool(v) for v in values)

    clearances = [r['min_clearance_m'] for r in runs if r['min_clearance_m'] is not None]
    return {
        'runs': len(runs), 'success_rate': sum(r['passed'] for r in runs) / max(1, len(runs)),
        'collisions': sum(r['collisions'] for r in runs),
        'runs_with_breaker_trips': runs_with('breaker_trips'),
        'runs_with_late_releases': runs_with('late_releases'),
        'path_ratio': ratios('path_ratio'), 'path_ratio_body': ratios('path_ratio_body'),
        'time_to_goal_s': percentiles([t for r in runs for t in r['time_to_goal_s']]),
        'min_clearance_m': min(clearances) if clearances else None,
        'controller_tick_p99_ms': percentiles(finite('controller_tick_p99_ms')),
        'controller_compute_p99_ms': percentiles(finite('controller_compute_p99_ms')),
        'localization_xy_max_m': percentiles(
            [r['localization_xy_max_m'] for r in runs if r.get('localization_xy_max_m')]),
    }


def plot(per_world: dict, path: Path) -> None:
    """Trajectories of every run, one panel per world."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    columns = min(4, len(per_world))
    rows = math.ceil(len(per_world) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 5 * rows), dpi=80,
                                squeeze=False)
    for ax in axes.flat[len(per_world):]:
        ax.set_visible(False)
    for ax, (name, entry) in zip(axes.flat, per_world.items(), strict=False):
        draw_world(ax, entry['world'])
        for run in entry['runs']:
            trajectory = np.asarray(run['trajectory'] or [[0, 0, 0, 0]])
            ax.plot(trajectory[:, 1], trajectory[:, 2], linewidth=0.8,
                    color='tab:blue' if run['passed'] else 'tab:red')
        for goal in entry['scenario'].goals:
            ax.plot(goal.x, goal.y, marker='*', color='tab:green', markersize=12)
        ax.set_title(f'{name}: {entry["summary"]["success_rate"]:.0%} success', fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _rounded(value: float | None, digits: int) -> str:
    return 'n/a' if value is None else str(round(value, digits))


def run_or_resume(base: Scenario, args: argparse.Namespace) -> list[dict]:
    """Run a scenario's seeds, or reuse a finished matrix cell when resuming."""
    cache = RUNS_CACHE / f'{base.name}.json'
    if args.resume and cache.exists():
        cached = json.loads(cache.read_text(encoding='utf-8'))
        if cached['seeds'] == args.seeds:
            print(f'{base.name}: {args.seeds} seeds reused from {cache}', flush=True)
            return cached['runs']
    runs = [with_seed(base, base.seed + i) for i in range(args.seeds)]
    with tempfile.TemporaryDirectory() as report:
        results = run_scenarios(runs, RunOptions(Path(report), jobs=args.jobs))
        commit = (git_commit() or '')[:7]
        scored = [{**score(r, s), 'commit': commit} for r, s in zip(results, runs, strict=True)]
    RUNS_CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({'seeds': args.seeds, 'runs': scored}), encoding='utf-8')
    return scored


def parse_args() -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=10)
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--resume', action='store_true',
                        help=f'reuse the runs of scenarios already done with as many seeds '
                             f'({RUNS_CACHE})')
    parser.add_argument('--output', default='navigation',
                        help='name of the JSON and PNG written under bench/results/')
    parser.add_argument('scenarios', nargs='*', default=list(SCENARIOS))
    provenance.add_arguments(parser)
    return parser.parse_args()


def print_table(per_world: dict[str, dict]) -> None:
    """Print each world's success, collisions, path ratios and clearance."""
    print(f'{"world":<22} {"success":>8} {"collisions":>10} {"ratio max":>9} '
          f'{"body ratio max":>14} {"clear":>6}')
    for name, entry in per_world.items():
        s = entry['summary']
        ratio, body = s['path_ratio'].get('max'), s['path_ratio_body'].get('max')
        print(f'{name:<22} {s["success_rate"]:>8.0%} {s["collisions"]:>10} '
              f'{_rounded(ratio, 3):>9} {_rounded(body, 3):>14} '
              f'{_rounded(s["min_clearance_m"], 2):>6}')


def main() -> int:
    """Run the matrix and write the report."""
    args = parse_args()
    block = provenance.check(args)
    start = time.monotonic()
    per_world: dict[str, dict] = {}
    all_runs: list[dict] = []
    margin = gate_width_margin()
    for name in args.scenarios:
        base = load_scenario(paths.resolve(name, 'sim/scenarios'))
        world = load_world(paths.resolve(base.world_ref, 'sim/worlds'))
        references = {'path_ratio': optimal_legs(base, world, margin),
                      'path_ratio_body': optimal_legs(base, world, 0.0)}
        scored = [with_ratios(run, references) for run in run_or_resume(base, args)]
        per_world[name] = {'world': world, 'scenario': base, 'runs': scored,
                           'summary': summarise(scored),
                           'optimal_legs_m': references['path_ratio'],
                           'optimal_legs_body_m': references['path_ratio_body']}
        all_runs += scored
        print(name, json.dumps(per_world[name]['summary']))
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(per_world, RESULTS / f'{args.output}.png')
    out = {
        'benchmark': 'navigation', **block, 'seeds': args.seeds,
        'run_commits': sorted({run.get('commit', '?') for run in all_runs}),
        'wall_s': time.monotonic() - start, 'summary': summarise(all_runs),
        'targets': {'success_rate': 0.98, 'collisions': 0, 'path_ratio_max': 1.15},
        'reference_margins_m': {'path_ratio': margin, 'path_ratio_body': 0.0,
                                'robot_radius': ROBOT_RADIUS},
        'worlds': {n: {'summary': e['summary'], 'optimal_legs_m': e['optimal_legs_m'],
                       'optimal_legs_body_m': e['optimal_legs_body_m'],
                       'runs': [{k: v for k, v in r.items() if k != 'trajectory'}
                                for r in e['runs']]} for n, e in per_world.items()},
    }
    (RESULTS / f'{args.output}.json').write_text(json.dumps(out, indent=1), encoding='utf-8')
    print_table(per_world)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
