#!/usr/bin/env python3
"""Wall-clock proof: the robot bringup with the twin at 1x, lockstep figures beside it.

Every run goes through the scenario runner (the robot graph under the twin overlay), once with
`clock_mode: free_run` (wall clock, twin paced at 1x) and once in `lockstep`: same world,
seed and faults. Faults are the shipped chaos scenarios (sim/scenarios/chaos/): silent,
frozen and lying LiDAR (detection: a breaker opened; fallback: /safety/scan served from the
camera, both from the first reading the fault changed, for silence the first missed scan)
and a killed controller (kill to the base slowing, from the twin's 20 Hz ground truth). The
nominal soak drives a goal loop on the warehouse for `--soak-s`. A monitor on the runner's
node (bench/_robot_monitor.py) samples the supervisor's CPU/RSS per node, the controller's and
the gate's tick latency, the commands' arrival periods and camera -> /perception/scan end to
end. Each run is cached in bench/results/robot_runs/<run_id>.json (`--resume`). Writes
bench/results/robot.json.

    python bench/robot.py [--reps 10] [--soak-s 1800] [--kinds K ...] [--modes M ...]
        [--quick] [--resume] [--allow-mixed] [--allow-dirty] [--output PATH]
"""

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _provenance as provenance  # noqa: E402
import _robot_report as report  # noqa: E402
from _robot_monitor import RunMonitor  # noqa: E402

from robo_edge import paths  # noqa: E402
from robo_edge.scenario.runner import RunOptions, run_one  # noqa: E402
from robo_edge.scenario.spec import Scenario, load_scenario, parse_scenario  # noqa: E402
from robo_edge.twin.goalgen import installed_footprint, plan_route  # noqa: E402
from robo_edge.twin.world import load_world  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results'
RUNS_CACHE = RESULTS / 'robot_runs'
FAULT_KINDS = {  # kind: the shipped chaos scenario it runs
    'lidar_silence': 'chaos_lidar_silence', 'lidar_freeze': 'chaos_lidar_freeze',
    'lidar_lie_inf': 'chaos_lidar_lie_inf', 'lidar_lie_offset': 'chaos_lidar_lie_offset',
    'controller_kill': 'chaos_controller_kill',
}
QUICK_KINDS = ('lidar_silence', 'controller_kill')
SOAK_WORLD, SOAK_GOALS, SOAK_SEED = 'warehouse', 4, 0
LOOP_S_PER_M, LOOP_S_PER_GOAL = 1 / 0.35, 6.0  # goalgen's pace, to size the goal loop


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line options (`--quick`: a smoke check of a few minutes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--reps', type=int, default=10, help='runs per fault kind and mode')
    parser.add_argument('--soak-s', type=float, default=1800.0, help='nominal soak (s)')
    parser.add_argument('--kinds', nargs='+', choices=list(FAULT_KINDS), default=None)
    parser.add_argument('--modes', nargs='+', choices=list(report.MODES),
                        default=list(report.MODES))
    parser.add_argument('--soak-modes', nargs='+', choices=list(report.MODES),
                        default=['free_run'], help='modes the soak runs in')
    parser.add_argument('--quick', action='store_true',
                        help=f'1 rep of {", ".join(QUICK_KINDS)}, a 20 s soak')
    parser.add_argument('--resume', action='store_true', help='reuse runs cached at HEAD')
    parser.add_argument('--allow-mixed', action='store_true',
                        help='with --resume, also reuse runs cached at other commits')
    parser.add_argument('--cache-dir', type=Path, default=RUNS_CACHE)
    parser.add_argument('--output', type=Path, default=RESULTS / 'robot.json')
    provenance.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.soak_s = 1, 20.0
        args.kinds = args.kinds or list(QUICK_KINDS)
    args.kinds = args.kinds or list(FAULT_KINDS)
    return args


def plan(args: argparse.Namespace) -> list[dict]:
    """Return every run: the soak per soak mode, then rep x kind x mode (modes side by side)."""
    runs = [{'kind': report.NOMINAL, 'mode': m, 'rep': 0} for m in args.soak_modes
            if m in args.modes]
    runs += [{'kind': k, 'mode': m, 'rep': rep} for rep in range(args.reps)
             for k in args.kinds for m in args.modes]
    for run in runs:
        soak = f'_{args.soak_s:.0f}s' if run['kind'] == report.NOMINAL else ''
        run['run_id'] = f'robot__{run["kind"]}{soak}__{run["mode"]}_r{run["rep"]}'
    return runs


def soak_scenario(soak_s: float) -> dict:
    """Return the soak's scenario document: a goal loop on the warehouse, longer than soak_s."""
    world_path = paths.share_file('sim', 'worlds', f'{SOAK_WORLD}.yaml')
    world = load_world(world_path)
    start = world.spawn_hints[0]
    route = plan_route(world, start, SOAK_GOALS, SOAK_SEED, *installed_footprint())
    loop = [list(g) for g in route.goals] + [list(start)]
    loop_s = route.length_m * 1.5 * LOOP_S_PER_M + LOOP_S_PER_GOAL * len(loop)
    laps = int(2 * soak_s / loop_s) + 1  # never run out of goals: the run ends on time
    return {'world': str(world_path), 'start': list(start), 'duration_s': soak_s,
            'goals': loop * laps, 'expect': {'collisions': 0}}


def scenario_for(run: dict, soak_s: float) -> Scenario:
    """Return the run's scenario: its base, its mode, a seed per rep, a unique name."""
    if run['kind'] == report.NOMINAL:
        base = parse_scenario({**soak_scenario(soak_s), 'name': 'robot_soak', 'seed': 0},
                              f'bench/robot.py {run["run_id"]}')
    else:
        base = load_scenario(paths.share_file('sim', 'scenarios', 'chaos',
                                              f'{FAULT_KINDS[run["kind"]]}.yaml'))
    return dataclasses.replace(base, name=run['run_id'], seed=base.seed + run['rep'],
                               clock_mode=run['mode'])


def execute(run: dict, args: argparse.Namespace, stamp: dict) -> dict:
    """Run one run, return (and cache) its record."""
    scenario = scenario_for(run, args.soak_s)
    monitor = RunMonitor()
    meta = {**run, 'seed': scenario.seed, 'scenario': scenario.source,
            'duration_s': scenario.duration_s, **stamp}
    with tempfile.TemporaryDirectory() as tmp:
        result = run_one(scenario, RunOptions(Path(tmp), record=False, monitor=monitor.attach))
        shutil.rmtree(Path(tmp) / scenario.name, ignore_errors=True)
    record = report.run_record(result, meta, monitor.samples())
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    (args.cache_dir / f'{run["run_id"]}.json').write_text(json.dumps(record), encoding='utf-8')
    return record


def load_cached(runs: list[dict], args: argparse.Namespace, commit: str) -> dict[str, dict]:
    """Return the cached records to reuse: at this commit, or any with --allow-mixed."""
    done = {}
    for run in runs:
        path = args.cache_dir / f'{run["run_id"]}.json'
        if path.exists():
            record = json.loads(path.read_text(encoding='utf-8'))
            if (record.get('commit') == commit and commit != '?') or args.allow_mixed:
                done[run['run_id']] = record
    return done


def line(record: dict) -> str:
    """Return a run's figures in one line."""
    def ms(value: float | None) -> str:
        return '-' if value is None else f'{value * 1e3:.0f} ms'

    decel = (record.get('deceleration') or {}).get('decel_latency_s')
    return (f'{record["run_id"]}: {record["outcome"]}, trips {record["breaker_trips"]}, '
            f'collisions {record["collisions"]}, goals {record["goals_reached"]}/'
            f'{record["goals_total"]}, detect {ms(record["detect_latency_s"])}, fallback '
            f'{ms(record["fallback_latency_s"])}, decel {ms(decel)}, '
            f'{record["real_time_factor"] or 0:.2f}x')


def print_summary(out: dict) -> None:
    """Print the fault table, the soak and the targets."""
    print(f'{"kind":<18} {"mode":<9} {"n":>3} {"detect p50/p99/max ms":>22} '
          f'{"fallback/decel p50/p99/max ms":>30}')
    for mode, side in out['summary'].items():
        for kind, row in side['faults'].items():
            if not row['runs']:
                continue
            react = row.get('decel_ms') or row['fallback_ms']
            print(f'{kind:<18} {mode:<9} {row["runs"]:>3} {_triple(row["detect_ms"]):>22} '
                  f'{_triple(react):>30}')
        soak = side['soak']
        if soak['runs']:
            print(f'soak {mode}: {soak["sim_s"]:.0f} s, trips {soak["breaker_trips"]}, '
                  f'collisions {soak["collisions"]}, goals {soak["goals_reached_truth"]}; '
                  f'graph CPU p50 {side["resources"]["graph"]["cpu_percent"]["p50"]} %')
    print(f'camera -> /perception/scan (free_run): {_triple(out["camera_to_scan_ms"])} ms')
    for name, target in out['targets'].items():
        print(f'target {name}: met {target["met"]} ({target["value"]} vs {target["limit"]}, '
              f'n {target["n"]})')


def _triple(stats: dict) -> str:
    if not stats.get('count'):
        return '-'
    return '/'.join(f'{stats[k]:.0f}' for k in ('p50', 'p99', 'max'))


def main(argv: list[str] | None = None) -> int:
    """Plan, run what is missing, aggregate, write the report."""
    args = parse_args(argv)
    block = provenance.check(args, argv, __file__)
    start = time.monotonic()
    commit = block['commit'] or '?'
    stamp = {'commit': commit, 'dirty': block['dirty']}
    runs = plan(args)
    done = load_cached(runs, args, commit) if args.resume else {}
    todo = [run for run in runs if run['run_id'] not in done]
    print(f'plan: {len(runs)} runs, {len(done)} cached, {len(todo)} to run', flush=True)
    errors = []
    for i, run in enumerate(todo, 1):
        try:
            done[run['run_id']] = execute(run, args, stamp)
            print(f'[{i}/{len(todo)}] {line(done[run["run_id"]])}', flush=True)
        except Exception as e:  # one broken run must not stop the rest
            errors.append({'run_id': run['run_id'], 'error': f'{type(e).__name__}: {e}'})
            print(f'[{i}/{len(todo)}] {run["run_id"]}: ERROR {e}', flush=True)
    records = [done[run['run_id']] for run in runs if run['run_id'] in done]
    summary = report.summarise(records, args.kinds)
    out = {
        'benchmark': 'robot', **block,
        'options': {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        'run_commits': sorted({r.get('commit', '?') for r in records}),
        'fault_scenarios': FAULT_KINDS, 'p99_note': report.P99_NOTE,
        'plan_runs': len(runs), 'runs_done': len(records), 'errors': errors,
        'wall_s': time.monotonic() - start, 'summary': summary,
        'camera_to_scan_ms': report.e2e(records),
        'targets': report.targets(summary, args.soak_s),
        'runs': [{k: v for k, v in r.items() if k != 'samples'} for r in records],
    }
    print_summary(out)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=1), encoding='utf-8')
    print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
