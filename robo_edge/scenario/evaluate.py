"""Score a twin run against a scenario's expectations (pure)."""

import math
from dataclasses import dataclass, field

from robo_edge.robot.kinematics import wrap_angle
from robo_edge.scenario import belief
from robo_edge.scenario.spec import MODES, Scenario

Trajectory = list[tuple[float, float, float, float]]  # (t, x, y, yaw)
LEFT_GRACE_S = 0.5  # samples this long after the planner left a goal still count for it


@dataclass
class Verdict:
    """Pass/fail with every failed expectation spelled out."""

    passed: bool
    failures: list[str] = field(default_factory=list)
    goals_reached: int = 0
    goal_times_s: list[float] = field(default_factory=list)
    goal_truth: list[dict] = field(default_factory=list)  # see belief.goal_truth
    goals_uncertain: int = 0  # planner outcome `uncertain`: neither reached nor failed
    believed_reached: int = 0  # declared reached where the true pose was not
    localization_divergence: bool | None = None  # None: no localised poses compared
    localization_divergence_reason: str = ''

    def belief_fields(self) -> dict:
        """Return the belief-against-truth fields of the result JSON."""
        return {
            'goal_truth': self.goal_truth, 'goals_uncertain': self.goals_uncertain,
            'believed_reached': self.believed_reached,
            'localization_divergence': self.localization_divergence,
            'localization_divergence_reason': self.localization_divergence_reason,
        }


def goals_reached(
    scenario: Scenario, trajectory: Trajectory, given_up: frozenset[int] = frozenset(),
    left_at: dict[int, float] | None = None,
) -> list[float]:
    """Return the time each goal was reached, in order; a goal counts only after the last.

    Goals the planner reported failed (`given_up`) are skipped, as the robot skipped them. A
    goal the planner left at time t (`left_at`: it ended `uncertain`) counts if the robot
    truly reached it by then; otherwise it is skipped from then on.
    """
    left_at = left_at or {}
    goals = [(i, g) for i, g in enumerate(scenario.goals) if i not in given_up]
    times: list[float] = []
    index = 0
    for t, x, y, yaw in trajectory:
        while index < len(goals) and t > left_at.get(goals[index][0], math.inf) + LEFT_GRACE_S:
            index += 1  # the robot moved on without truly reaching it
        if index >= len(goals):
            break
        goal = goals[index][1]
        close = math.hypot(goal.x - x, goal.y - y) <= scenario.goal_tolerance_xy
        aligned = abs(wrap_angle(goal.yaw - yaw)) <= scenario.goal_tolerance_yaw
        if close and aligned:
            times.append(t)
            index += 1
    return times


def evaluate(scenario: Scenario, record: dict) -> Verdict:
    """Check a run record (the twin's JSON) against the scenario's expectations."""
    expect = scenario.expect
    failures: list[str] = []
    if record.get('outcome') != expect.outcome:
        failures.append(
            f'outcome: expected {expect.outcome}, got {record.get("outcome")} '
            f'{record.get("error", "")}'.rstrip()
        )
    collisions = len(record.get('collisions', []))
    if expect.collisions is not None and collisions > expect.collisions:
        failures.append(f'collisions: expected at most {expect.collisions}, got {collisions}')
    given_up = frozenset(
        g['index'] for g in record.get('planner_goals', []) if g['outcome'] == 'failed'
    )
    left_at = {g['index']: float(g['t']) for g in record.get('planner_goals', [])
               if g['outcome'] == 'uncertain' and g.get('t') is not None}
    times = goals_reached(scenario, record.get('trajectory', []), given_up, left_at)
    _check_goals(scenario, len(times), failures)
    _check_bounds(scenario, record, failures)
    _check_faults(scenario, record, failures)
    truth = belief.goal_truth(scenario, record.get('planner_goals', []),
                              record.get('trajectory', []))
    failures += belief.belief_failures(scenario, truth)
    localization = record.get('localization')
    failures += belief.localization_failures(expect.max_localization_error_m, localization)
    diverged, why = belief.localization_divergence(localization)
    return Verdict(
        not failures, failures, len(times), times, truth,
        belief.count_kind(truth, belief.UNCERTAIN), belief.count_kind(truth, belief.KIND_BELIEVED),
        diverged, why,
    )


def _check_goals(scenario: Scenario, reached: int, failures: list[str]) -> None:
    wanted = scenario.expect.goals_reached
    if wanted is None:
        return
    needed = len(scenario.goals) if wanted == 'all' else int(wanted)
    if reached < needed:
        failures.append(f'goals_reached: expected {wanted} ({needed}), got {reached}')


def _check_bounds(scenario: Scenario, record: dict, failures: list[str]) -> None:
    expect = scenario.expect
    clearance = record.get('min_clearance_m')
    if expect.min_clearance_m is not None and clearance is not None and (
        clearance < expect.min_clearance_m
    ):
        failures.append(
            f'min_clearance_m: expected at least {expect.min_clearance_m}, got {clearance:.3f}'
        )
    length = float(record.get('path_length_m', 0.0))
    if expect.min_path_length_m is not None and length < expect.min_path_length_m:
        failures.append(
            f'min_path_length_m: expected at least {expect.min_path_length_m}, got {length:.2f}'
        )
    if expect.max_path_length_m is not None and length > expect.max_path_length_m:
        failures.append(
            f'max_path_length_m: expected at most {expect.max_path_length_m}, got {length:.2f}'
        )
    if expect.final_pose_within is not None:
        _check_final_pose(expect.final_pose_within, record, failures)
    if expect.goals_failed is not None:
        _check_reported_failures(expect.goals_failed, record, failures)


def _check_reported_failures(
    indices: tuple[int, ...], record: dict, failures: list[str]
) -> None:
    reported = {g['index'] for g in record.get('planner_goals', []) if g['outcome'] == 'failed'}
    missing = sorted(set(indices) - reported)
    if missing:
        failures.append(f'goals_failed: expected the planner to report goals {missing} failed, '
                        f'it reported {sorted(reported)}')


def _check_final_pose(
    within: tuple[float, float, float], record: dict, failures: list[str]
) -> None:
    trajectory = record.get('trajectory') or []
    if not trajectory:
        failures.append('final_pose_within: the run recorded no trajectory')
        return
    _, x, y, _ = trajectory[-1]
    distance = math.hypot(x - within[0], y - within[1])
    if distance > within[2]:
        failures.append(
            f'final_pose_within: ended at ({x:.2f}, {y:.2f}), {distance:.2f} m from '
            f'({within[0]}, {within[1]}), allowed {within[2]}'
        )


def _check_faults(scenario: Scenario, record: dict, failures: list[str]) -> None:
    """Check detection and reaction of every injected fault, and the modes and trips."""
    expect = scenario.expect
    timed = [f for f in record.get('fault_timing', []) if f.get('injected_s') is not None]
    for limit, key, what in ((expect.detect_within_s, 'detect_latency_s', 'detected'),
                             (expect.react_within_s, 'react_latency_s', 'reacted to')):
        if limit is None:
            continue
        for fault in timed:
            latency = fault.get(key)
            if latency is None or latency > limit + 1e-9:
                got = 'never' if latency is None else f'after {latency:.3f} s'
                failures.append(f'{fault["type"]} on {fault["target"]} at '
                                f'{fault["injected_s"]:.2f} s: {what} {got}, '
                                f'expected within {limit} s')
    if (expect.detect_within_s is not None or expect.react_within_s is not None) and not timed:
        failures.append('faults: expectations on detection, but no fault changed anything')
    for fault in record.get('fault_timing', []):
        reason = _not_injected(fault, record.get('sim_time_s'))
        if reason:
            failures.append(f'{fault["type"]} on {fault["target"]} at {fault["start_s"]:.2f} s: '
                            f'not injected ({reason})')
    _check_modes(expect, record, failures)


def _not_injected(fault: dict, end_s: float | None) -> str | None:
    """Why a kill the run reached did not happen (None: it did, or the run ended first)."""
    if fault.get('not_injected'):
        return str(fault['not_injected'])
    if (fault.get('type') == 'kill' and fault.get('injected_s') is None and end_s is not None
            and float(fault.get('start_s', math.inf)) <= end_s):
        return f'simulated time reached {end_s:.2f} s and the kill never came'
    return None


def _check_modes(expect: object, record: dict, failures: list[str]) -> None:
    highest = record.get('highest_mode', 'NOMINAL')
    rank = MODES.index
    if expect.max_mode is not None and rank(highest) > rank(expect.max_mode):
        failures.append(f'max_mode: expected at most {expect.max_mode}, reached {highest}')
    if expect.min_mode is not None and rank(highest) < rank(expect.min_mode):
        failures.append(f'min_mode: expected at least {expect.min_mode}, reached {highest}')
    trips = int(record.get('breaker_trips', 0))
    if expect.max_breaker_trips is not None and trips > expect.max_breaker_trips:
        failures.append(f'max_breaker_trips: expected at most {expect.max_breaker_trips}, '
                        f'got {trips}')


def localization_errors(trajectory: Trajectory, poses: list[list[float]]) -> dict:
    """Compare the stack's poses with the true trajectory at the same stamps.

    `poses` rows are (t, x, y, yaw, odom_x, odom_y, odom_yaw): the localised pose and the
    dead-reckoned one. Returns the position (m) and yaw (rad) errors of both: mean, max and
    the last, over the samples whose stamp the trajectory holds.
    """
    truth = {round(t * 1e3): (x, y, yaw) for t, x, y, yaw in trajectory}
    rows = [(row, truth[round(row[0] * 1e3)]) for row in poses if round(row[0] * 1e3) in truth]
    out: dict = {'samples': len(rows)}
    for name, offset in (('localized', 1), ('dead_reckoning', 4)):
        xy = [math.hypot(r[offset] - t[0], r[offset + 1] - t[1]) for r, t in rows]
        yaw = [abs(wrap_angle(r[offset + 2] - t[2])) for r, t in rows]
        out[name] = {
            'xy_mean_m': sum(xy) / len(xy) if xy else None, 'xy_max_m': max(xy, default=None),
            'xy_last_m': xy[-1] if xy else None, 'yaw_max_rad': max(yaw, default=None),
        }
    return out
