"""A node in its own rclpy Context, on a chosen domain, spun by its own thread.

For ROS helpers living inside a non-ROS process (the supervisor's diagnostics, the scenario
runner's chaos agent): several can live in one process, each on its own domain.
"""

import threading
from collections.abc import Callable

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

SPIN_PERIOD_S = 0.05
JOIN_TIMEOUT_S = 2.0


class BackgroundNode:
    """Creates a node, lets `setup` add its entities, and spins it until closed."""

    def __init__(self, node_name: str, domain_id: int | None, thread_name: str) -> None:
        self._node_name = node_name
        self._domain_id = domain_id
        self._thread_name = thread_name
        self._context: Context | None = None
        self._executor: SingleThreadedExecutor | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self.node: Node | None = None

    def start(self, setup: Callable[[Node], None]) -> None:
        """Create the context and node, call `setup(node)`, and start spinning."""
        self._context = Context()
        rclpy.init(context=self._context, domain_id=self._domain_id,
                   signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
        self.node = Node(self._node_name, context=self._context)
        setup(self.node)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name=self._thread_name, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while not self._closing.is_set() and self._context is not None and self._context.ok():
            self._executor.spin_once(timeout_sec=SPIN_PERIOD_S)

    def close(self) -> None:
        """Stop spinning and shut the context down (bounded waits)."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=JOIN_TIMEOUT_S)
        if self._executor is not None and self.node is not None:
            self._executor.remove_node(self.node)
            self._executor.shutdown(timeout_sec=JOIN_TIMEOUT_S)
        if self.node is not None:
            self.node.destroy_node()
        if self._context is not None:
            self._context.try_shutdown()
            self._context.destroy()
        self._thread = self._executor = self.node = self._context = None

    @property
    def running(self) -> bool:
        """Return True between start() and close()."""
        return self._context is not None
