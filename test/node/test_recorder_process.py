"""The recorder executable leaves a complete MCAP file when stopped with SIGINT."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import rclpy
from mcap.reader import make_reader
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import String

from robo_edge.ros.qos import LATCHED

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 20.0


@pytest.fixture
def context() -> Iterator[Context]:
    ctx = Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


def wait_for(executor: SingleThreadedExecutor, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, 'condition not met before the deadline'
        executor.spin_once(timeout_sec=0.05)


def test_sigint_closes_the_file(context: Context, tmp_path: Path) -> None:
    node = Node('latcher', context=context)
    publisher = node.create_publisher(String, '/map_name', LATCHED)
    publisher.publish(String(data='warehouse_a'))
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    path = tmp_path / 'out' / 'run.mcap'
    env = {
        **os.environ,
        'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]),
    }
    command = [
        sys.executable, '-m', 'robo_edge.nodes.recorder', '--ros-args',
        '-p', f'output_path:={path}', '-p', 'topics:=[/map_name]', '-p', 'discovery_period_s:=0.1',
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(executor, lambda: publisher.get_subscription_count() > 0)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5.0)
    executor.shutdown(timeout_sec=1.0)
    node.destroy_node()

    assert process.returncode == 0, output.decode()
    assert b'closed' in output
    with path.open('rb') as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None
    assert [channel.topic for channel in summary.channels.values()] == ['/map_name']
