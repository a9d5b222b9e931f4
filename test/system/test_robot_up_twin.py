"""`robo-edge up config/bringup/robot.yaml --twin WORLD`: the robot graph on the wall clock.

The real robot bringup, every node its own process under the supervisor, the twin free-running
at real time as the robot's hardware. A goal sent on /goal_pose, as an operator would, is
reached in the twin's ground truth; only the safety gate commands the base.
"""

import math
import os

from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from watchers import SpinningNode, poll_until

from robo_edge import paths
from robo_edge.ros import qos
from robo_edge.scenario.domains import lease_domain
from robo_edge.scenario.twin_up import twin_overlay
from robo_edge.supervisor.bringup import load_bringup
from robo_edge.supervisor.supervisor import Supervisor

START = (-2.5, -2.5, 0.0)  # empty_room's spawn hint
GOAL = (-0.7, -2.5)
REACHED_M = 0.3
STARTUP_S = 90.0  # eleven processes on two cores
DRIVE_S = 90.0


class Operator(SpinningNode):
    """Sends a goal on /goal_pose and watches the ground truth and who commands the base."""

    def __init__(self, domain_id: int) -> None:
        super().__init__('operator', domain_id)
        self.truth: tuple[float, float] | None = None
        self.goal_pub = self.node.create_publisher(PoseStamped, '/goal_pose', qos.COMMAND)
        self.node.create_subscription(Odometry, '/twin/ground_truth', self._on_truth,
                                      qos.SENSOR_BURST)
        self.start()

    def _on_truth(self, msg: Odometry) -> None:
        self.truth = (msg.pose.pose.position.x, msg.pose.pose.position.y)

    def send_goal(self) -> None:
        msg = PoseStamped()
        msg.header.frame_id = 'map'
        msg.pose.position.x, msg.pose.position.y = GOAL
        msg.pose.orientation.w = 1.0
        self.goal_pub.publish(msg)

    def distance_to_goal(self) -> float:
        return math.inf if self.truth is None else math.dist(self.truth, GOAL)

    def command_writers(self) -> list[str]:
        return sorted(i.node_name for i in self.node.get_publishers_info_by_topic('/cmd_vel'))


def test_robot_bringup_on_the_twin_reaches_a_goal_sent_on_goal_pose() -> None:
    robot = load_bringup(paths.share_file('config', 'bringup', 'robot.yaml'))
    bringup = twin_overlay('empty_room')(robot)
    assert bringup.node('twin').overrides['start'] == list(START)
    with lease_domain({int(os.environ.get('ROS_DOMAIN_ID', '0'))}) as lease:
        operator = Operator(lease.domain_id)
        supervisor = Supervisor(bringup, domain_id=lease.domain_id, quiet=True)
        try:
            supervisor.start()
            ready = poll_until(supervisor, lambda: operator.truth is not None
                               and operator.goal_pub.get_subscription_count() > 0, STARTUP_S)
            assert ready, 'the twin and the planner did not come up'
            started = operator.truth
            operator.send_goal()
            reached = poll_until(supervisor, lambda: operator.distance_to_goal() < REACHED_M,
                                 DRIVE_S)
            assert reached, (f'goal not reached in truth: from {started} to {operator.truth}, '
                             f'{operator.distance_to_goal():.2f} m short')
            assert operator.command_writers() == ['safety_gate']
            assert supervisor.restart_count('safety_gate') == 0
        finally:
            supervisor.stop()
            operator.close()
