"""The canary report: provenance, JSON and the plot of differences (no ROS, no Ray)."""

import json
from pathlib import Path

from robo_edge.canary.compare import compare
from robo_edge.canary.report import provenance, write_report
from robo_edge.canary.suite import Thresholds

REPO = Path(__file__).resolve().parents[2]


def test_provenance_names_the_commit_and_dirty_flag_of_a_checkout(tmp_path: Path) -> None:
    inside = provenance(REPO)
    assert len(inside['commit']) == 40 and isinstance(inside['dirty'], bool)
    assert inside['host']['cpus'] >= 1 and inside['command'][0] == 'robo-edge'
    outside = provenance(tmp_path)  # not a checkout: nothing to claim
    assert outside['commit'] is None and outside['dirty'] is None


def test_report_holds_the_verdict_and_a_plot(tmp_path: Path) -> None:
    release = {'c0': {'collision_count': 0, 'breaker_trips': 0, 'min_clearance_m': 0.5}}
    candidate = {'c0': {'collision_count': 1, 'breaker_trips': 0, 'min_clearance_m': 0.3}}
    verdict = compare(release, candidate, Thresholds(bootstrap=100))
    path = write_report(tmp_path / 'r', {'kind': 'model'}, verdict)
    report = json.loads(path.read_text(encoding='utf-8'))
    assert report['kind'] == 'model' and report['verdict']['passed'] is False
    clearance = next(m for m in report['verdict']['metrics'] if m['metric'] == 'min_clearance_m')
    assert clearance['mean_diff'] == -0.2 and clearance['worse'] is True
    assert (tmp_path / 'r' / 'differences.png').stat().st_size > 5_000
