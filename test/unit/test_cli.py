"""The robo-edge command: config errors are one clear line and exit code 2."""

from pathlib import Path

import pytest

from robo_edge.cli import EXIT_USAGE, main

REPO = Path(__file__).resolve().parents[2]


def test_world_check_accepts_shipped_worlds(capsys: pytest.CaptureFixture) -> None:
    worlds = sorted(str(p) for p in (REPO / 'sim' / 'worlds').glob('*.yaml'))
    assert main(['world', 'check', *worlds]) == 0
    assert capsys.readouterr().out.count(': ok') == len(worlds)


def test_bad_world_names_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / 'bad_world.yaml'
    bad.write_text('world:\n  name: w\n  obstacles:\n    - {type: box, pose: [0, 0, 0]}\n')
    assert main(['world', 'check', str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert 'bad_world.yaml' in err and '"world.obstacles[0].size"' in err


def test_bad_scenario_names_file_and_key(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / 'bad_scenario.yaml'
    bad.write_text('name: x\nworld: empty_room\nstart: [0, 0]\nduration_s: 3\n')
    assert main(['scenario', 'check', str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert 'bad_scenario.yaml' in err and '"start"' in err


def test_scenario_run_refuses_a_malformed_file_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / 'broken.yaml'
    bad.write_text('name: x\nworld: [unclosed\n')
    assert main(['scenario', 'run', str(bad), '--report', str(tmp_path / 'r')]) == EXIT_USAGE
    assert 'broken.yaml' in capsys.readouterr().err
    assert not (tmp_path / 'r').exists()
