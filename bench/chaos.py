#!/usr/bin/env python3
"""Fault runs in the twin: every chaos scenario x seeds, the breakers and the baseline monitor.

Each run drives to its goals with its faults injected (sim/scenarios/chaos). The same runs go
once with robo_edge's breakers and once with sensor_guard's `monitor: baseline` (arrival rate
and a 1.0 s timeout only, stop on failure, no fallback: the anchors' behaviour). Reported:
collisions, goals reached (also over the LiDAR-failure runs), and per fault kind the time from
injection to detection (a breaker opened) and to reaction (fallback live, or cap or stop
commanded), p50/p99/max, with misses. Writes bench/results/chaos.json.

    python bench/chaos.py [--seeds 8] [--baseline-seeds N] [--jobs 2] [--no-baseline]
                          [--resume] [scenario ...]
"""

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _provenance as provenance  # noqa: E402
from _hostinfo import git_commit  # noqa: E402
from _stats import percentiles  # noqa: E402

from robo_edge import paths  # noqa: E402
from robo_edge.scenario.runner import RunOptions, run_scenarios  # noqa: E402
from robo_edge.scenario.spec import Scenario, load_scenario  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results'
RUNS_CACHE = RESULTS / 'chaos_runs'  # per scenario and monitor, to resume (git-ignored)
LIDAR_FAILURES = {'silence', 'freeze', 'lie', 'nan', 'delay', 'clock_skew'}
MONITORS = ('breakers', 'baseline')


def variant(scenario: Scenario, seed: int, monitor: str) -> Scenario:
    """Return the scenario with another seed and monitor, under a unique name."""
    params = {node: dict(values) for node, values in scenario.node_params.items()}
    params.setdefault('sensor_guard', {})['monitor'] = monitor
    return dataclasses.replace(scenario, seed=seed, name=f'{scenario.name}__{monitor}_s{seed}',
                               node_params=params)


def score(result: dict, scenario: Scenario) -> dict:
    """Summarise one run."""
    faults = result.get('fault_timing', [])
    return {
        'name': result['name'], 'seed': result['seed'], 'passed': result['passed'],
        'failures': result['failures'], 'collisions': result.get('collision_count', 0),
        'goals_reached': result.get('goals_reached', 0), 'goals_total': len(scenario.goals),
        'highest_mode': result.get('highest_mode'), 'trips': result.get('breaker_trips'),
        'lidar_failure': any(f['target'] == 'lidar' and f['type'] in LIDAR_FAILURES
                             and f.get('injected_s') is not None for f in faults),
        'faults': [{k: f.get(k) for k in ('type', 'target', 'injected_s', 'detect_latency_s',
                                          'react_latency_s', 'detected_by', 'reaction')}
                   for f in faults],
    }


def run_or_resume(base: Scenario, monitor: str, seeds: int,
                  args: argparse.Namespace) -> list[dict]:
    """Run a scenario's seeds with one monitor; when resuming, only the seeds not cached."""
    cache = RUNS_CACHE / f'{base.name}__{monitor}.json'
    wanted = [base.seed + i for i in range(seeds)]
    cached: dict[int, dict] = {}
    if args.resume and cache.exists():
        cached = {run['seed']: run for run in
                  json.loads(cache.read_text(encoding='utf-8'))['runs']}
    missing = [seed for seed in wanted if seed not in cached]
    print(f'{base.name} ({monitor}): {len(wanted) - len(missing)} seeds reused, '
          f'{len(missing)} to run', flush=True)
    if missing:
        runs = [variant(base, seed, monitor) for seed in missing]
        with tempfile.TemporaryDirectory() as report:
            results = run_scenarios(runs, RunOptions(Path(report), jobs=args.jobs, record=False))
        commit = (git_commit() or '')[:7]
        for result, scenario in zip(results, runs, strict=True):
            cached[scenario.seed] = {**score(result, scenario), 'commit': commit}
        RUNS_CACHE.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({'runs': sorted(cached.values(), key=lambda r: r['seed'])}),
                         encoding='utf-8')
    return [cached[seed] for seed in wanted]


def summarise(runs: list[dict]) -> dict:
    """Aggregate one monitor's runs: collisions, goals, detection and reaction per fault."""
    lidar = [r for r in runs if r['lidar_failure']]
    kinds: dict[str, dict[str, list]] = {}
    for run in runs:
        for fault in run['faults']:
            if fault['injected_s'] is None:
                continue
            row = kinds.setdefault(f'{fault["type"]}:{fault["target"]}',
                                   {'detect': [], 'react': [], 'faults': 0})
            row['faults'] += 1
            if fault['detect_latency_s'] is not None:
                row['detect'].append(fault['detect_latency_s'] * 1e3)
            if fault['react_latency_s'] is not None:
                row['react'].append(fault['react_latency_s'] * 1e3)
    return {
        'runs': len(runs), 'passed': sum(r['passed'] for r in runs),
        'collisions': sum(r['collisions'] for r in runs),
        'runs_with_all_goals': sum(r['goals_reached'] >= r['goals_total'] for r in runs),
        'lidar_failure_runs': len(lidar),
        'lidar_failure_runs_with_all_goals': sum(r['goals_reached'] >= r['goals_total']
                                                 for r in lidar),
        'faults': {kind: {'injected': row['faults'],
                          'missed': row['faults'] - len(row['detect']),
                          'detect_ms': percentiles(row['detect']),
                          'react_ms': percentiles(row['react'])}
                   for kind, row in sorted(kinds.items())},
    }


def compare(ours: dict, base: dict) -> dict:
    """Per fault kind: the baseline's detection p50 over ours, and misses side by side."""
    rows = {}
    for kind, row in ours['faults'].items():
        other = base['faults'].get(kind, {})
        a = row['detect_ms']['p50']
        b = (other.get('detect_ms') or {}).get('p50')
        rows[kind] = {'breakers_missed': row['missed'], 'baseline_missed': other.get('missed'),
                      'detect_p50_ratio_baseline_over_breakers': b / a if a and b else None}
    return rows


def print_table(summary: dict) -> None:
    """Print detection per fault kind and monitor."""
    print(f'{"fault":<22} {"monitor":<9} {"n":>3} {"missed":>6} {"detect p50/p99/max ms":>24}')
    for monitor, data in summary.items():
        for kind, row in data['faults'].items():
            d = row['detect_ms']
            text = '-' if not d['count'] else f'{d["p50"]:.0f}/{d["p99"]:.0f}/{d["max"]:.0f}'
            print(f'{kind:<22} {monitor:<9} {row["injected"]:>3} {row["missed"]:>6} {text:>24}')
    for monitor, data in summary.items():
        print(f'{monitor}: {data["runs"]} runs, {data["collisions"]} collisions, all goals in '
              f'{data["runs_with_all_goals"]}, LiDAR failures with all goals '
              f'{data["lidar_failure_runs_with_all_goals"]}/{data["lidar_failure_runs"]}')


def parse_args() -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=8)
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--baseline-seeds', type=int, default=None,
                        help='seeds per scenario for the baseline monitor (default: --seeds)')
    parser.add_argument('--no-baseline', action='store_true')
    parser.add_argument('--resume', action='store_true',
                        help=f'reuse the runs (per seed) cached in {RUNS_CACHE}')
    parser.add_argument('--output', type=Path, default=RESULTS / 'chaos.json')
    parser.add_argument('scenarios', nargs='*', type=Path)
    provenance.add_arguments(parser)
    return parser.parse_args()


def main() -> int:
    """Run every scenario x seeds x monitor and write the report."""
    args = parse_args()
    block = provenance.check(args)
    files = args.scenarios or sorted(paths.share_file('sim', 'scenarios', 'chaos')
                                     .glob('chaos_*.yaml'))
    monitors = MONITORS[:1] if args.no_baseline else MONITORS
    seeds = {'breakers': args.seeds, 'baseline': (args.seeds if args.baseline_seeds is None
                                                  else args.baseline_seeds)}
    start = time.monotonic()
    runs: dict[str, list[dict]] = {m: [] for m in monitors}
    for path in files:
        base = load_scenario(path)
        for monitor in monitors:
            runs[monitor] += run_or_resume(base, monitor, seeds[monitor], args)
    summary = {m: summarise(r) for m, r in runs.items()}
    commits = sorted({run.get('commit', '?') for rows in runs.values() for run in rows})
    out = {'benchmark': 'chaos', **block, 'seeds': seeds, 'run_commits': commits,
           'scenarios': [p.stem for p in files], 'wall_s': time.monotonic() - start,
           'summary': summary,
           'targets': {'collisions': 0, 'lidar_failure_goal_rate': 0.9},
           'runs': runs}
    if 'baseline' in summary:
        out['side_by_side'] = compare(summary['breakers'], summary['baseline'])
    print_table(summary)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=1), encoding='utf-8')
    print(f'wrote {args.output}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
