"""Repeatability of lockstep runs: the same scenarios N times, in parallel, under load.

Every rerun of a scenario must give the same trajectory hash and the same sensor-stream hashes.
A CPU hog (one busy process per core, optional) stands in for a loaded CI machine.
Each scenario also says how many runs tripped a breaker or ran out of a lockstep wait (the
ways a run can stop repeating). Writes bench/results/repeatability.json (`--output` renames).
"""

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _provenance as provenance  # noqa: E402

from robo_edge import paths  # noqa: E402
from robo_edge.scenario.runner import RunOptions, run_scenarios  # noqa: E402
from robo_edge.scenario.spec import Scenario, load_scenario  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results'
DEFAULT_SCENARIOS = ('empty_room_smoke', 'corridors_patrol')


def hog(stop_at: float) -> None:
    """Burn one core until the deadline."""
    while time.monotonic() < stop_at:
        sum(i * i for i in range(10_000))


def renamed(scenario: Scenario, run: int, camera_off: bool) -> Scenario:
    """Return a copy with a unique name (and the camera off when asked, for speed)."""
    overrides = {**scenario.twin_overrides, **({'camera.rate_hz': 0} if camera_off else {})}
    return type(scenario)(**{**scenario.__dict__, 'name': f'{scenario.name}__{run:02d}',
                             'twin_overrides': overrides})


def parse_args() -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--hog', type=int, default=1, help='busy processes beside the runs')
    parser.add_argument('--camera', action='store_true', help='keep the camera on')
    parser.add_argument('--output', default='repeatability',
                        help='name of the JSON written under bench/results/')
    parser.add_argument('scenarios', nargs='*', default=list(DEFAULT_SCENARIOS))
    provenance.add_arguments(parser)
    return parser.parse_args()


def summarise(base: list[Scenario], results: list[dict]) -> dict[str, dict]:
    """Return (and print) each scenario's distinct outcomes over its runs."""
    summary = {}
    for scenario in base:
        mine = [r for r in results if r['name'].startswith(scenario.name + '__')]
        summary[scenario.name] = {
            'runs': len(mine),
            'passed': sum(r['passed'] for r in mine),
            'distinct_trajectories': len({r.get('trajectory_hash') for r in mine}),
            'distinct_stream_hashes': len({json.dumps(r.get('stream_hashes'), sort_keys=True)
                                           for r in mine}),
            'real_time_factor_min': min(r.get('real_time_factor', 0.0) for r in mine),
            # Why a run could differ: a breaker tripped by load, or a lockstep wait ran out.
            'runs_with_breaker_trips': sum(bool(r.get('breaker_trips')) for r in mine),
            'runs_with_late_releases': sum(bool(r.get('late_releases')) for r in mine)
            if all('late_releases' in r for r in mine) else None,  # None: code before the count
            'late_releases': [r['late_releases'] for r in mine if r.get('late_releases')],
            'wall_s': {'max': max(r['wall_time_s'] for r in mine),
                       'min': min(r['wall_time_s'] for r in mine)},
        }
        print(scenario.name, summary[scenario.name])
    return summary


def main() -> int:
    """Run the scenarios N times and report how many distinct outcomes each had."""
    args = parse_args()
    block = provenance.check(args)
    base = [load_scenario(paths.resolve(n, 'sim/scenarios')) for n in args.scenarios]
    runs = [renamed(s, i, not args.camera) for i in range(args.runs) for s in base]
    hogs = [multiprocessing.Process(target=hog, args=(time.monotonic() + 3600,))
            for _ in range(args.hog)]
    for process in hogs:
        process.start()
    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as report:
            results = run_scenarios(runs, RunOptions(Path(report), jobs=args.jobs, record=False))
    finally:
        for process in hogs:
            process.terminate()
    summary = summarise(base, results)
    out = {'benchmark': 'repeatability', **block, 'runs': args.runs,
           'jobs': args.jobs, 'hog_processes': args.hog, 'camera': args.camera,
           'wall_s': time.monotonic() - start, 'scenarios': summary}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f'{args.output}.json').write_text(json.dumps(out, indent=1), encoding='utf-8')
    flaky = [n for n, s in summary.items() if s['distinct_trajectories'] != 1
             or s['distinct_stream_hashes'] != 1 or s['passed'] != s['runs']]
    print('repeatable' if not flaky else f'NOT repeatable: {flaky}')
    return 1 if flaky else 0


if __name__ == '__main__':
    raise SystemExit(main())
