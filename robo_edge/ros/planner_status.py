"""What the planner says: its /plan, its DiagnosticStatus and its JSON report of goal outcomes."""

import json
import os
from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from nav_msgs.msg import Path as PathMsg

from robo_edge.navigation.goals import GoalRecord, GoalSequence, Outcome
from robo_edge.navigation.replanning import PathKeeper
from robo_edge.robot.kinematics import Pose2D
from robo_edge.ros.nav_messages import path_msg

STATUS_NAME = 'robo_edge/planner'
OK, WARN = 0, 1


def planner_status(node: object) -> DiagnosticStatus:
    """Return the status of a PlannerNode now."""
    goals = node.goals
    values = goals.status_values()
    index = goals.index
    message = 'all goals done' if index is None else f'goal {index} of {len(goals.records)}'
    attention = (goals.count(Outcome.FAILED) or goals.count(Outcome.UNCERTAIN)
                 or node.counts['late_inputs'])
    if node.holding:
        message += ': held, only the LiDAR-seen map is planned on while the LiDAR is out'
    ms = np.asarray(node.step_ms) if node.step_ms else np.zeros(1)
    values.update({
        'last_plan_status': node.keeper.last_status,
        'plan_ms': f'{node.keeper.plan_ms:.2f}',
        'step_ms_p99': f'{np.percentile(ms, 99):.2f}',
        'holding': str(node.holding).lower(),
        **{key: str(count) for key, count in node.counts.items()},
    })
    return DiagnosticStatus(
        level=bytes([WARN if attention or node.holding else OK]), name=STATUS_NAME,
        message=message, hardware_id='plan',
        values=[KeyValue(key=k, value=v) for k, v in values.items()])


def plan_msg(goals: GoalSequence, keeper: PathKeeper, pose: Pose2D, stamp_ns: int) -> PathMsg:
    """Return the plan: empty only when no goal is left.

    While the current goal has no path (held, or none found yet): one pose where the robot
    stands, facing its way.
    """
    record = goals.current
    if record is None:
        return path_msg([], 0.0, stamp_ns)
    if not keeper.path:
        return path_msg([(pose.x, pose.y)], pose.yaw, stamp_ns)
    return path_msg(keeper.rest((pose.x, pose.y)), record.goal.yaw, stamp_ns)


def write_report(path: Path, data: dict) -> None:
    """Write `data` as JSON to `path` atomically (a temporary file, then a rename).

    Raises OSError when it cannot be written.
    """
    tmp = path.with_name(f'.{path.name}.tmp')
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(data, indent=2) + '\n', encoding='utf-8')
    os.replace(tmp, path)


def log_outcome(logger: object, record: GoalRecord) -> None:
    """Log how a goal ended: reached as info, uncertain as a warning, failed as an error."""
    text = (f'goal {record.index} ({record.goal.x:.2f}, {record.goal.y:.2f}, '
            f'{record.goal.yaw:.2f}) {record.outcome.value} at {record.t_s:.2f} s')
    if record.outcome is Outcome.REACHED:
        logger.info(text)
    elif record.outcome is Outcome.UNCERTAIN:
        logger.warning(f'{text}: variances x, y, yaw {record.covariance}')
    else:
        logger.error(f'{text}: {record.reason}')
