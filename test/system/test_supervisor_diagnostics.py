"""The supervisor's per-node CPU and memory reach /diagnostics at 1 Hz."""

import os
import sys
import threading
import time
from pathlib import Path

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

from robo_edge.ros.qos import DIAGNOSTICS
from robo_edge.supervisor.bringup import parse_bringup
from robo_edge.supervisor.diagnostics_publisher import DiagnosticsPublisher
from robo_edge.supervisor.supervisor import Supervisor

FIXTURES = Path(__file__).resolve().parent / 'supervisor_fixtures'
DOMAIN = int(os.environ['ROS_DOMAIN_ID'])
NODES = ('diag_one', 'diag_two')


def _complete(msg: DiagnosticArray) -> bool:
    """Return whether `msg` has a running status with CPU and memory for every node."""
    found = {}
    for status in msg.status:
        values = {kv.key: kv.value for kv in status.values}
        found[status.name] = values
    for node in NODES:
        values = found.get(f'robo_edge/supervisor/{node}')
        if not values or values['state'] != 'running' or not values['pid']:
            return False
        if not values['cpu_percent'] or float(values['rss_mb']) <= 0.0:
            return False
    return True


def test_diagnostics_carry_cpu_and_rss_of_every_node() -> None:
    command = [sys.executable, str(FIXTURES / 'dummy_node.py')]
    bringup = parse_bringup({'bringup': {'name': 'diag', 'nodes': [
        {'name': n, 'command': command} for n in NODES]}}, 'test', config_dirs=[])
    sup = Supervisor(bringup, domain_id=DOMAIN, quiet=True)
    received: list[DiagnosticArray] = []
    complete = threading.Event()

    def on_diagnostics(msg: DiagnosticArray) -> None:
        if any(s.name.startswith('robo_edge/supervisor/diag_') for s in msg.status):
            received.append(msg)
            if _complete(msg):
                complete.set()

    context = Context()
    rclpy.init(context=context, domain_id=DOMAIN,
               signal_handler_options=rclpy.signals.SignalHandlerOptions.NO)
    node = rclpy.create_node('diagnostics_listener', context=context)
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diagnostics, DIAGNOSTICS)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    publisher = DiagnosticsPublisher(sup.resource_stats, domain_id=DOMAIN)
    try:
        sup.start()
        publisher.start()
        deadline = time.monotonic() + 20.0
        while not (complete.is_set() and len(received) >= 2) and time.monotonic() < deadline:
            sup.poll()
            executor.spin_once(timeout_sec=0.05)
        assert complete.is_set(), received[-1:] or 'no /diagnostics message'
        stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in received]
        assert len(stamps) >= 2
        assert all(0.5 < b - a < 2.0 for a, b in zip(stamps, stamps[1:], strict=False))  # 1 Hz
    finally:
        publisher.close()
        sup.stop()
        executor.remove_node(node)
        executor.shutdown(timeout_sec=2.0)
        node.destroy_node()
        context.try_shutdown()
    assert not publisher.running  # its own context was shut down and released
