"""What the node tests share: spinning one executor until a condition holds.

Every wait spins the executor until the condition holds or a wall deadline passes, never a
sleep standing in for synchronisation. `Spinner` owns the executor and the nodes added to it
and destroys them on close; the `context` fixture (test/node/conftest.py) gives each test a
fresh rclpy Context.
"""

import time
from collections.abc import Callable, Iterable

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node


class Spinner:
    """One SingleThreadedExecutor over the nodes of a test."""

    def __init__(self, context: rclpy.Context, nodes: Iterable[Node], timeout_s: float,
                 step_s: float = 0.01) -> None:
        self.executor = SingleThreadedExecutor(context=context)
        self.nodes = list(nodes)
        for node in self.nodes:
            self.executor.add_node(node)
        self.timeout_s = timeout_s
        self.step_s = step_s

    def spin_until(self, condition: Callable[[], bool], timeout_s: float | None = None) -> bool:
        """Spin until `condition()` holds (True) or `timeout_s` of wall time pass (False)."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while not condition():
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=self.step_s)
        return True

    def spin_for(self, seconds: float) -> None:
        """Spin for a fixed wall window (to check that nothing happens in it)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=self.step_s)

    def close(self) -> None:
        """Shut the executor down and destroy every node it spun."""
        self.executor.shutdown()
        for node in self.nodes:
            node.destroy_node()
