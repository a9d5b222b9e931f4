"""Figures of bench/robot.py: one run's record, the per-mode aggregates and the targets (pure).

Times of detection, fallback and deceleration are simulated seconds from the run's report: on
the wall clock (`free_run`, twin paced at 1x) they are wall time as the robot lives it; in
lockstep simulated time waits for the graph, so the same figures are the graph's logic
without its scheduling. Command periods, tick latencies and the camera's end-to-end latency
are wall milliseconds; resources are the supervisor's samples (CPU % of one core, RSS MB).
"""

import math
from collections.abc import Iterable, Sequence

from _stats import percentiles

NOMINAL = 'nominal'
MODES = ('free_run', 'lockstep')
TWIN = ('twin',)  # the robot's hardware in these runs, not part of the robot's graph
MOVING_M_S = 0.05  # the base counts as driving at the kill above this speed
STOPPED_M_S = 0.02
CONTROL_PERIOD_S = 0.05  # the default robot's 20 Hz control
PACED_1X = 0.95  # a free_run whose twin held at least this real-time factor ran at 1x
P99_NOTE = ('p99 is numpy linear interpolation: with n < 100 samples it lies between the '
            'two largest values, so read it with the max and n beside it')
TARGETS = {
    'silent_lidar_fallback_p99_ms': 300.0,  # first missed scan -> fallback live
    'controller_silent_decel_p99_ms': 200.0,  # kill -> base decelerating
    'soak_false_trips': 0,
    'soak_collisions': 0,
}


def speeds(trajectory: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """Return (t, speed) per trajectory segment, at the segment's end (m/s)."""
    out = []
    for (t0, x0, y0, *_), (t1, x1, y1, *_) in zip(trajectory, trajectory[1:], strict=False):
        if t1 > t0:
            out.append((t1, math.hypot(x1 - x0, y1 - y0) / (t1 - t0)))
    return out


def deceleration(trajectory: Sequence[Sequence[float]], kill_s: float,
                 horizon_s: float = 5.0) -> dict:
    """Return when the base began to slow after a kill, and when it stood still.

    The descent is the run of falling segment speeds that ends at the first stop after the
    kill; its first falling segment's end is `decel_s` (resolution: one trajectory period).
    A descent that began before the kill counts from the first sample after it.
    """
    v = speeds(trajectory)
    before = [s for t, s in v if t <= kill_s + 1e-9]
    ref = before[-1] if before else 0.0
    out = {'speed_at_kill_m_s': ref, 'moving': ref > MOVING_M_S, 'decel_latency_s': None,
           'stop_latency_s': None, 'already_slowing': False,
           'speeds': [[round(t - kill_s, 3), round(s, 3)] for t, s in v  # to check by eye
                      if -0.5 <= t - kill_s <= 2.0]}
    stop = next((i for i, (t, s) in enumerate(v)
                 if kill_s < t <= kill_s + horizon_s and s < STOPPED_M_S), None)
    if not out['moving'] or stop is None:
        return out

    def falling(i: int) -> bool:
        return i > 0 and v[i - 1][1] > v[i][1] + 1e-6

    start = stop
    while falling(start - 1) and v[start - 1][0] > kill_s:
        start -= 1
    first_after = next(i for i, (t, _) in enumerate(v) if t > kill_s)
    out['already_slowing'] = start == first_after and falling(first_after)
    out['decel_latency_s'] = v[start][0] - kill_s
    out['stop_latency_s'] = v[stop][0] - kill_s
    return out


def fallback_at(events: Iterable[dict], injected_s: float) -> float | None:
    """Return when a fallback obstacle source went live at or after injection."""
    return next((e['t'] for e in events if e.get('kind') == 'source' and e.get('fallback')
                 and e['t'] >= injected_s - 1e-9), None)


def run_record(result: dict, meta: dict, samples: dict | None) -> dict:
    """Return one run's key figures from the runner's result and the monitor's samples."""
    timing = (result.get('fault_timing') or [{}])[0] if meta['kind'] != NOMINAL else {}
    injected = timing.get('injected_s')
    fallback = fallback_at(result.get('events', []), injected) if injected is not None \
        else None
    record = {
        **meta, 'passed': result.get('passed'), 'failures': result.get('failures', [])[:5],
        'outcome': result.get('outcome'), 'sim_time_s': result.get('sim_time_s'),
        'wall_time_s': result.get('wall_time_s'),
        'real_time_factor': result.get('real_time_factor'),
        'goals_total': result.get('goals_total', 0),
        'goals_reached': result.get('goals_reached', 0),
        'collisions': result.get('collision_count', 0),
        'breaker_trips': result.get('breaker_trips', 0),
        'trip_sources': sorted({str(e.get('source')) for e in result.get('events', [])
                                if e.get('kind') == 'breaker' and e.get('state') == 'open'}),
        'highest_mode': result.get('highest_mode'),
        'late_releases': result.get('late_releases'),
        'injected_s': injected, 'detected_by': timing.get('detected_by'),
        'detect_latency_s': timing.get('detect_latency_s'),
        'fallback_latency_s': None if fallback is None else fallback - injected,
        'samples': samples or {},
    }
    if meta['kind'] == 'controller_kill' and injected is not None:
        silent = silent_at((samples or {}).get('controller_stamps', []), injected)
        record['controller_silent_s'] = silent
        detected = timing.get('detected_s')
        record['detect_from_silence_s'] = None if silent is None or detected is None \
            else detected - silent
        record['deceleration'] = deceleration(result.get('trajectory', []), silent) \
            if silent is not None else None
    return record


def silent_at(stamps: Sequence[float], kill_s: float, period_s: float = CONTROL_PERIOD_S,
              gap_s: float = 0.5) -> float | None:
    """Return when the controller fell silent: its last command before the kill's gap + 1 period.

    The runner's agent kills when it has seen /clock pass the fault's start, which on a loaded
    host is later than the start it reports; the last command the controller sent is the
    moment it died to within a period.
    """
    for here, after in zip(stamps, stamps[1:], strict=False):
        if here >= kill_s - period_s and after - here > gap_s:
            return here + period_s
    last = stamps[-1] if stamps else None
    return None if last is None or last < kill_s - period_s else last + period_s


def _ms(values: Iterable[float | None]) -> dict:
    return percentiles([v * 1e3 for v in values if v is not None])


def fault_side(runs: Sequence[dict]) -> dict:
    """Aggregate one mode's runs of one fault kind."""
    injected = [r for r in runs if r.get('injected_s') is not None]
    kills = [r for r in injected if 'deceleration' in r]
    decel = [r['deceleration'] for r in kills if r['deceleration']]
    moving = [d for d in decel if d['moving']]
    out = {
        'runs': len(runs), 'injected': len(injected),
        'collisions': sum(r['collisions'] for r in runs),
        'runs_all_goals': sum(r['goals_reached'] >= r['goals_total'] for r in runs),
        'detected': sum(r['detect_latency_s'] is not None for r in injected),
        'detect_ms': _ms(r['detect_latency_s'] for r in injected),
        'fallback_live': sum(r['fallback_latency_s'] is not None for r in injected),
        'fallback_ms': _ms(r['fallback_latency_s'] for r in injected),
        'detected_by': sorted({str(r['detected_by']) for r in injected}),
    }
    if kills:
        out.update(silence_found=len(decel), moving_at_kill=len(moving),
                   detect_from_silence_ms=_ms(r['detect_from_silence_s'] for r in kills),
                   already_slowing=sum(d['already_slowing'] for d in moving),
                   decel_ms=_ms(d['decel_latency_s'] for d in moving),
                   stop_ms=_ms(d['stop_latency_s'] for d in moving))
    return out


def soak_side(runs: Sequence[dict]) -> dict:
    """Aggregate one mode's nominal soak runs."""
    return {
        'runs': len(runs), 'sim_s': sum(r['sim_time_s'] or 0.0 for r in runs),
        'wall_s': sum(r['wall_time_s'] or 0.0 for r in runs),
        'breaker_trips': sum(r['breaker_trips'] or 0 for r in runs),
        'trip_sources': sorted({s for r in runs for s in r['trip_sources']}),
        'collisions': sum(r['collisions'] for r in runs),
        'goals_reached_truth': sum(r['goals_reached'] for r in runs),
        'goals_listed': sum(r['goals_total'] for r in runs),
        'highest_mode': sorted({str(r['highest_mode']) for r in runs}),
        'late_releases': [r['late_releases'] for r in runs if r.get('late_releases')],
    }


def jitter(runs: Sequence[dict]) -> dict:
    """Command periods (wall ms, as received) and the nodes' own tick latency, per node."""
    out = {}
    for node in ('controller', 'safety_gate'):
        periods = [p for r in runs for p in r['samples'].get('command_period_ms', {})
                   .get(node, [])]
        nominal = percentiles(periods)['p50']
        ticks = [t for r in runs for t in r['samples'].get('tick_ms', {}).get(node, [])]
        out[node] = {
            'period_ms': percentiles(periods),
            'period_deviation_ms': percentiles([abs(p - nominal) for p in periods]
                                               if nominal is not None else []),
            'diagnostics_tick_ms': {
                'windows': len(ticks),
                'p50_median': percentiles([t[0] for t in ticks])['p50'],
                'p99_max': max((t[1] for t in ticks), default=None)},
        }
    return out


def resources(runs: Sequence[dict]) -> dict:
    """CPU % and RSS MB per node, and of the whole graph (every node but the twin) per sample."""
    nodes: dict[str, list[list[float]]] = {}
    graph_cpu, graph_rss = [], []
    for run in runs:
        for sample in run['samples'].get('resources', []):
            for node, pair in sample.items():
                nodes.setdefault(node, []).append(pair)
            robot = [pair for node, pair in sample.items() if node not in TWIN]
            graph_cpu.append(sum(p[0] for p in robot))
            graph_rss.append(sum(p[1] for p in robot))
    per_node = {node: {'cpu_percent': percentiles([p[0] for p in pairs]),
                       'rss_mb': percentiles([p[1] for p in pairs])}
                for node, pairs in sorted(nodes.items())}
    return {'nodes': per_node, 'graph_excluding': list(TWIN),
            'graph': {'cpu_percent': percentiles(graph_cpu), 'rss_mb': percentiles(graph_rss)}}


def e2e(runs: Sequence[dict]) -> dict:
    """Camera capture to /perception/scan received, wall ms (free_run runs only)."""
    return percentiles([v for r in runs if r['mode'] == 'free_run'
                        for v in r['samples'].get('e2e_ms', [])])


def summarise(records: Sequence[dict], kinds: Sequence[str]) -> dict:
    """Return per mode: the soak, each fault kind, jitter and resources (from the soak)."""
    out = {}
    for mode in MODES:
        mine = [r for r in records if r['mode'] == mode]
        soak = [r for r in mine if r['kind'] == NOMINAL]
        rtf = [r['real_time_factor'] for r in mine if r.get('real_time_factor') is not None]
        out[mode] = {
            'real_time_factor': {**percentiles(rtf), 'min': min(rtf, default=None)},
            'soak': soak_side(soak),
            'faults': {k: fault_side([r for r in mine if r['kind'] == k]) for k in kinds},
            'jitter': jitter(soak), 'resources': resources(soak),
        }
    return out


def _target(value: float | int | None, limit: float, n: int, extra: dict | None = None
            ) -> dict:
    met = None if value is None else bool(value <= limit)
    return {'value': value, 'limit': limit, 'met': met, 'n': n, **(extra or {})}


def targets(summary: dict, soak_s: float) -> dict:
    """Return each target on the wall clock (free_run), lockstep's value beside it."""
    free, lock = summary['free_run'], summary['lockstep']

    def fault(side: dict, kind: str, key: str) -> tuple[float | None, int]:
        row = side['faults'].get(kind) or {}
        stats = row.get(key) or {}
        return stats.get('p99'), stats.get('count', 0)

    out = {}
    for name, kind, key in (('silent_lidar_fallback_p99_ms', 'lidar_silence', 'fallback_ms'),
                            ('controller_silent_decel_p99_ms', 'controller_kill', 'decel_ms')):
        value, n = fault(free, kind, key)
        lock_value, lock_n = fault(lock, kind, key)
        out[name] = _target(value, TARGETS[name], n, {
            'max': ((free['faults'].get(kind) or {}).get(key) or {}).get('max'),
            'lockstep_value': lock_value, 'lockstep_n': lock_n})
    rtf = free['real_time_factor']['min']  # figures on a twin slower than 1x are not 1x's
    out['free_run_real_time_factor_min'] = {
        'value': rtf, 'limit': PACED_1X, 'met': None if rtf is None else bool(rtf >= PACED_1X),
        'n': free['real_time_factor']['count'], 'at_least': True}
    soak = free['soak']
    measured = soak['runs'] > 0
    for name, key in (('soak_false_trips', 'breaker_trips'), ('soak_collisions', 'collisions')):
        out[name] = _target(soak[key] if measured else None, TARGETS[name], soak['runs'],
                            {'soak_sim_s': soak['sim_s'], 'soak_wanted_s': soak_s,
                             'full_length': soak['sim_s'] >= soak_s - 1.0 if measured else None})
    return out
