"""Start-up readiness: each node says once that its inputs have matched their writers.

A DDS reader drops samples from a writer it has not matched yet, and a writer cannot see the
reader's side of the match. So a node itself reports, on a latched topic, when each of its
required subscriptions has matched at least one writer; the twin holds t = 0 until every node
it waits for has reported (bounded by its start-up timeout). This closes the start-up race in
which the first scan or map of a lockstep run was lost to a peer still discovering.
"""

from collections.abc import Sequence

from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from std_msgs.msg import String

READY_TOPIC = '/robo_edge/ready'
CHECK_PERIOD_S = 0.02
# Latched per writer; the reader keeps one sample per node that may arrive before it is read.
READY_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=64,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


def unmatched_topics(matched_writers: dict[str, int]) -> list[str]:
    """Return the topics (sorted) whose subscription has not matched any writer yet."""
    return sorted(topic for topic, count in matched_writers.items() if count < 1)


class ReadinessReporter:
    """Publishes the node's name on READY_TOPIC once every required input has a writer.

    Checked on a steady-clock timer: a sim-time timer would not fire before `/clock`, which
    the twin only starts once everyone is ready.
    """

    def __init__(self, node: Node, inputs: Sequence[Subscription]) -> None:
        self._node = node
        self._inputs = inputs  # read at each check: a subclass may still add to the list
        self._publisher = node.create_publisher(String, READY_TOPIC, READY_QOS)
        self._timer = node.create_timer(CHECK_PERIOD_S, self._check,
                                        clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.ready = False

    def _check(self) -> None:
        waiting = unmatched_topics({s.topic_name: s.get_publisher_count() for s in self._inputs})
        if waiting:
            return
        self._publisher.publish(String(data=self._node.get_name()))
        self._timer.cancel()
        self.ready = True
        self._node.get_logger().info('inputs matched: ready')
