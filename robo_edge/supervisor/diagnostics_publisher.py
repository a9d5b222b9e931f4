"""ROS adapter: publish the supervisor's per-node figures on /diagnostics at 1 Hz."""

import socket
import threading
from collections.abc import Callable, Mapping

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from robo_edge.ros.qos import DIAGNOSTICS
from robo_edge.supervisor.stats import NodeStats, status_level, status_name, status_values

StatsSource = Callable[[], Mapping[str, NodeStats]]
SPIN_PERIOD_S = 0.1
JOIN_TIMEOUT_S = 2.0


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
        self._domain_id = domain_id
        self._period_s = period_s
        self._node_name = node_name
        self._context: Context | None = None
        self._node: Node | None = None
        self._executor: SingleThreadedExecutor | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def start(self) -> None:
        """Create the context, node and timer, and start spinning."""
        self._context = Context()
        rclpy.init(context=self._context, domain_id=self._domain_id,
                   signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
        self._node = Node(self._node_name, context=self._context)
        publisher = self._node.create_publisher(DiagnosticArray, '/diagnostics', DIAGNOSTICS)
        self._node.create_timer(
            self._period_s, lambda: publisher.publish(to_message(self._source(), self._node)))
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._thread = threading.Thread(target=self._spin, name='diagnostics', daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop spinning and shut the context down (bounded waits)."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=JOIN_TIMEOUT_S)
        if self._executor is not None and self._node is not None:
            self._executor.remove_node(self._node)
            self._executor.shutdown(timeout_sec=JOIN_TIMEOUT_S)
        if self._node is not None:
            self._node.destroy_node()
        if self._context is not None:
            self._context.try_shutdown()
            self._context.destroy()
        self._thread = self._executor = self._node = self._context = None

    def __enter__(self) -> 'DiagnosticsPublisher':
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _spin(self) -> None:
        while not self._closing.is_set() and self._context is not None and self._context.ok():
            self._executor.spin_once(timeout_sec=SPIN_PERIOD_S)
