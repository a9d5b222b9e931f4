"""Helpers of the system tests that watch a supervised graph from their own ROS context."""

import threading
import time
from collections.abc import Callable

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

from robo_edge.supervisor.supervisor import Supervisor


class SpinningNode:
    """A node in its own context on `domain_id`, spun in a thread until `close`."""

    def __init__(self, name: str, domain_id: int) -> None:
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)

    def start(self) -> None:
        """Spin in the background (after the subclass made its subscriptions)."""
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set():
            self.executor.spin_once(timeout_sec=0.05)

    def close(self) -> None:
        """Stop spinning and shut the context down."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def poll_until(supervisor: Supervisor, condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll the supervisor until `condition` holds; False when `timeout_s` ran out first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        supervisor.poll()
        if condition():
            return True
        time.sleep(0.02)  # the supervisor is polled, not spun: a short pause between polls
    return False
