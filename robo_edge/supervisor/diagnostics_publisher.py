"""ROS adapter: publish the supervisor's per-node figures on /diagnostics at 1 Hz."""

import socket
from collections.abc import Callable, Mapping

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

from robo_edge.ros.background import BackgroundNode
from robo_edge.ros.qos import DIAGNOSTICS
from robo_edge.supervisor.stats import NodeStats, status_level, status_name, status_values

StatsSource = Callable[[], Mapping[str, NodeStats]]


def to_message(stats: Mapping[str, NodeStats], node: Node) -> DiagnosticArray:
    """Return one DiagnosticArray with a status `robo_edge/supervisor/<node>` per node."""
    msg = DiagnosticArray()
    msg.header.stamp = node.get_clock().now().to_msg()
    hardware_id = socket.gethostname()
    for name, item in stats.items():
        msg.status.append(DiagnosticStatus(
            level=bytes([status_level(item)]),
            name=status_name(name),
            message=item.state.value,
            hardware_id=hardware_id,
            values=[KeyValue(key=k, value=v) for k, v in status_values(item)],
        ))
    return msg


class DiagnosticsPublisher:
    """Publishes a supervisor's resource_stats() on /diagnostics.

    Publishers: /diagnostics (diagnostic_msgs/DiagnosticArray, reliable, depth 10), one status
    per node with pid, state, restarts, cpu_percent, rss_mb and last_exit_code.
    It owns an rclpy Context initialised with the supervisor's domain id, and spins it in its own
    thread, so supervisors of different domains can live in one process.
    """

    def __init__(self, source: StatsSource, domain_id: int | None = None,
                 period_s: float = 1.0, node_name: str = 'robo_edge_supervisor') -> None:
        self._source = source
        self._period_s = period_s
        self._background = BackgroundNode(node_name, domain_id, 'diagnostics')

    def attach(self, node: Node) -> None:
        """Publish from `node` (one the caller spins) instead of a node of its own."""
        publisher = node.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS)
        node.create_timer(self._period_s,
                          lambda: publisher.publish(to_message(self._source(), node)))

    def start(self) -> None:
        """Create the context, node and timer, and start spinning."""
        self._background.start(self.attach)

    def close(self) -> None:
        """Stop spinning and shut the context down (bounded waits)."""
        self._background.close()

    @property
    def running(self) -> bool:
        """Return True while its context is up."""
        return self._background.running

    def __enter__(self) -> 'DiagnosticsPublisher':
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
