"""What the stack believed against what was true (pure).

The planner declares goals reached from the localised pose; the twin knows where the robot
really was. A goal declared reached while the true pose was outside the scenario's tolerance
is `believed_reached`: a failure whatever the scenario expects, because a robot that is wrong
about having arrived is wrong silently. An `uncertain` goal (the robot believed it had arrived
but its covariance was too large to claim it) is neither reached nor a failure by itself.
"""

import bisect
import math

from robo_edge.robot.kinematics import wrap_angle
from robo_edge.scenario.spec import Scenario

Trajectory = list[tuple[float, float, float, float]]  # (t, x, y, yaw)

# Localisation is flagged as diverged beyond either bound (flagged, not failed: a scenario
# fails on it only with `expect.max_localization_error_m`).
# 0.5 m is twice the default scenario goal tolerance and more than the robot's diameter
# (2 x 0.2 m): a localised pose that far off puts the robot in the wrong place in its own map,
# so its goal decisions and map-frame obstacle margins no longer hold. Not a precision bound.
DIVERGENCE_XY_M = 0.5
# The localiser exists to do better than odometry alone; worse than dead reckoning's largest
# error by more than the robot's radius means scan matching has pulled the pose away (a wrong
# match), not that it has merely failed to correct drift. The margin absorbs scan-matching
# jitter on short runs whose odometry has barely drifted.
DIVERGENCE_MARGIN_M = 0.2

KIND_REACHED = 'reached'  # the planner said reached and the truth agrees
KIND_BELIEVED = 'believed_reached'  # the planner said reached, the truth disagrees
KIND_UNVERIFIED = 'unverified'  # the planner said reached, no true pose to check it against
UNCERTAIN = 'uncertain'


def nearest_sample(trajectory: Trajectory, t: float) -> tuple[float, ...] | None:
    """Return the trajectory row whose stamp is nearest `t` (rows sorted by time)."""
    if not trajectory:
        return None
    i = bisect.bisect_left([row[0] for row in trajectory], t)
    candidates = trajectory[max(i - 1, 0):i + 1]
    return tuple(min(candidates, key=lambda row: abs(row[0] - t)))


def goal_truth(scenario: Scenario, planner_goals: list[dict], trajectory: Trajectory
               ) -> list[dict]:
    """Score each planner goal against the true pose at the time the planner declared it."""
    return [_goal_entry(scenario, goal, trajectory) for goal in planner_goals]


def _goal_entry(scenario: Scenario, goal: dict, trajectory: Trajectory) -> dict:
    index = int(goal['index'])
    target = goal.get('goal') or _scenario_goal(scenario, index)
    outcome = str(goal.get('outcome', ''))
    entry: dict = {'index': index, 'goal': target, 'outcome': outcome, 't': goal.get('t'),
                   'true_pose': None, 'true_distance_m': None, 'true_yaw_error_rad': None,
                   'true_reached': None}
    if goal.get('covariance') is not None:
        entry['covariance'] = list(goal['covariance'])
    row = nearest_sample(trajectory, float(goal['t'])) if goal.get('t') is not None else None
    if row is not None and target is not None:
        _, x, y, yaw = row
        distance = math.hypot(target[0] - x, target[1] - y)
        yaw_error = abs(wrap_angle(target[2] - yaw))
        entry.update(true_pose=[x, y, yaw], true_distance_m=distance,
                     true_yaw_error_rad=yaw_error,
                     true_reached=distance <= scenario.goal_tolerance_xy
                     and yaw_error <= scenario.goal_tolerance_yaw)
    entry['kind'] = _kind(outcome, entry['true_reached'])
    return entry


def _scenario_goal(scenario: Scenario, index: int) -> list[float] | None:
    if 0 <= index < len(scenario.goals):
        goal = scenario.goals[index]
        return [goal.x, goal.y, goal.yaw]
    return None


def _kind(outcome: str, true_reached: bool | None) -> str:
    """Return the planner's outcome, or for a `reached` goal whether the truth agrees."""
    if outcome != KIND_REACHED:
        return outcome
    if true_reached is None:
        return KIND_UNVERIFIED
    return KIND_REACHED if true_reached else KIND_BELIEVED


def count_kind(truth: list[dict], kind: str) -> int:
    """Return how many scored goals ended as `kind`."""
    return sum(1 for entry in truth if entry['kind'] == kind)


def belief_failures(scenario: Scenario, truth: list[dict]) -> list[str]:
    """Return one failure line per goal the planner declared reached where it truly was not."""
    return [
        f'believed_reached: goal {e["index"]} declared reached at {e["t"]:.2f} s, truly '
        f'{e["true_distance_m"]:.3f} m and {e["true_yaw_error_rad"]:.3f} rad from it, '
        f'tolerance {scenario.goal_tolerance_xy} m and {scenario.goal_tolerance_yaw} rad'
        for e in truth if e['kind'] == KIND_BELIEVED
    ]


def localization_divergence(localization: dict | None) -> tuple[bool | None, str]:
    """Return whether the localised pose diverged (None: no poses compared) and why."""
    if not localization or not localization.get('samples'):
        return None, ''
    own = localization['localized']['xy_max_m']
    dead = localization['dead_reckoning']['xy_max_m']
    if own > DIVERGENCE_XY_M:
        return True, f'localised xy error {own:.3f} m exceeds {DIVERGENCE_XY_M} m'
    if dead is not None and own > dead + DIVERGENCE_MARGIN_M:
        return True, (f"localised xy error {own:.3f} m exceeds dead reckoning's "
                      f'{dead:.3f} m by more than {DIVERGENCE_MARGIN_M} m')
    return False, ''


def localization_failures(limit: float | None, localization: dict | None) -> list[str]:
    """Check `expect.max_localization_error_m` against the localised pose's largest error."""
    if limit is None:
        return []
    if not localization or not localization.get('samples'):
        return ['max_localization_error_m: the run logged no localised pose to compare']
    worst = localization['localized']['xy_max_m']
    if worst > limit:
        return [f'max_localization_error_m: expected at most {limit}, got {worst:.3f}']
    return []


def belief_line(result: dict) -> str:
    """Return the verdict line's tail: goal outcomes and localisation error beside the truth."""
    parts = []
    truth = result.get('goal_truth') or []
    if truth:
        said = sum(1 for e in truth if e['outcome'] == KIND_REACHED)
        parts.append(f'goals {result.get("goals_reached", 0)}/{result.get("goals_total", 0)} '
                     f'truly reached; planner: {said} reached, '
                     f'{result.get("goals_uncertain", 0)} uncertain, '
                     f'{result.get("believed_reached", 0)} believed reached')
    localization = result.get('localization') or {}
    if localization.get('samples'):
        parts.append(f'localised xy error max {localization["localized"]["xy_max_m"]:.2f} m '
                     f'(dead reckoning {localization["dead_reckoning"]["xy_max_m"]:.2f} m)')
    if result.get('localization_divergence'):
        parts.append(f'LOCALISATION DIVERGED: {result["localization_divergence_reason"]}')
    return ''.join(f' | {p}' for p in parts)


def belief_title(result: dict) -> str:
    """Return the report picture's second title line: belief against truth, in short."""
    parts = []
    if result.get('goal_truth'):
        parts.append(f'planner: uncertain {result.get("goals_uncertain", 0)}, '
                     f'believed reached {result.get("believed_reached", 0)}')
    localization = result.get('localization') or {}
    if result.get('localization_divergence'):
        parts.append(f'LOCALISATION DIVERGED ({result["localization_divergence_reason"]})')
    elif localization.get('samples'):
        parts.append(f'localised xy error max {localization["localized"]["xy_max_m"]:.2f} m '
                     f'(dead reckoning {localization["dead_reckoning"]["xy_max_m"]:.2f} m)')
    return ' | '.join(parts)
