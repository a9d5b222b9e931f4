"""The scenario runner's monitor hook: a caller's subscriptions on the runner's own node."""

import os
import threading
from types import SimpleNamespace

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from robo_edge.ros import qos
from robo_edge.scenario.chaos_agent import ChaosAgent
from robo_edge.scenario.runner import RunOptions, _runner_node

DOMAIN = int(os.environ.get('ROS_DOMAIN_ID', '0'))


def test_the_monitor_sees_the_runners_own_diagnostics() -> None:
    nodes: list[str] = []
    received = threading.Event()

    def monitor(node: Node) -> None:
        nodes.append(node.get_name())
        node.create_subscription(DiagnosticArray, '/diagnostics', lambda _m: received.set(),
                                 qos.DIAGNOSTICS)

    supervisor = SimpleNamespace(resource_stats=lambda: {})
    chaos = ChaosAgent((), lambda *_: None, lambda _n: None, DOMAIN)
    with _runner_node(DOMAIN, supervisor, chaos, monitor):
        assert received.wait(10.0), 'no /diagnostics from the runner within 10 s'
    assert len(nodes) == 1 and nodes[0].startswith('robo_edge_runner_')
    assert RunOptions(report_dir=None).monitor is None  # the default adds nothing
