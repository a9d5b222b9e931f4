"""The controller's tick (pure): pure pursuit plus the progress/recovery state machine.

One goal at a time: the plan's last point and yaw. The base pose in map is the correction (the
pose of odom in map; None: `initial_pose`) composed with the odometry pose. With localisation
the tick also carries the variances of that pose, and the cruise speed is capped by the rule of
`control/uncertainty.py`; without (dead reckoning, `variances` None) there is no such cap.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from robo_edge.control.pure_pursuit import FollowStatus, RegulatedPurePursuit
from robo_edge.control.scan_geometry import (
    ScanLayout,
    nearest_distance,
    rear_clearance,
    scan_points,
)
from robo_edge.control.uncertainty import (
    UncertaintyLimits,
    Variances,
    position_sigma,
    speed_cap,
)
from robo_edge.mapping.mapper import compose_pose
from robo_edge.navigation import progress
from robo_edge.navigation.progress import NavInputs, NavState, RecoveryConfig
from robo_edge.robot.kinematics import (
    Pose2D,
    Velocity,
    accelerate,
    wheel_feasible_step,
    wrap_angle,
)


@dataclass(frozen=True, slots=True)
class Plan:
    """A path in map and its goal yaw (None: no final heading)."""

    points: tuple[tuple[float, float], ...]
    goal_yaw: float | None


@dataclass(frozen=True, slots=True)
class Obstacles:
    """What one scan says: the nearest point ahead and the free travel behind."""

    nearest: float | None
    rear_clearance: float


def obstacles_of(ranges: Sequence[float], layout: ScanLayout, laser: Pose2D,
                 half_angle: float, robot_radius: float) -> Obstacles:
    """Return the nearest point within `half_angle` ahead and the free travel behind."""
    x, y = scan_points(ranges, layout, laser)
    return Obstacles(nearest_distance(x, y, half_angle),
                     rear_clearance(x, y, robot_radius, layout.range_max))


@dataclass(frozen=True, slots=True)
class TickInputs:
    """The snapshot one tick computes on: odom (pose in odom, twist), the plan and its stamp.

    `correction` is the pose of odom in map at the plan's stamp (None: initial_pose);
    `variances` those of the base pose at that stamp (None: localisation off, no cap).
    """

    odom: tuple[Pose2D, Velocity] | None
    plan: Plan | None
    plan_stamp_ns: int | None
    obstacles: Obstacles | None
    correction: Pose2D | None = None
    variances: Variances | None = None
    odom_age_s: float = 0.0  # the tick's time minus the odometry's stamp


@dataclass(frozen=True, slots=True)
class NavReport:
    """What a tick did, for logs and diagnostics; the sigma (nan: not known) and the cap."""

    status: str
    phase: str
    distance_to_goal: float
    replan_requested: bool = False
    failure: str | None = None
    position_sigma: float = math.nan
    speed_cap: float = math.inf

    def values(self) -> dict[str, str]:
        """Return the report as diagnostic key/values (sigma nan: not known; cap inf: none)."""
        return {
            'status': self.status, 'phase': self.phase,
            'distance_to_goal': f'{self.distance_to_goal:.3f}',
            'position_sigma_m': f'{self.position_sigma:.3f}',
            'speed_cap': f'{self.speed_cap:.3f}',
        }


IDLE = NavReport(FollowStatus.NO_PATH.value, 'idle', math.inf)


class Navigator:
    """Pure pursuit plus the progress/recovery state machine for one goal at a time (no ROS)."""

    def __init__(self, pursuit: RegulatedPurePursuit, recovery: RecoveryConfig, dt: float,
                 initial_pose: Pose2D, uncertainty: UncertaintyLimits | None = None) -> None:
        self.pursuit, self.recovery, self.dt = pursuit, recovery, dt
        self.initial_pose = initial_pose
        self.uncertainty = uncertainty or UncertaintyLimits()
        self.tuning = pursuit.config  # the pursuit tuning before any cap
        self.state: NavState | None = None
        self.goal: tuple[float, float, float | None] | None = None
        self.replan_since_ns = 0

    def reset(self) -> None:
        """Forget the goal (no plan, or the clock started over)."""
        self.state, self.goal = None, None
        self.pursuit.reset()

    def cap(self, variances: Variances | None) -> tuple[float, float]:
        """Return (position sigma, speed cap) for these variances; None: (nan, no cap)."""
        if variances is None:
            return math.nan, math.inf
        sigma = position_sigma(variances)
        return sigma, speed_cap(sigma, self.uncertainty, self.tuning.desired_linear)

    def step(self, now_ns: int, inputs: TickInputs) -> tuple[Velocity, NavReport]:
        """Return the command for this tick and what was done."""
        sigma, cap = self.cap(inputs.variances)
        command, report = self._step(now_ns, inputs, cap)
        return command, replace(report, position_sigma=sigma, speed_cap=cap)

    def _step(self, now_ns: int, inputs: TickInputs, cap: float) -> tuple[Velocity, NavReport]:
        plan = inputs.plan
        if inputs.odom is None or plan is None or not plan.points:
            self.reset()
            return Velocity(), IDLE
        odom, velocity = inputs.odom
        base = compose_pose(inputs.correction or self.initial_pose, odom)
        pose = Pose2D(base.x, base.y, wrap_angle(base.yaw))
        self._track_goal(plan, pose, now_ns)
        obstacles = inputs.obstacles
        replanned = (inputs.plan_stamp_ns or 0) > self.replan_since_ns
        nav_in = NavInputs(now_ns, pose, obstacles.rear_clearance if obstacles else None,
                           True if replanned else None)
        self.state, directive = progress.step(self.state, nav_in, self.recovery)
        if directive.request_replan:
            self.replan_since_ns = now_ns
        if directive.command is not None:
            target = _capped(directive.command, cap)
            command = wheel_feasible_step(
                velocity, accelerate(velocity, target, self.pursuit.limits, self.dt),
                self.pursuit.limits)
            return command, NavReport(directive.phase.value, directive.phase.value, math.nan,
                                      directive.request_replan, directive.failure)
        # The cap lowers the cruise speed, so the pursuit's regulation and acceleration
        # limits still shape the slow-down.
        self.pursuit.config = replace(
            self.tuning, desired_linear=min(self.tuning.desired_linear, cap))
        # The command acts from this tick for a period, on a pose already this old.
        out = self.pursuit.compute(plan.points, pose, velocity, self.dt,
                                   obstacles.nearest if obstacles else None, plan.goal_yaw,
                                   latency_s=self.dt + max(inputs.odom_age_s, 0.0))
        if out.status is FollowStatus.GOAL_REACHED:
            # Standing at the goal is not a lack of progress.
            self.state = replace(self.state, anchor=pose, anchor_ns=now_ns)
        return out.velocity, NavReport(out.status.value, self.state.phase.value,
                                       out.distance_to_goal)

    def _track_goal(self, plan: Plan, pose: Pose2D, now_ns: int) -> None:
        """Start the progress watch over when the goal (last point and yaw) changes."""
        goal = (*plan.points[-1], plan.goal_yaw)
        if self.goal is None or not _same_goal(self.goal, goal):
            self.goal = goal
            self.state = progress.start_goal(pose, now_ns)
            self.replan_since_ns = now_ns


def _capped(command: Velocity, cap: float) -> Velocity:
    """Return the command with its forward or backward speed no faster than the cap."""
    return Velocity(math.copysign(min(abs(command.linear), cap), command.linear),
                    command.angular)


def _same_goal(a: tuple[float, float, float | None], b: tuple[float, float, float | None],
               tolerance_m: float = 0.05, tolerance_rad: float = 0.05) -> bool:
    if math.hypot(a[0] - b[0], a[1] - b[1]) > tolerance_m:
        return False
    if a[2] is None or b[2] is None:
        return a[2] is b[2]
    return abs(wrap_angle(a[2] - b[2])) <= tolerance_rad
