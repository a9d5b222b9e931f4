"""`robo-edge up BRINGUP --live`: the live view is an overlay, the robot's node list stays."""

from pathlib import Path

import pytest

from robo_edge import cli
from robo_edge.exceptions import ConfigError
from robo_edge.scenario.twin_up import twin_overlay
from robo_edge.supervisor import live
from robo_edge.supervisor.bringup import load_bringup

REPO = Path(__file__).resolve().parents[2]
ROBOT = REPO / 'config' / 'bringup' / 'robot.yaml'


def test_live_adds_one_node_with_the_port_and_the_robots_topics() -> None:
    robot = load_bringup(ROBOT)
    viewed = live.with_live_view(robot, 9001)
    assert viewed.names == (*robot.names, 'live_view')
    assert viewed.nodes[:-1] == robot.nodes  # the declared nodes as they were
    spec = viewed.node('live_view')
    assert spec.executable == 'live_view'
    assert spec.overrides['port'] == 9001
    assert spec.overrides['lidar_topic'] == '/scan'
    assert spec.overrides['camera_topic'] == '/camera/image_raw'
    assert spec.overrides['camera_xyz'] == pytest.approx([0.12, 0.0, 0.42])


def test_live_over_the_twin_overlay_views_the_twin_run() -> None:
    overlay = live.chained([twin_overlay('empty_room'), live.live_overlay(live.DEFAULT_PORT)])
    bringup = overlay(load_bringup(ROBOT))
    assert bringup.name == 'robot+twin+live'
    assert {'twin', 'live_view', 'mapper'} <= set(bringup.names)
    assert bringup.node('live_view').overrides['port'] == 8765
    assert live.chained([]) is None


def test_a_bringup_with_its_own_live_view_is_refused() -> None:
    viewed = live.with_live_view(load_bringup(ROBOT))
    with pytest.raises(ConfigError, match='live_view'):
        live.with_live_view(viewed)


def test_the_url_an_operator_opens() -> None:
    assert live.live_url(8765) == 'ws://localhost:8765'


def test_the_command_line(capsys: pytest.CaptureFixture) -> None:
    args = cli.build_parser().parse_args(['up', str(ROBOT), '--live', '--live-port', '9002'])
    assert args.live and args.live_port == 9002
    assert not cli.build_parser().parse_args(['up', str(ROBOT)]).live
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(['up', str(ROBOT), '--live', '--live-port', '70000'])
    assert cli.main(['up', str(ROBOT), '--live-port', '9002']) == cli.EXIT_USAGE
    assert '--live-port needs --live' in capsys.readouterr().err
