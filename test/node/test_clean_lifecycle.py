"""CleanLifecycleNode: destroying it withdraws its transition_event writer from the domain."""

import time
from collections.abc import Callable

import rclpy
from rclpy.node import Node

from robo_edge.ros.lifecycle import CleanLifecycleNode

TIMEOUT_S = 10.0
TOPIC = '/clean_lc/transition_event'


def wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)  # polling the graph cache, which has no event to wait on
    return True


def test_destroy_withdraws_the_transition_event_writer() -> None:
    node_context, observer_context = rclpy.Context(), rclpy.Context()
    rclpy.init(context=node_context)
    rclpy.init(context=observer_context)
    observer = Node('observer', context=observer_context)
    try:
        node = CleanLifecycleNode('clean_lc', context=node_context)
        assert wait_until(lambda: observer.count_publishers(TOPIC) == 1)
        node.destroy_node()
        assert wait_until(lambda: observer.count_publishers(TOPIC) == 0)
    finally:
        observer.destroy_node()
        rclpy.try_shutdown(context=node_context)
        rclpy.try_shutdown(context=observer_context)
