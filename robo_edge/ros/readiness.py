"""Start-up readiness: each node says once that its inputs have matched their writers.

A DDS reader drops samples from a writer it has not matched yet, and a writer cannot see the
reader's side of the match. So a node itself reports, on a latched topic, when each of its
required subscriptions has matched at least one writer; the twin holds t = 0 until every node
it waits for has reported (bounded by its start-up timeout). This closes the start-up race in
which the first scan or map of a lockstep run was lost to a peer still discovering.

The match has two sides: a writer also sends nothing to a reader it has not matched yet, and
a best-effort or volatile sample is not sent again. So a node whose first outputs a lockstep
run waits for (the guard's `/safety/scan`, the ingested LiDAR and IMU, the controller's
commands) can also be told how many readers each must have matched (`required_readers`,
'topic:count', set by the bringup that knows the graph) before it reports ready.
"""

from collections.abc import Callable, Sequence

from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.subscription import Subscription
from std_msgs.msg import String

from robo_edge.exceptions import ConfigError

READY_TOPIC = '/robo_edge/ready'
CHECK_PERIOD_S = 0.02
# Latched per writer; the reader keeps one sample per node that may arrive before it is read.
READY_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=64,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


REQUIRED_READERS_DOC = ("'topic:count' per output that must have matched this many readers "
                        'before the node reports ready (empty: none)')


def unmatched_topics(matched_writers: dict[str, int]) -> list[str]:
    """Return the topics (sorted) whose subscription has not matched any writer yet."""
    return sorted(topic for topic, count in matched_writers.items() if count < 1)


def parse_topic_counts(items: Sequence[str], source: str, key: str) -> dict[str, int]:
    """Parse ['topic:count', ...] (empty strings ignored) into {topic: count}."""
    counts: dict[str, int] = {}
    for item in filter(None, items):
        topic, _, count = item.rpartition(':')
        if not topic or not count.isdigit():
            raise ConfigError(source, key, 'topic:count', item)
        counts[topic] = int(count)
    return counts


def required_outputs(items: Sequence[str], publishers: Sequence[Publisher],
                     source: str) -> list[tuple[Publisher, int]]:
    """Return (publisher, readers) for each `required_readers` item; unknown topics raise."""
    by_topic = {p.topic_name: p for p in publishers}
    counts = parse_topic_counts(items, source, 'required_readers')
    unknown = sorted(set(counts) - set(by_topic))
    if unknown:
        raise ConfigError(source, 'required_readers', f'topics among {sorted(by_topic)}',
                          unknown)
    return [(by_topic[topic], count) for topic, count in counts.items()]


class ReadinessReporter:
    """Publishes the node's name on READY_TOPIC once every required input has a writer.

    Checked on a steady-clock timer: a sim-time timer would not fire before `/clock`, which
    the twin only starts once everyone is ready.
    """

    def __init__(self, node: Node, inputs: Sequence[Subscription],
                 outputs: Sequence[tuple[Publisher, int]] = (),
                 pending: Callable[[], bool] = lambda: False) -> None:
        self._node = node
        self._inputs = inputs  # read at each check: a subclass may still add to the list
        self._outputs = outputs
        self._pending = pending  # True while the node has not yet created all its inputs
        self._publisher = node.create_publisher(String, READY_TOPIC, READY_QOS)
        self._timer = node.create_timer(CHECK_PERIOD_S, self._check,
                                        clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.ready = False

    def _check(self) -> None:
        if self._pending():
            return
        waiting = unmatched_topics({s.topic_name: s.get_publisher_count() for s in self._inputs})
        if waiting or any(p.get_subscription_count() < n for p, n in self._outputs):
            return
        self._publisher.publish(String(data=self._node.get_name()))
        self._timer.cancel()
        self.ready = True
        self._node.get_logger().info('inputs matched: ready')
