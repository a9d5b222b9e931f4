"""The planner's parameters (robo_edge/nodes/planner.py) and its tuning from them.

The goal tolerances, the inflation (robot_radius, inflation_margin, narrow_margin,
unknown_is_free), stray_distance, landmarks and input_wait_s apply live: the next map is
inflated, judged and planned on with the new values. The rest is read-only.
"""

from dataclasses import dataclass, replace
from typing import Any

from robo_edge.navigation.goals import GoalParams
from robo_edge.planning.astar import PlannerParams
from robo_edge.planning.inflation import InflationParams
from robo_edge.planning.narrow import NarrowParams
from robo_edge.ros import scan_source as ss
from robo_edge.ros.nav_messages import NAVIGATION_MAP_TOPIC
from robo_edge.ros.params import Param

GOAL_FIELDS = ('xy_tolerance', 'yaw_tolerance', 'progress_distance_m', 'progress_timeout_s',
               'k_sigma', 'uncertain_wait_s')  # parameters named like GoalParams' fields

PARAMS = [
    Param('goals', [0.0], 'Flat [x, y, yaw, ...] goals in map; [0.0] or empty: none '
          '(/goal_pose replaces them at run time)', read_only=True),
    Param('map_topic', NAVIGATION_MAP_TOPIC, "The map planned on: the mapper's /map with the "
          "fallback's obstacles over it (/map: a map server's)", read_only=True),
    Param('initial_pose', [0.0, 0.0, 0.0], 'Pose of odom in map [x, y, yaw] (the start pose)',
          read_only=True),
    Param('robot_radius', 0.2, 'Robot radius (m)', 0.0, 5.0),
    Param('inflation_margin', 0.15, 'Blocked band beyond the radius (m)', 0.0, 5.0),
    Param('narrow_margin', 0.05, 'Band kept where the blocked band closes the only way, e.g. '
          'a doorway (m; planning/narrow.py); >= inflation_margin: never', 0.0, 5.0),
    Param('unknown_is_free', True, 'Plan through unknown cells (replan as the map fills) '
          'while the LiDAR backs /safety/scan'),
    Param('obstacle_source', ss.TOPIC, "Where sensor_guard says each scan's origin; while it "
          'is not the LiDAR, unknown cells are obstacles and goals beyond them wait. Empty: '
          'every map is trusted (a graph without sensor_guard)', read_only=True),
    Param('xy_tolerance', 0.17, 'A goal is reached this close (m)', 0.001, 10.0),
    Param('yaw_tolerance', 0.3, 'and facing its yaw this closely (rad)', 0.001, 3.2),
    Param('stray_distance', 0.5, 'Replan when this far off the path (m)', 0.01, 100.0),
    Param('progress_distance_m', 0.3, 'Progress that must be made towards a goal', 0.001, 100.0),
    Param('progress_timeout_s', 30.0, 'within this much simulated time', 0.1, 1e6),
    Param('k_sigma', 2.0, 'Reached only with position sigma <= xy_tolerance / k_sigma',
          0.1, 100.0),
    Param('uncertain_wait_s', 5.0, 'Simulated time a goal within tolerance waits for the '
          'sigma to shrink before it ends uncertain', 0.0, 3600.0),
    Param('report_path', '', 'JSON file of the goal outcomes; empty: none', read_only=True),
    Param('landmarks', 0, 'A* ALT landmarks (each costs a search per new map)', 0, 8),
    Param('input_wait_s', 0.3, 'Wall time a map waits for its odometry', 0.0, 10.0),
    Param('odom_rate_hz', 50.0, 'Odometry rate: a map at s goes with the sample due at s',
          0.1, 1000.0, read_only=True),
    Param('localization', True, "Use the mapper's correction at each map's stamp; false: "
          'dead reckoning from initial_pose', read_only=True),
    Param('diagnostics_period_s', 1.0, 'Period of the diagnostics (steady clock)', 0.05, 60.0,
          read_only=True),
]
LIVE = frozenset({*GOAL_FIELDS, 'robot_radius', 'inflation_margin', 'narrow_margin',
                  'unknown_is_free', 'stray_distance', 'landmarks', 'input_wait_s'})


@dataclass(frozen=True)
class Tuning:
    """What the planner's live parameters make: each core's configuration, validated."""

    goals: GoalParams
    inflation: InflationParams
    narrow: NarrowParams
    planner: PlannerParams
    stray_m: float
    wait_s: float

    @property
    def known_only(self) -> InflationParams:
        """Return the inflation with unknown cells as obstacles (no obstacle source)."""
        return replace(self.inflation, unknown_is_free=False)


def tuning(values: dict[str, Any]) -> Tuning:
    """Return the planner's tuning; ValueError names the field that does not fit."""
    return Tuning(
        GoalParams(**{name: float(values[name]) for name in GOAL_FIELDS}),
        InflationParams(float(values['robot_radius']), float(values['inflation_margin']),
                        unknown_is_free=bool(values['unknown_is_free'])),
        NarrowParams(float(values['narrow_margin'])),
        PlannerParams(landmarks=int(values['landmarks'])),
        float(values['stray_distance']), float(values['input_wait_s']))
