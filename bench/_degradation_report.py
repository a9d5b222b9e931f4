"""Aggregation of bench/degradation.py: run records, per-category figures, targets, plot (pure).

A run record holds a run's key figures (goals reached in truth, collisions, belief, the
localised pose's largest xy error, breaker trips, and per injected fault who was blamed and
when). Categories are `nominal` and each fault kind; each holds the breakers and the baseline
side by side.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from _degradation_plan import LIDAR_KINDS, LYING_CAMERA, LYING_LIDAR, MONITORS, NOMINAL
from _stats import percentiles

LOC_LIMIT_NOMINAL_M = 0.10
LOC_LIMIT_FAULT_M = 0.15
LIDAR_GOAL_SHARE = 0.95
BLAMED_RIGHT_SHARE = 0.99
COMPLETED = 'completed'  # the runner's outcome of a run that ran to its end
TIMING_KEYS = ('type', 'target', 'mode', 'start_s', 'injected_s', 'detected_by',
               'detect_latency_s', 'reaction', 'react_latency_s', 'blamed', 'blamed_right')
TRIP_KEYS = ('t', 'source', 'detail')  # a breaker opening, as the run kept it


def run_record(result: dict, meta: dict) -> dict:
    """Return one run's key figures from the runner's result; `meta` names the run."""
    localization = result.get('localization') or {}
    localized = localization.get('localized') or {}
    truth = result.get('goal_truth') or []
    return {
        **meta,
        'passed': result.get('passed'), 'failures': result.get('failures', [])[:5],
        'outcome': result.get('outcome'), 'sim_time_s': result.get('sim_time_s'),
        'wall_time_s': result.get('wall_time_s'),
        'goals_total': result.get('goals_total', meta.get('goals_total', 0)),
        'goals_reached': result.get('goals_reached', 0),  # in truth, from the trajectory
        'planner_reached': sum(1 for e in truth if e.get('outcome') == 'reached'),
        'believed_reached': result.get('believed_reached', 0),
        'goals_uncertain': result.get('goals_uncertain', 0),
        'collisions': result.get('collision_count', 0),
        'loc_xy_max_m': localized.get('xy_max_m'),
        'dead_reckoning_xy_max_m': (localization.get('dead_reckoning') or {}).get('xy_max_m'),
        'localization_divergence': result.get('localization_divergence'),
        'breaker_trips': result.get('breaker_trips', 0),
        'trip_sources': dict(Counter(str(e.get('source')) for e in result.get('events', [])
                                     if e.get('kind') == 'breaker'
                                     and e.get('state') == 'open')),
        'trips': [{k: e.get(k) for k in TRIP_KEYS} for e in result.get('events', [])
                  if e.get('kind') == 'breaker' and e.get('state') == 'open'][:10],
        'highest_mode': result.get('highest_mode'),
        'fault_timing': [{k: f.get(k) for k in TIMING_KEYS if k in f}
                         for f in result.get('fault_timing', [])],
    }


def loc_limit(kind: str) -> float:
    """Return the localisation error bound of a category."""
    return LOC_LIMIT_NOMINAL_M if kind == NOMINAL else LOC_LIMIT_FAULT_M


def _injected(runs: Iterable[dict]) -> list[dict]:
    return [f for r in runs for f in r['fault_timing'] if f.get('injected_s') is not None]


def _ms(values: Iterable[float | None]) -> dict:
    return percentiles([v * 1e3 for v in values if v is not None])


def blame(runs: Sequence[dict]) -> dict:
    """Return who was blamed for the injected faults, and the share blamed right."""
    faults = _injected(runs)
    right = sum(1 for f in faults if f.get('blamed_right'))
    return {
        'injected': len(faults),
        'by_source': dict(sorted(Counter(str(f.get('blamed') or 'none')
                                         for f in faults).items())),
        'blamed_right': right,
        'blamed_right_share': right / len(faults) if faults else None,
        'undetected': sum(1 for f in faults if f.get('detected_by') is None),
    }


def side(runs: Sequence[dict], kind: str) -> dict:
    """Aggregate one monitor's runs of one category."""
    goals = sum(r['goals_total'] for r in runs)
    reached = sum(r['goals_reached'] for r in runs)
    loc = [r['loc_xy_max_m'] for r in runs if r['loc_xy_max_m'] is not None]
    limit = loc_limit(kind)
    faults = _injected(runs)
    return {
        'runs': len(runs),
        'goals_total': goals, 'goals_reached_truth': reached,
        'goals_reached_share': reached / goals if goals else None,
        'runs_all_goals_truth': sum(r['goals_reached'] >= r['goals_total'] for r in runs),
        'runs_with_collisions': sum(r['collisions'] > 0 for r in runs),
        'collisions': sum(r['collisions'] for r in runs),
        'believed_reached': sum(r['believed_reached'] for r in runs),
        'goals_uncertain': sum(r['goals_uncertain'] for r in runs),
        'loc_xy_max_m': percentiles(loc),
        'loc_limit_m': limit,
        'runs_above_loc_limit': sum(v > limit for v in loc),
        'runs_without_localisation': len(runs) - len(loc),
        'breaker_trips': sum(r['breaker_trips'] or 0 for r in runs),
        'runs_with_trips': sum((r['breaker_trips'] or 0) > 0 for r in runs),
        'trips_by_source': dict(sorted(sum((Counter(r.get('trip_sources') or {}) for r in runs),
                                           Counter()).items())),
        'detect_ms': _ms(f.get('detect_latency_s') for f in faults),
        'react_ms': _ms(f.get('react_latency_s') for f in faults),
        'blame': blame(runs),
    }


def summarise(runs: Sequence[dict]) -> dict:
    """Return per category (nominal first, then fault kinds) the monitors side by side."""
    kinds = sorted({r['kind'] for r in runs}, key=lambda k: (k != NOMINAL, k))
    return {kind: {m: side([r for r in runs if r['kind'] == kind and r['monitor'] == m], kind)
                   for m in MONITORS}
            for kind in kinds}


def _key(run: dict) -> tuple:
    return run['world'], run['kind'], run['seed']


def _brief(run: dict) -> dict:
    return {k: run.get(k) for k in ('run_id', 'world', 'kind', 'monitor', 'seed',
                                    'goals_reached', 'goals_total', 'collisions')}


def comparisons(runs: Sequence[dict]) -> dict:
    """Return the pairs where the breakers did worse, and the baseline runs that failed."""
    baseline = {_key(r): r for r in runs if r['monitor'] == 'baseline'}
    worse = []
    for ours in (r for r in runs if r['monitor'] == 'breakers'):
        base = baseline.get(_key(ours))
        if base is not None and (ours['goals_reached'] < base['goals_reached']
                                 or ours['collisions'] > base['collisions']):
            worse.append({'breakers': _brief(ours), 'baseline': _brief(base)})
    failed = [_brief(r) for r in baseline.values()
              if r['collisions'] > 0 or r['goals_reached'] < r['goals_total']]
    pairs = sum(1 for r in runs if r['monitor'] == 'breakers' and _key(r) in baseline)
    return {'pairs': pairs, 'breakers_worse': worse, 'baseline_failed': failed}


def _target(met: bool | None, value: object, limit: object, runs: int) -> dict:
    return {'met': met if runs else None, 'value': value, 'limit': limit, 'runs': runs}


def _of(runs: Sequence[dict], kinds: Iterable[str]) -> list[dict]:
    wanted = set(kinds)
    return [r for r in runs if r['monitor'] == 'breakers' and r['kind'] in wanted]


def _blamed_target(runs: Sequence[dict]) -> dict:
    share = blame(runs)['blamed_right_share']
    return _target(share is not None and share >= BLAMED_RIGHT_SHARE, share,
                   BLAMED_RIGHT_SHARE, len(runs))


def targets(runs: Sequence[dict], compared: dict, errors: int = 0) -> dict:
    """Evaluate the issue's targets on the breakers' runs (met: None when no runs).

    `every_run_completed` counts every run of either monitor that did not complete (a twin
    or node crash, a lockstep time-out, an interruption) and each run that raised (`errors`):
    a run that could not be scored is a failure of the benchmark, not a run left out.
    """
    nominal = _of(runs, [NOMINAL])
    lidar = _of(runs, LIDAR_KINDS)
    trips = sum(r['breaker_trips'] or 0 for r in nominal)
    worst = [r['loc_xy_max_m'] for r in nominal]
    lidar_worst = [r['loc_xy_max_m'] for r in lidar]
    goals = sum(r['goals_total'] for r in lidar)
    share = sum(r['goals_reached'] for r in lidar) / goals if goals else None
    hits = sum(r['collisions'] for r in lidar)
    broken = sum(r.get('outcome') != COMPLETED for r in runs) + errors
    return {
        'every_run_completed': _target(broken == 0, broken, 0, len(runs) + errors),
        'nominal_zero_trips': _target(trips == 0, trips, 0, len(nominal)),
        'nominal_loc_error': _target(
            all(v is not None and v <= LOC_LIMIT_NOMINAL_M for v in worst),
            max((v for v in worst if v is not None), default=None), LOC_LIMIT_NOMINAL_M,
            len(nominal)),
        'nominal_all_goals_truth': _target(
            all(r['goals_reached'] >= r['goals_total'] for r in nominal),
            sum(r['goals_reached'] >= r['goals_total'] for r in nominal), len(nominal),
            len(nominal)),
        'lidar_failures_goals_truth': _target(share is not None and share >= LIDAR_GOAL_SHARE,
                                              share, LIDAR_GOAL_SHARE, len(lidar)),
        'lidar_failures_collisions': _target(hits == 0, hits, 0, len(lidar)),
        'lidar_failures_loc_error': _target(
            all(v is not None and v <= LOC_LIMIT_FAULT_M for v in lidar_worst),
            max((v for v in lidar_worst if v is not None), default=None), LOC_LIMIT_FAULT_M,
            len(lidar)),
        'lying_lidar_blamed_right': _blamed_target(_of(runs, LYING_LIDAR)),
        'lying_camera_blamed_right': _blamed_target(_of(runs, LYING_CAMERA)),
        'breakers_never_worse': _target(not compared['breakers_worse'],
                                        len(compared['breakers_worse']), 0, compared['pairs']),
    }


def plot(summary: dict, path: Path) -> Path:
    """Draw goals in truth and collisions per fault kind, breakers and baseline side by side."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    kinds = list(summary)
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 1.1 * len(kinds)), 7.5), sharex=True)
    panels = ((lambda row: row['goals_reached_share'] or 0, 'goals reached in truth (share)'),
              (lambda row: row['runs_with_collisions'] / max(row['runs'], 1),
               'runs with a collision (share)'))
    for ax, (value, label) in zip(axes, panels, strict=True):
        for offset, monitor in ((-0.2, 'breakers'), (0.2, 'baseline')):
            values = [value(summary[k][monitor]) for k in kinds]
            bars = ax.bar([i + offset for i in range(len(kinds))], values, 0.4, label=monitor)
            counts = [summary[k][monitor]['runs'] for k in kinds]
            ax.bar_label(bars, [f'n={n}' if n else '' for n in counts], fontsize=7)
        ax.set_ylabel(label)
        ax.grid(axis='y', alpha=0.3)
        ax.set_ylim(0, 1.1)
    axes[0].legend(loc='lower left')
    axes[1].set_xticks(range(len(kinds)), kinds, rotation=30, ha='right')
    fig.suptitle('Degradation on generated and shipped worlds: breakers vs baseline')
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
