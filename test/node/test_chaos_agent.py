"""The runner's chaos agent kills a node when simulated time reaches the fault, and holds it."""

import os
import threading
import time

import rclpy
from rclpy.node import Node
from rosgraph_msgs.msg import Clock

from robo_edge.chaos.spec import FaultSpec
from robo_edge.ros import qos
from robo_edge.ros.stamps import to_msg
from robo_edge.scenario.chaos_agent import ChaosAgent

S = 1_000_000_000
DOMAIN = int(os.environ.get('ROS_DOMAIN_ID', '0'))
TIMEOUT_S = 10.0


def publish_until(publisher, t_s: float, event: threading.Event) -> None:
    """Re-send /clock = t (as the twin does while it waits) until the event, bounded."""
    deadline = time.monotonic() + TIMEOUT_S
    while not event.wait(0.02):
        assert time.monotonic() < deadline, f'no action at /clock = {t_s} s'
        publisher.publish(Clock(clock=to_msg(int(t_s * S))))


def test_kills_at_start_and_releases_after_the_duration() -> None:
    calls: list[tuple] = []
    killed, released = threading.Event(), threading.Event()

    def kill(name: str, hold: bool) -> int | None:
        calls.append(('kill', name, hold))
        killed.set()
        return None if name == 'mode_manager' else 4242  # mode_manager: no process running

    def release(name: str) -> None:
        calls.append(('release', name))
        released.set()

    faults = (FaultSpec('silence', 'lidar', 1.0, 1.0),
              FaultSpec('kill', 'controller', 2.0, 3.0),
              FaultSpec('kill', 'mode_manager', 2.0),
              FaultSpec('kill', 'perception', 50.0))  # never reached
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=DOMAIN)
    clock = Node('clock_probe', context=context)
    publisher = clock.create_publisher(Clock, '/clock', qos.CLOCK)
    with ChaosAgent(faults, kill, release, DOMAIN) as agent:
        publish_until(publisher, 2.0, killed)
        publish_until(publisher, 5.0, released)
        reports = agent.reports(faults)
    # held: the controller is released only after its duration; nothing to release for the
    # mode manager, whose process was not running
    assert calls == [('kill', 'controller', True), ('kill', 'mode_manager', False),
                     ('release', 'controller')]
    assert reports[1]['first_affected_s'] == 2.0 and reports[1]['pid'] == 4242
    assert 'not_injected' not in reports[1]
    assert reports[2]['affected'] == 0 and reports[2]['not_injected'].startswith(
        'no running mode_manager process at 2.00 s')
    assert reports[3]['affected'] == 0 and reports[3]['first_affected_s'] is None
    assert 'not_injected' not in reports[3]  # not reached: the run ended first
    assert 0 not in reports  # a sensor fault is the twin's
    clock.destroy_node()
    rclpy.shutdown(context=context)
