"""System test: `robo-edge cloud canary` on a real local Ray cluster (one CPU), in the twin.

A tiny suite (the smoke scenario, two seeds) compares the shipped model with a copy of itself
(identical artifacts must pass) and with a degenerate model that sees floor everywhere (it must
fail). Each run is a Ray task in its own ROS domain; the report pairs the runs by case.
"""

import json
import shutil
import sys
from pathlib import Path

import ray  # noqa: F401 - the canary extra (requirements/canary.txt): make venv installs it
import yaml

from robo_edge import paths
from robo_edge.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test fixtures
from sync_fixtures import constant_model  # noqa: E402

CASES = ['empty_room_smoke__nominal__s0', 'empty_room_smoke__nominal__s1']


def tiny_suite(tmp_path: Path) -> Path:
    path = tmp_path / 'suite.yaml'
    path.write_text(yaml.safe_dump({
        'scenario_files': ['empty_room_smoke'], 'faults': ['nominal'], 'seeds': [0, 1],
        'retries': 1,
        'thresholds': {'bootstrap': 200, 'tolerances': {'perception_agreement': 0.02}}}))
    return path


def canary(tmp_path: Path, candidate: Path, name: str) -> tuple[int, dict]:
    report = tmp_path / name
    code = main(['cloud', 'canary', str(candidate), '--kind', 'model', '--suite',
                 str(tiny_suite(tmp_path)), '--num-cpus', '1', '--report', str(report)])
    return code, json.loads((report / 'report.json').read_text(encoding='utf-8'))


def test_identical_model_passes_with_every_run_paired(tmp_path: Path) -> None:
    candidate = shutil.copy(paths.share_file('models', 'floor_seg.onnx'), tmp_path / 'c.onnx')
    code, report = canary(tmp_path, Path(candidate), 'same')
    assert report['verdict']['passed'], report['verdict']['reasons']
    assert code == 0 and report['errors'] == []
    assert report['cases'] == CASES
    for arm in ('release', 'candidate'):
        assert sorted(report['runs'][arm]) == CASES
        assert all(r['passed'] for r in report['runs'][arm].values()), report['runs'][arm]
    metrics = {m['metric']: m for m in report['verdict']['metrics']}
    assert metrics['collisions']['n'] == 2 and metrics['collisions']['mean_diff'] == 0.0
    # The camera ran and was compared. A 12 s run at 4x real time can end before the runner's
    # monitor has matched both streams: a fresh-clone CI had one pair without a value.
    assert metrics['perception_agreement']['n'] >= 1
    assert report['commit'] and isinstance(report['dirty'], bool) and report['host']['cpus']
    assert (tmp_path / 'same' / 'differences.png').stat().st_size > 5_000


def test_degenerate_model_fails_the_verdict(tmp_path: Path) -> None:
    candidate = constant_model(tmp_path / 'floor_everywhere.onnx')
    code, report = canary(tmp_path, candidate, 'degenerate')
    assert code == 1 and not report['verdict']['passed']
    assert sorted(report['runs']['candidate']) == CASES
    worse = [m['metric'] for m in report['verdict']['metrics'] if m['worse']]
    assert 'perception_agreement' in worse, report['verdict']
