"""Progress monitor and bounded recovery for one navigation goal (pure state machine).

While NAVIGATING the base must move at least `progress_distance_m` within `progress_window_s`;
otherwise it is stuck and a recovery attempt starts: BACKING_UP a short distance (skipped when
the rear is not known to be clear), ROTATING in place (alternating direction per attempt), then
REPLANNING (the caller plans and reports the outcome). Every action has a time bound. After
`max_attempts` attempts the next stuck check, or a failed replan on the last attempt, makes the
goal FAILED with a reason. Time is passed in as integer nanoseconds.
"""

import math
from dataclasses import dataclass, replace
from enum import Enum

from robo_edge.robot.kinematics import Pose2D, Velocity, wrap_angle

NS_PER_S = 1_000_000_000


class NavPhase(Enum):
    """Where the goal stands."""

    NAVIGATING = 'navigating'
    BACKING_UP = 'backing_up'
    ROTATING = 'rotating'
    REPLANNING = 'replanning'
    FAILED = 'failed'


@dataclass(frozen=True, slots=True)
class RecoveryConfig:
    """Progress check and recovery parameters; metres, seconds, m/s and rad/s."""

    progress_distance_m: float = 0.2
    progress_window_s: float = 8.0
    max_attempts: int = 3
    backup_distance_m: float = 0.15
    backup_speed: float = 0.1
    rear_margin_m: float = 0.1  # free space needed behind the base beyond the backup distance
    rotate_angle_rad: float = math.pi / 2
    rotate_speed: float = 0.6
    action_timeout_s: float = 5.0
    replan_timeout_s: float = 2.0


@dataclass(frozen=True, slots=True)
class NavState:
    """The state machine's memory; `anchor` is the progress or action start pose and time."""

    phase: NavPhase
    anchor: Pose2D
    anchor_ns: int
    attempts: int = 0
    turned: float = 0.0
    last_yaw: float = 0.0
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class NavInputs:
    """One tick: now, the pose, the free distance behind the rear edge, a replan outcome."""

    now_ns: int
    pose: Pose2D
    rear_clearance_m: float | None = None  # None: unknown, so the rear is not clear
    plan_ok: bool | None = None  # outcome of the requested replan once known


@dataclass(frozen=True, slots=True)
class NavDirective:
    """What to do this tick: a command overriding the controller, or a replan request."""

    phase: NavPhase
    command: Velocity | None = None  # None while navigating: use the controller's
    request_replan: bool = False
    failure: str | None = None


def start_goal(pose: Pose2D, now_ns: int) -> NavState:
    """Return the state for a new goal."""
    return NavState(NavPhase.NAVIGATING, pose, now_ns, last_yaw=pose.yaw)


def moved(a: Pose2D, b: Pose2D) -> float:
    """Return the straight-line distance between two poses."""
    return math.hypot(b.x - a.x, b.y - a.y)


def waited(state: NavState, now_ns: int, seconds: float) -> bool:
    """Return whether `seconds` have passed since the anchor time."""
    return now_ns - state.anchor_ns >= seconds * NS_PER_S


def step(
    state: NavState, inputs: NavInputs, config: RecoveryConfig,
) -> tuple[NavState, NavDirective]:
    """Advance the state machine by one tick."""
    handlers = {
        NavPhase.NAVIGATING: _navigating,
        NavPhase.BACKING_UP: _backing_up,
        NavPhase.ROTATING: _rotating,
        NavPhase.REPLANNING: _replanning,
    }
    handler = handlers.get(state.phase)
    if handler is None:
        return state, NavDirective(NavPhase.FAILED, Velocity(), failure=state.failure)
    return handler(state, inputs, config)


def _navigating(
    state: NavState, inputs: NavInputs, config: RecoveryConfig,
) -> tuple[NavState, NavDirective]:
    """Check progress: moving far enough restarts the window, a full window without is stuck."""
    if moved(state.anchor, inputs.pose) >= config.progress_distance_m:
        # Attempts are not given back on progress: recovery is bounded per goal.
        return replace(state, anchor=inputs.pose, anchor_ns=inputs.now_ns), NavDirective(
            state.phase)
    if not waited(state, inputs.now_ns, config.progress_window_s):
        return state, NavDirective(state.phase)
    if state.attempts >= config.max_attempts:
        return _fail(state, f'no progress of {config.progress_distance_m} m in '
                            f'{config.progress_window_s} s after {state.attempts} '
                            'recovery attempts')
    return _begin_attempt(state, inputs, config)


def _begin_attempt(
    state: NavState, inputs: NavInputs, config: RecoveryConfig,
) -> tuple[NavState, NavDirective]:
    """Start a recovery attempt: back up when the rear is clear, else rotate."""
    attempt = replace(state, attempts=state.attempts + 1, anchor=inputs.pose,
                      anchor_ns=inputs.now_ns, turned=0.0, last_yaw=inputs.pose.yaw)
    if _rear_clear(inputs, config):
        return _enter(attempt, NavPhase.BACKING_UP, Velocity(-config.backup_speed, 0.0))
    return _start_rotation(attempt, inputs, config)


def _rear_clear(inputs: NavInputs, config: RecoveryConfig) -> bool:
    """Return whether the space behind is known to be free for the backup."""
    needed = config.backup_distance_m + config.rear_margin_m
    return inputs.rear_clearance_m is not None and inputs.rear_clearance_m >= needed


def _backing_up(
    state: NavState, inputs: NavInputs, config: RecoveryConfig,
) -> tuple[NavState, NavDirective]:
    """Back up until far enough, out of rear clearance, or out of time; then rotate."""
    done = (moved(state.anchor, inputs.pose) >= config.backup_distance_m
            or inputs.rear_clearance_m is None or inputs.rear_clearance_m < config.rear_margin_m
            or waited(state, inputs.now_ns, config.action_timeout_s))
    if done:
        return _start_rotation(state, inputs, config)
    return state, NavDirective(state.phase, Velocity(-config.backup_speed, 0.0))


def _rotation_sign(state: NavState) -> float:
    """Return +1 (counter-clockwise) on odd attempts, -1 on even ones."""
    return 1.0 if state.attempts % 2 else -1.0


def _start_rotation(
    state: NavState, inputs: NavInputs, config: RecoveryConfig,
) -> tuple[NavState, NavDirective]:
    """Enter the in-place rotation from the current pose."""
    rotating = replace(state, anchor=inputs.pose, anchor_ns=inputs.now_ns, turned=0.0,
                       last_yaw=inputs.pose.yaw)
    return _enter(rotating, NavPhase.ROTATING,
                  Velocity(0.0, _rotation_sign(state) * config.rotate_speed))


def _rotating(
    state: NavState, inputs: NavInputs, config: RecoveryConfig,
) -> tuple[NavState, NavDirective]:
    """Turn in place through the set angle (or until out of time); then ask for a replan."""
    turned = state.turned + abs(wrap_angle(inputs.pose.yaw - state.last_yaw))
    state = replace(state, turned=turned, last_yaw=inputs.pose.yaw)
    if turned >= config.rotate_angle_rad or waited(state, inputs.now_ns,
                                                    config.action_timeout_s):
        replanning = replace(state, phase=NavPhase.REPLANNING, anchor=inputs.pose,
                             anchor_ns=inputs.now_ns)
        return replanning, NavDirective(NavPhase.REPLANNING, Velocity(), request_replan=True)
    return state, NavDirective(state.phase, Velocity(0.0, _rotation_sign(state)
                                                     * config.rotate_speed))


def _replanning(
    state: NavState, inputs: NavInputs, config: RecoveryConfig,
) -> tuple[NavState, NavDirective]:
    """Wait (bounded) for the replan: success resumes navigation, failure tries again."""
    if inputs.plan_ok:
        resumed = replace(state, phase=NavPhase.NAVIGATING, anchor=inputs.pose,
                          anchor_ns=inputs.now_ns)
        return resumed, NavDirective(NavPhase.NAVIGATING)
    timed_out = waited(state, inputs.now_ns, config.replan_timeout_s)
    if inputs.plan_ok is None and not timed_out:
        return state, NavDirective(state.phase, Velocity())
    why = 'timed out' if inputs.plan_ok is None else 'found no path'
    if state.attempts >= config.max_attempts:
        return _fail(state, f'replan {why} after {state.attempts} recovery attempts')
    return _begin_attempt(state, inputs, config)


def _enter(
    state: NavState, phase: NavPhase, command: Velocity,
) -> tuple[NavState, NavDirective]:
    """Switch to a recovery action phase and issue its first command."""
    return replace(state, phase=phase), NavDirective(phase, command)


def _fail(state: NavState, reason: str) -> tuple[NavState, NavDirective]:
    """End the goal with a reason; the base is told to stop."""
    failed = replace(state, phase=NavPhase.FAILED, failure=reason)
    return failed, NavDirective(NavPhase.FAILED, Velocity(), failure=reason)
