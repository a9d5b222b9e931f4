"""The run plan of bench/degradation.py: worlds, fault kinds, fault placement and scenarios.

Worlds are generated from evaluation seeds (EVALUATION_SEED_START + i) or shipped
(sim/worlds/*.yaml, starting at their first spawn hint); goals come from goalgen on both. The
runner places faults by time only, so a fault starts when the planned route, driven at
goalgen's SPEED_M_S with its PER_GOAL_S pause per goal, first approaches an obstacle: the first
route point within NEAR_M of one after the route has been clear of that distance, LEAD_S
earlier, never before MIN_START_S.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robo_edge import paths
from robo_edge.scenario.spec import Scenario, parse_scenario
from robo_edge.twin.goalgen import (
    PER_GOAL_S,
    SPEED_M_S,
    duration_for,
    generate_scenario,
    installed_footprint,
    plan_route,
    reach_planner,
)
from robo_edge.twin.world import World, load_world, parse_world
from robo_edge.twin.worldgen import EVALUATION_SEED_START, check_evaluation_seed, clearance

NEAR_M = 0.8
LEAD_S = 1.0
MIN_START_S = 3.0
STEP_M = 0.1  # the planned path is resampled this finely to find the first approach
FAULT_EXTRA_S = 30.0  # a fault run may stop or slow down: it gets this much longer
# A permanent fault leaves the rest of the route to the degraded robot (speed cap 0.3 m/s
# against the route estimate's speed, on the camera's narrower view): twice the time, and more.
PERMANENT_SLOWDOWN = 2.0
SHIPPED_GOAL_SEED = 0  # goalgen's draw on the shipped worlds (not a world seed)
MONITORS = ('breakers', 'baseline')
NOMINAL = 'nominal'
PLACEMENT = 'route_estimate'
_SILENCE_8S = {'type': 'silence', 'target': 'lidar', 'duration_s': 8.0}
_PHANTOM = {'type': 'lie', 'target': 'camera', 'mode': 'phantom', 'duration_s': 6.0}
FAULT_KINDS: dict[str, tuple[dict, ...]] = {
    'lidar_silence': ({'type': 'silence', 'target': 'lidar'},),  # to the end of the run
    'lidar_silence_8s': (_SILENCE_8S,),
    'lidar_freeze': ({'type': 'freeze', 'target': 'lidar', 'duration_s': 6.0},),
    'lidar_lie_inf': ({'type': 'lie', 'target': 'lidar', 'mode': 'constant',
                       'value': math.inf, 'duration_s': 6.0},),
    'lidar_lie_offset': ({'type': 'lie', 'target': 'lidar', 'mode': 'offset', 'value': 0.5,
                          'duration_s': 6.0},),
    'camera_phantom': (_PHANTOM,),
    'camera_missed': ({'type': 'lie', 'target': 'camera', 'mode': 'missed',
                       'duration_s': 6.0},),
    'imu_silence': ({'type': 'silence', 'target': 'imu', 'duration_s': 3.0},),
    'odom_lie': ({'type': 'lie', 'target': 'odom', 'mode': 'offset', 'value': 0.6,
                  'duration_s': 3.0},),
    'lidar_silence_camera_phantom': (_SILENCE_8S, _PHANTOM),
    # The LiDAR lost for good on a world the robot has no map of: outside the targets (the
    # camera alone must explore), reported so the limit is seen.
    'lidar_silence_unmapped': ({'type': 'silence', 'target': 'lidar'},),
}
UNMAPPED = ('lidar_silence_unmapped',)  # every other run starts on the world's survey
LIDAR_KINDS = ('lidar_silence', 'lidar_silence_8s', 'lidar_freeze', 'lidar_lie_inf',
               'lidar_lie_offset', 'lidar_silence_camera_phantom')
LYING_LIDAR = ('lidar_lie_inf', 'lidar_lie_offset')
LYING_CAMERA = ('camera_phantom', 'camera_missed')


@dataclass(frozen=True)
class Run:
    """One planned run: a world, a category (nominal or a fault kind), a monitor, a seed."""

    world: str  # gen<seed> or a shipped world's name
    kind: str
    monitor: str
    seed: int

    @property
    def run_id(self) -> str:
        """Return the run's name (also its scenario's and its cache file's)."""
        return f'{self.world}__{self.kind}__{self.monitor}_s{self.seed}'


@dataclass(frozen=True)
class WorldCase:
    """A world's scenario document (no name, seed or faults) and where faults start."""

    world: str
    world_seed: int | None
    doc: dict
    fault_start_s: float
    fault_start_reason: str
    parsed: World | None = None


def generated_name(index: int) -> str:
    """Return the key of the index-th generated world (its evaluation seed)."""
    return f'gen{check_evaluation_seed(EVALUATION_SEED_START + index)}'


def shipped_worlds() -> list[str]:
    """Return the names of the installed worlds."""
    return sorted(p.stem for p in paths.share_file('sim', 'worlds').glob('*.yaml'))


def interleave(streams: Sequence[Sequence[Sequence[Run]]]) -> list[Run]:
    """Take one group from each stream in turn, so a plan cut short still has a mix."""
    out: list[Run] = []
    for depth in range(max((len(s) for s in streams), default=0)):
        for stream in streams:
            if depth < len(stream):
                out.extend(stream[depth])
    return out


def build_plan(worlds: int, fault_worlds: int, seeds: int, baseline_nominal: bool,
               kinds: Iterable[str] = tuple(FAULT_KINDS)) -> list[Run]:
    """Return every run in order: nominal, fault pairs (breakers then baseline), interleaved."""
    nominal_worlds = [generated_name(i) for i in range(worlds)] + shipped_worlds()
    nominal = [[Run(w, NOMINAL, 'breakers', s)] for s in range(seeds) for w in nominal_worlds]
    pairs = [[Run(generated_name(i), kind, m, 0) for m in MONITORS]
             for i in range(fault_worlds) for kind in kinds]
    streams = [nominal, pairs]
    if baseline_nominal:
        streams.append([[Run(w, NOMINAL, 'baseline', s)] for s in range(seeds)
                        for w in nominal_worlds])
    return interleave(streams)


def footprint() -> tuple[float, float]:
    """Return the default robot's footprint radius and the installed planner margin."""
    return installed_footprint()


def world_case(world: str, goals: int) -> WorldCase:
    """Build (once) a world's navigation scenario document and its fault start."""
    radius, margin = footprint()
    if world.startswith('gen'):
        seed = int(world[3:])
        doc = generate_scenario(seed, goals, radius, margin, camera=True)
        parsed = parse_world({'world': doc['world']}, world)
    else:
        seed, path = None, paths.share_file('sim', 'worlds', f'{world}.yaml')
        parsed = load_world(path)
        start = parsed.spawn_hints[0]
        route = plan_route(parsed, start, goals, SHIPPED_GOAL_SEED, radius, margin)
        doc = {'world': str(path), 'start': list(start), 'twin': {},
               'duration_s': duration_for(route.length_m, len(route.goals)),
               'goals': [list(g) for g in route.goals],
               'expect': {'collisions': 0, 'goals_reached': 'all'}}
    points = [tuple(doc['start'][:2])] + [tuple(g[:2]) for g in doc['goals']]
    start_s, reason = fault_start(parsed, route_samples(parsed, points, radius, margin))
    return WorldCase(world, seed, doc, start_s, reason, parsed)


def route_samples(world: World, points: Sequence[tuple[float, float]], radius: float,
                  margin: float) -> list[tuple[float, float, float]]:
    """Return (t, x, y) along the planned legs: SPEED_M_S, and PER_GOAL_S at each goal."""
    planner = reach_planner(world, radius, margin)
    samples: list[tuple[float, float, float]] = []
    t = 0.0
    for leg, (here, goal) in enumerate(zip(points, points[1:], strict=False)):
        path = planner.plan(here, goal).path or [here, goal]
        t += PER_GOAL_S * (leg > 0)
        for (x0, y0), (x1, y1) in zip(path, path[1:], strict=False):
            length = math.hypot(x1 - x0, y1 - y0)
            for f in np.arange(0.0, 1.0, STEP_M / length if length > STEP_M else 1.0):
                samples.append((t + f * length / SPEED_M_S, x0 + f * (x1 - x0),
                                y0 + f * (y1 - y0)))
            t += length / SPEED_M_S
    return samples


def fault_start(world: World, samples: Sequence[tuple[float, float, float]]
                ) -> tuple[float, str]:
    """Return the fault start for a route and why: its first approach to an obstacle."""
    clear = [clearance(world, x, y) for _, x, y in samples]
    was_clear = False
    for (t, x, y), c in zip(samples, clear, strict=True):
        if c > NEAR_M:
            was_clear = True
        elif was_clear:
            return max(t - LEAD_S, MIN_START_S), (
                f'route within {NEAR_M} m of an obstacle at ({x:.2f}, {y:.2f}), '
                f'estimated {t:.1f} s')
    if not samples:
        return MIN_START_S, 'no planned route'
    i = int(np.argmin(clear))
    t = samples[i][0]
    return max(t - LEAD_S, MIN_START_S), (
        f'route never approaches within {NEAR_M} m after being clear; closest '
        f'({clear[i]:.2f} m) at estimated {t:.1f} s')


def faults_of(kind: str, start_s: float) -> list[dict]:
    """Return the faults of a kind, starting at `start_s` (none for nominal)."""
    return [{**fault, 'start_s': round(start_s, 2)} for fault in FAULT_KINDS.get(kind, ())]


def starts_on_survey(run: Run) -> bool:
    """Whether the run's mapper is seeded with the world's survey (all but the unmapped)."""
    return run.kind not in UNMAPPED


def scenario_for(run: Run, case: WorldCase, survey: Path | None = None) -> Scenario:
    """Return the run's scenario: the world case, its seed, faults, monitor and prior map.

    `survey` (robo_edge/twin/survey.py) seeds the mapper, as the map of a robot in service
    would; the unmapped kinds start with none.
    """
    faults = faults_of(run.kind, case.fault_start_s)
    params: dict = {'sensor_guard': {'monitor': run.monitor}}
    if survey is not None and starts_on_survey(run):
        params['mapper'] = {'static_map': str(survey)}
    doc = {**case.doc, 'name': run.run_id, 'seed': run.seed, 'faults': faults,
           'params': params}
    if faults:
        permanent = any(not f.get('duration_s') for f in FAULT_KINDS[run.kind])
        slowdown = PERMANENT_SLOWDOWN if permanent else 1.0
        doc['duration_s'] = case.doc['duration_s'] * slowdown + FAULT_EXTRA_S
    return parse_scenario(doc, f'bench/degradation.py {run.run_id}')


def jsonable(faults: Iterable[dict]) -> list[dict]:
    """Return fault dicts with non-finite numbers as strings (strict JSON has no Infinity)."""
    return [{k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in fault.items()} for fault in faults]
