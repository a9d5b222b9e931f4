"""Run a node until SIGINT/SIGTERM and shut rclpy down cleanly.

A clean shutdown matters: a process that exits without it leaves Fast DDS shared-memory
segments in /dev/shm.
"""

import signal
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node


def spin_node(make_node: Callable[[], Node], args: list[str] | None = None) -> int:
    """Create the node, spin it until shutdown, and return the process exit code."""
    rclpy.init(args=args, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    stop = install_stop_handlers()
    node = None
    executor = SingleThreadedExecutor()
    exit_code = 0
    try:
        node = make_node()
        executor.add_node(node)
        while rclpy.ok() and not stop['requested'] and not getattr(node, 'finished', False):
            executor.spin_once(timeout_sec=0.1)
        exit_code = int(getattr(node, 'exit_code', 0))
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            executor.remove_node(node)
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return exit_code


def spin_lifecycle_node(make_node: Callable[[], Node], args: list[str] | None = None) -> int:
    """Configure and activate a lifecycle node, spin it until stopped, then shut it down.

    A node whose configure fails stays unconfigured and keeps spinning (its diagnostics say
    why); shutdown releases its resources whatever the state.
    """
    rclpy.init(args=args, signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    stop = install_stop_handlers()
    node = make_node()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        if node.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            node.trigger_activate()
        while rclpy.ok() and not stop['requested']:
            executor.spin_once(timeout_sec=0.1)
    finally:
        if rclpy.ok():
            node.trigger_shutdown()
        executor.remove_node(node)
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def install_stop_handlers() -> dict[str, bool]:
    """Turn SIGINT and SIGTERM into a stop request that loops check."""
    stop = {'requested': False}

    def request_stop(_signum: int, _frame: object) -> None:
        stop['requested'] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop
