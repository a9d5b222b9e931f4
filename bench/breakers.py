#!/usr/bin/env python3
"""Circuit-breaker benchmark in simulated time: the breakers against an anchor-like baseline.

Every source streams at its nominal rate with slot jitter and loss; the same streams and
faults go to `BreakerGuard` (robo_edge) and to `BaselineGuard` (arrival rate and a 1.0 s
timeout, stop on failure, no fallback: Autoware's topic_state_monitor and Nav2's
collision-monitor source_timeout). Each monitor is evaluated on its own tick: 50 Hz as
sensor_guard's timer runs on a robot, and `breakers_20hz` at the twin's 20 Hz lockstep tick
(the quantisation the chaos runs in the twin see). Per fault kind and run (random onset):
time to detection (the LiDAR breaker leaves CLOSED) and to reaction (fallback source live,
or a cap or stop commanded), and misses.
Also: the gate's first decelerating command after the controller falls silent, zero false
trips over 30 simulated minutes with 20% jitter and 1% loss, and mode changes of a source that
flaps at 1 Hz. Twin runs (detection in the full stack) come from bench/chaos.py.

    python bench/breakers.py [--runs 200] [--soak-min 30] [--output bench/results/breakers.json]
"""

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _provenance as provenance  # noqa: E402
from _stats import percentiles  # noqa: E402

from robo_edge.breakers.baseline import BaselineConfig, BaselineGuard  # noqa: E402
from robo_edge.breakers.cross_check import BeamScan  # noqa: E402
from robo_edge.breakers.faults import BreakerState, Source  # noqa: E402
from robo_edge.breakers.guard import BreakerGuard, Guard, GuardConfig  # noqa: E402
from robo_edge.breakers.mode import Mode  # noqa: E402
from robo_edge.robot.kinematics import Velocity  # noqa: E402
from robo_edge.safety.gate import GateConfig, GateInputs, GateState, tick  # noqa: E402

MS = 1_000_000
S = 1_000_000_000
TICK = 50 * MS  # the 20 Hz control tick (the twin's lockstep period, the gate's tick)
ROBOT_TICK = 20 * MS  # sensor_guard's timer on a robot (rate_hz 50)
RATES = {Source.LIDAR: 10.0, Source.CAMERA: 15.0, Source.IMU: 100.0, Source.ODOMETRY: 50.0,
         Source.PERCEPTION: 15.0, Source.CONTROLLER: 20.0}
FAULTS = ('silence', 'freeze', 'lie_inf', 'lie_offset')
BEAMS = 360
ANGLES = -math.pi + 2 * math.pi / BEAMS * np.arange(BEAMS)


@dataclass
class Streams:
    """Seeded arrivals of every source with slot jitter and loss; LiDAR ranges of a room."""

    rng: np.random.Generator
    jitter: float = 0.2
    loss: float = 0.01

    def arrivals(self, source: Source, start_ns: int, end_ns: int) -> list[int]:
        """Return the arrival times of a source in (start, end)."""
        period = round(S / RATES[source])
        slots = np.arange(start_ns + period, end_ns, period, dtype=np.int64)
        offsets = self.rng.uniform(-self.jitter, self.jitter, slots.size) * period
        kept = self.rng.random(slots.size) >= self.loss
        return [int(t) for t in (slots + offsets.astype(np.int64))[kept]]

    def room(self) -> np.ndarray:
        """LiDAR ranges inside a 5 x 4 m room with the robot off centre, plus noise."""
        c, s = np.cos(ANGLES), np.sin(ANGLES)
        with np.errstate(divide='ignore'):
            tx = np.where(c > 0, 3.0 / c, np.where(c < 0, -2.0 / c, np.inf))
            ty = np.where(s > 0, 1.5 / s, np.where(s < 0, -2.5 / s, np.inf))
        return np.minimum(tx, ty) + self.rng.normal(0.0, 0.01, BEAMS)


def virtual_of(ranges: np.ndarray, rng: np.random.Generator) -> BeamScan:
    """Return the camera's view of the same room: +-30 degrees ahead, noisier, 4 m range."""
    inside = np.abs(ANGLES) <= math.radians(30)
    r = ranges[inside] + rng.normal(0.0, 0.05, int(inside.sum()))
    r = np.where(r > 4.0, np.inf, r)
    return BeamScan(float(ANGLES[inside][0]), 2 * math.pi / BEAMS, r, 0.1, 4.0)


def lidar_scan(ranges: np.ndarray) -> BeamScan:
    """Return LiDAR ranges as a BeamScan."""
    return BeamScan(-math.pi, 2 * math.pi / BEAMS, ranges, 0.1, 12.0)


@dataclass
class Monitor:
    """A guard under test and the period it is evaluated at."""

    name: str
    guard: Guard
    tick_ns: int = ROBOT_TICK


def monitors() -> list[Monitor]:
    """Return the monitors: the shipped breakers (robot and twin ticks), a variant, baseline.

    `breakers_k2.5` opens the LiDAR on 2.5 missed periods instead of 3.5: within 300 ms of any
    onset, at the price of false trips when two scans in a row are lost.
    """
    fast = dict(GuardConfig().breakers)
    fast[Source.LIDAR] = dataclasses.replace(fast[Source.LIDAR], silence_periods=2.5)
    return [Monitor('breakers', BreakerGuard(GuardConfig(), 0)),
            Monitor('breakers_20hz', BreakerGuard(GuardConfig(), 0), TICK),
            Monitor('breakers_k2.5', BreakerGuard(GuardConfig(breakers=fast), 0)),
            Monitor('baseline', BaselineGuard(BaselineConfig(), 0))]


def simulate(monitor: Monitor, streams: Streams, end_ns: int, fault: str | None = None,
             onset_ns: int = 0, lidar_on: Callable[[int], bool] | None = None) -> list:
    """Feed every stream and tick the guard at its period; return (t, output) per tick."""
    guard = monitor.guard
    events = [(t, s) for s in Source for t in streams.arrivals(s, 0, end_ns)]
    events.sort(key=lambda e: e[0])
    outputs, i, frozen = [], 0, None
    for now in range(monitor.tick_ns, end_ns + 1, monitor.tick_ns):
        while i < len(events) and events[i][0] <= now:
            t, source = events[i]
            i += 1
            faulty = fault is not None and t >= onset_ns
            if source is Source.LIDAR:
                if (faulty and fault == 'silence') or (lidar_on and not lidar_on(t)):
                    continue
                ranges = streams.room()
                if faulty and fault == 'freeze':
                    frozen = ranges if frozen is None else frozen
                    ranges = frozen
                if faulty and fault == 'lie_inf':
                    ranges = np.full(BEAMS, np.inf)
                if faulty and fault == 'lie_offset':  # still noisy: only a cross-check sees it
                    ranges = ranges + 1.5
                guard.on_message(source, t, t, ranges.tobytes())
                guard.on_scans(t, lidar_scan(ranges), virtual_of(streams.room(), streams.rng))
            else:
                guard.on_message(source, t, t, int(t).to_bytes(8, 'little'))
        outputs.append((now, guard.update(now)))
    return outputs


def first(outputs: list, after_ns: int, wanted: Callable) -> int | None:
    """Return the first tick at or after `after_ns` whose output is wanted."""
    return next((t for t, out in outputs if t >= after_ns and wanted(out)), None)


def fault_runs(kind: str, runs: int, seed: int) -> dict[str, dict]:
    """Return detection and reaction of both monitors over `runs` random onsets of a fault."""
    rows: dict[str, dict[str, list]] = {
        m.name: {'detect_ms': [], 'react_ms': [], 'fallback': [], 'from_first_missed_ms': []}
        for m in monitors()}
    for run in range(runs):
        rng = np.random.default_rng(seed + run)
        onset = int(rng.uniform(4.0, 5.0) * S)
        for monitor in monitors():
            name = monitor.name
            streams = Streams(np.random.default_rng(seed + run))
            out = simulate(monitor, streams, 9 * S, kind, onset)
            # The first LiDAR message the fault changed (a monitor cannot see the fault before).
            missed = min(t for t in Streams(np.random.default_rng(seed + run)).arrivals(
                Source.LIDAR, 0, 9 * S) if t >= onset)
            detected = first(out, onset, lambda o: o.statuses[Source.LIDAR].state
                             is not BreakerState.CLOSED)
            reacted = first(out, onset, lambda o: o.selection.fallback
                            or o.mode.mode is not Mode.NOMINAL)
            rows[name]['detect_ms'].append(None if detected is None else (detected - onset) / MS)
            rows[name]['from_first_missed_ms'].append(
                None if detected is None else (detected - missed) / MS)
            rows[name]['react_ms'].append(None if reacted is None else (reacted - onset) / MS)
            rows[name]['fallback'].append(bool(out[-1][1].selection.fallback))
    return {name: summarise(row, runs) for name, row in rows.items()}


def summarise(row: dict[str, list], runs: int) -> dict:
    """Return the distributions and counts of one monitor."""
    detect = [v for v in row['detect_ms'] if v is not None]
    react = [v for v in row['react_ms'] if v is not None]
    first = [v for v in row['from_first_missed_ms'] if v is not None]
    return {'runs': runs, 'missed': runs - len(detect), 'detect_ms': percentiles(detect),
            'detect_from_first_affected_message_ms': percentiles(first),
            'react_ms': percentiles(react), 'on_fallback': int(sum(row['fallback']))}


def controller_silence(runs: int, seed: int) -> dict:
    """Return when the gate first decelerates after the last command (random onset)."""
    rng = np.random.default_rng(seed)
    config = GateConfig(command_timeout_s=0.15)
    latencies = []
    for _ in range(runs):
        onset = int(rng.uniform(2.0, 2.05) * S)
        state, previous, decel_at = GateState(), None, None
        for now in range(TICK, 4 * S, TICK):
            alive = now < onset
            last = now if alive else (onset // TICK) * TICK
            result = tick(state, GateInputs(now, Velocity(0.5, 0.0), last, None, None), config)
            if not alive and previous is not None and result.velocity.linear < previous - 1e-9:
                decel_at = now
                break
            state, previous = result.state, result.velocity.linear
        latencies.append((decel_at - onset) / MS if decel_at else None)
    got = [v for v in latencies if v is not None]
    return {'runs': runs, 'missed': runs - len(got), 'decelerating_ms': percentiles(got),
            'command_timeout_s': config.command_timeout_s}


def soak(minutes: float, seed: int) -> dict:
    """Nominal streams with 20% jitter and 1% loss: breaker trips of both monitors."""
    end = int(minutes * 60 * S)
    out = {}
    for monitor in monitors():
        outputs = simulate(monitor, Streams(np.random.default_rng(seed)), end)
        trips = sum(status.trips for status in outputs[-1][1].statuses.values())
        changes = sum(1 for _, o in outputs if o.mode.changed)
        out[monitor.name] = {'simulated_min': minutes, 'trips': trips, 'mode_changes': changes}
    return out


def flapping(seconds: float, seed: int) -> dict:
    """Return mode changes per 10 s of a LiDAR on 0.5 s, off 0.5 s (1 Hz) from 5 s."""
    end = int(seconds * S)

    def lidar_on(t: int) -> bool:
        return t < 5 * S or (t // (S // 2)) % 2 == 0

    out = {}
    for monitor in monitors():
        outputs = simulate(monitor, Streams(np.random.default_rng(seed)), end,
                           lidar_on=lidar_on)
        changes = [t for t, o in outputs if o.mode.changed]
        windows = [sum(1 for t in changes if w * 10 * S <= t < (w + 1) * 10 * S)
                   for w in range(int(seconds // 10))]
        out[monitor.name] = {'mode_changes': len(changes), 'max_per_10_s': max(windows, default=0),
                     'latched': bool(outputs[-1][1].statuses[Source.LIDAR].latched)}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every part, print a summary and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=200, help='random onsets per fault kind')
    parser.add_argument('--soak-min', type=float, default=30.0)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--output', type=Path, default=Path('bench/results/breakers.json'))
    provenance.add_arguments(parser)
    args = parser.parse_args(argv)
    block = provenance.check(args, argv, __file__)
    result = {'benchmark': 'breakers', **block, 'time': 'simulated',
              'tick_ms': TICK / MS, 'faults': {}}
    for kind in FAULTS:
        rows = result['faults'][kind] = fault_runs(kind, args.runs, args.seed)
        ours, base = rows['breakers'], rows['baseline']
        ratio = (base['detect_ms']['p50'] / ours['detect_ms']['p50']
                 if base['detect_ms']['p50'] and ours['detect_ms']['p50'] else None)
        rows['baseline_over_breakers_p50'] = ratio
        for name, row in ((n, r) for n, r in rows.items() if isinstance(r, dict)):
            print(f'{kind:10s} {name:13s} detect p50/p99/max {fmt(row["detect_ms"])} ms from '
                  f'onset, {fmt(row["detect_from_first_affected_message_ms"])} ms from the '
                  f'first affected message; missed {row["missed"]}/{args.runs}, on fallback '
                  f'{row["on_fallback"]}', flush=True)
    result['controller_silence'] = controller_silence(args.runs, args.seed)
    silence = result['controller_silence']
    print(f'controller silent: decelerating after {fmt(silence["decelerating_ms"])} ms')
    result['soak'] = soak(args.soak_min, args.seed)
    print(f'soak {args.soak_min:g} min, 20% jitter, 1% loss: {result["soak"]}', flush=True)
    result['flapping_1hz'] = flapping(60.0, args.seed)
    print(f'flapping at 1 Hz over 60 s: {result["flapping_1hz"]}')
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1), encoding='utf-8')
    print(f'wrote {args.output}')
    return 0


def fmt(p: dict) -> str:
    """Return p50/p99/max as text."""
    if not p['count']:
        return '-'
    return f'{p["p50"]:.0f}/{p["p99"]:.0f}/{p["max"]:.0f}'


if __name__ == '__main__':
    raise SystemExit(main())
