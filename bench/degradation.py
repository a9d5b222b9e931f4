#!/usr/bin/env python3
"""Degradation in the twin on worlds nobody tuned for: the breakers beside the baseline.

Nominal runs go on generated worlds (evaluation seeds) and the shipped ones, `--seeds` each;
fault runs put each fault kind (bench/_degradation_plan.FAULT_KINDS) on `--fault-worlds`
generated worlds, once with robo_edge's breakers and once with sensor_guard's
`monitor: baseline` (the anchors' behaviour). Faults start where the planned route first
approaches an obstacle (an estimate by time: the runner places faults by time only). The camera
is on in every run, nothing is recorded to MCAP (`--record --report-dir DIR` keeps one per run
to diagnose). A fault run gets 30 s more than its nominal
time, a permanent fault twice the nominal time and 30 s (the rest of the route at the degraded
speed cap). Every run but the `unmapped` kind starts on the world's survey
(robo_edge/twin/survey.py: the map a robot in service has). Each run's figures (and its breaker
trips, with the vote that decided each) are cached in
bench/results/degradation_runs/<run_id>.json with the commit, to resume. Writes
bench/results/degradation.json (and with --plot, degradation.png).

    python bench/degradation.py [--worlds 20] [--fault-worlds 10] [--seeds 5] [--goals 3]
        [--baseline-nominal] [--kinds K ...] [--only RUN_ID ...] [--jobs 2] [--limit N]
        [--resume] [--allow-mixed] [--allow-dirty] [--plot] [--cache-dir DIR]
        [--report-dir DIR] [--output PATH]
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _degradation_plan as plan  # noqa: E402
import _degradation_report as report  # noqa: E402
import _provenance as provenance  # noqa: E402

from robo_edge import paths  # noqa: E402
from robo_edge.scenario.runner import RunOptions, run_one  # noqa: E402
from robo_edge.twin.survey import mapper_resolution, write_survey  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results'
RUNS_CACHE = RESULTS / 'degradation_runs'  # one file per run, to resume (git-ignored)


def parse_args() -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--worlds', type=int, default=20, help='generated worlds (nominal)')
    parser.add_argument('--fault-worlds', type=int, default=10,
                        help='generated worlds each fault kind runs on')
    parser.add_argument('--seeds', type=int, default=5, help='nominal seeds per world')
    parser.add_argument('--goals', type=int, default=3, help='goals per run')
    parser.add_argument('--baseline-nominal', action='store_true',
                        help='also run the nominal runs with the baseline monitor')
    parser.add_argument('--kinds', nargs='+', choices=list(plan.FAULT_KINDS),
                        default=list(plan.FAULT_KINDS), help='fault kinds (default: all)')
    parser.add_argument('--only', nargs='+', default=None, metavar='RUN_ID',
                        help='run only these planned runs (e.g. gen100012__nominal__breakers_s0)')
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--limit', type=int, default=None,
                        help='run at most N new runs, then write the report')
    parser.add_argument('--resume', action='store_true',
                        help='skip the runs cached at this commit (and with as many goals)')
    parser.add_argument('--allow-mixed', action='store_true',
                        help='with --resume, also reuse runs cached at other commits')
    parser.add_argument('--plot', action='store_true', help='also write a PNG beside the JSON')
    parser.add_argument('--cache-dir', type=Path, default=RUNS_CACHE,
                        help='where each run is cached (default: %(default)s)')
    parser.add_argument('--report-dir', type=Path, default=None,
                        help="keep each run's runner report here (default: deleted)")
    parser.add_argument('--record', action='store_true',
                        help='record each run to MCAP in --report-dir (to diagnose a run)')
    parser.add_argument('--output', type=Path, default=RESULTS / 'degradation.json')
    provenance.add_arguments(parser)
    args = parser.parse_args()
    if args.record and args.report_dir is None:
        parser.error('--record needs --report-dir (where the recordings are kept)')
    return args


def load_cached(runs: list[plan.Run], commit: str, args: argparse.Namespace
                ) -> tuple[dict[str, dict], int]:
    """Return the cached records to reuse, and how many were left out for their commit.

    A run whose commit is unknown ('?') is never the same commit as another.
    """
    done: dict[str, dict] = {}
    stale = 0
    for run in runs:
        path = args.cache_dir / f'{run.run_id}.json'
        if not path.exists():
            continue
        record = json.loads(path.read_text(encoding='utf-8'))
        if record.get('goals_total') != args.goals:
            continue
        if (record.get('commit') == commit and commit != '?') or args.allow_mixed:
            done[run.run_id] = record
        else:
            stale += 1
    return done, stale


def execute(run: plan.Run, args: argparse.Namespace, report_dir: Path, stamp: dict) -> dict:
    """Run one planned run in the twin and return (and cache) its record."""
    case = plan.world_case(run.world, args.goals)
    survey = write_survey(
        case.parsed, paths.share_file('sim', 'robot', 'diff_drive.urdf'),
        report_dir / f'{run.run_id}_survey' / 'map.yaml', mapper_resolution(),
    ) if plan.starts_on_survey(run) else None
    scenario = plan.scenario_for(run, case, survey)
    faulted = run.kind != plan.NOMINAL
    meta = {
        'run_id': run.run_id, 'world': run.world, 'world_seed': case.world_seed,
        'kind': run.kind, 'monitor': run.monitor, 'seed': run.seed,
        'faults': plan.jsonable(plan.faults_of(run.kind, case.fault_start_s)),
        'fault_start_s': round(case.fault_start_s, 2) if faulted else None,
        'fault_start_reason': case.fault_start_reason if faulted else None,
        'duration_s': scenario.duration_s, 'goals_total': len(scenario.goals),
        'prior_map': 'survey' if survey else None, **stamp,
    }
    result = run_one(scenario, RunOptions(report_dir, jobs=1, record=args.record))
    record = report.run_record(result, meta)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    (args.cache_dir / f'{run.run_id}.json').write_text(json.dumps(record, indent=1),
                                                     encoding='utf-8')
    if args.report_dir is None:
        shutil.rmtree(report_dir / run.run_id, ignore_errors=True)
        if survey:
            shutil.rmtree(survey.parent, ignore_errors=True)
        for suffix in ('.json', '.png'):
            (report_dir / f'{run.run_id}{suffix}').unlink(missing_ok=True)
    return record


def run_all(todo: list[plan.Run], args: argparse.Namespace, stamp: dict
            ) -> tuple[dict[str, dict], list[dict]]:
    """Run the runs `jobs` at a time; return the records and the runs that raised."""
    records: dict[str, dict] = {}
    errors: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        report_dir = args.report_dir or Path(tmp)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(execute, run, args, report_dir, stamp): run for run in todo}
            try:
                for future in as_completed(futures):
                    collect(futures[future], future, records, errors, len(todo))
            except KeyboardInterrupt:
                for future in futures:  # the runs under way finish; the rest never start
                    future.cancel()
                raise
    return records, errors


def collect(run: plan.Run, future: Future, records: dict[str, dict], errors: list[dict],
            total: int) -> None:
    """Keep a finished run's record, or its error: one broken run must not stop the rest."""
    try:
        records[run.run_id] = future.result()
    except Exception as e:
        errors.append({'run_id': run.run_id, 'error': f'{type(e).__name__}: {e}'})
        print(f'[{len(records) + len(errors)}/{total}] {run.run_id}: ERROR {e}', flush=True)
        return
    print(f'[{len(records) + len(errors)}/{total}] {line(records[run.run_id])}', flush=True)


def line(record: dict) -> str:
    """Return a run's figures in one line."""
    loc = record['loc_xy_max_m']
    return (f'{record["run_id"]}: goals {record["goals_reached"]}/{record["goals_total"]} '
            f'in truth, collisions {record["collisions"]}, trips {record["breaker_trips"]}, '
            f'loc max {"-" if loc is None else f"{loc:.3f}"} m')


def print_table(summary: dict) -> None:
    """Print goals, collisions and blame per category and monitor."""
    print(f'{"category":<30} {"monitor":<9} {"runs":>4} {"goals":>9} {"coll":>4} '
          f'{"loc p99":>7} {"trips":>5} {"right":>5}')
    for kind, sides in summary.items():
        for monitor, row in sides.items():
            if not row['runs']:
                continue
            loc = row['loc_xy_max_m']['p99']
            right = row['blame']['blamed_right_share']
            print(f'{kind:<30} {monitor:<9} {row["runs"]:>4} '
                  f'{row["goals_reached_truth"]:>4}/{row["goals_total"]:<4} '
                  f'{row["runs_with_collisions"]:>4} {"-" if loc is None else f"{loc:.3f}":>7} '
                  f'{row["breaker_trips"]:>5} {"-" if right is None else f"{right:.2f}":>5}')


def document(args: argparse.Namespace, records: list[dict], block: dict, progress: dict
             ) -> dict:
    """Return the report: provenance, plan progress, per-category figures, targets, runs."""
    summary = report.summarise(records)
    compared = report.comparisons(records)
    commits = sorted({r.get('commit', '?') for r in records})
    commit = block['commit'] or '?'
    return {
        'benchmark': 'degradation', **block,
        'run_commits': commits, 'mixed_commits': any(c != commit for c in commits),
        'options': {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        'fault_placement': plan.PLACEMENT,
        'fault_kinds': {k: plan.jsonable(v) for k, v in plan.FAULT_KINDS.items()},
        'groups': {'lidar_failures': plan.LIDAR_KINDS, 'lying_lidar': plan.LYING_LIDAR,
                   'lying_camera': plan.LYING_CAMERA, 'unmapped': plan.UNMAPPED},
        **progress,
        'summary': summary, 'comparisons': compared,
        'targets': report.targets(records, compared, len(progress['errors'])),
        'runs': records,
    }


def main() -> int:
    """Plan, run what is missing, aggregate and write the report."""
    args = parse_args()
    block = provenance.check(args)
    start = time.monotonic()
    runs = plan.build_plan(args.worlds, args.fault_worlds, args.seeds, args.baseline_nominal,
                           args.kinds)
    if args.only:
        unknown = set(args.only) - {run.run_id for run in runs}
        if unknown:
            raise SystemExit(f'not in the plan: {", ".join(sorted(unknown))}')
        runs = [run for run in runs if run.run_id in args.only]
    commit = block['commit'] or '?'
    stamp = {'commit': commit, 'dirty': block['dirty']}
    done, stale = load_cached(runs, commit, args) if args.resume else ({}, 0)
    todo = [run for run in runs if run.run_id not in done][:args.limit]
    print(f'plan: {len(runs)} runs, {len(done)} cached, {stale} cached at another commit '
          f'(rerun), {len(todo)} to run now', flush=True)
    new, errors = run_all(todo, args, stamp)
    done.update(new)
    records = [done[run.run_id] for run in runs if run.run_id in done]
    out = document(args, records, block, {'plan_runs': len(runs), 'runs_done': len(records),
                                          'runs_new': len(new), 'errors': errors,
                                          'complete': len(records) == len(runs),
                                          'wall_s': time.monotonic() - start})
    summary = out['summary']
    print_table(summary)
    for name, target in out['targets'].items():
        print(f'target {name}: met {target["met"]} ({target["value"]} vs {target["limit"]}, '
              f'{target["runs"]} runs)')
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=1), encoding='utf-8')
    print(f'wrote {args.output}')
    if args.plot:
        print(f'wrote {report.plot(summary, args.output.with_suffix(".png"))}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
