"""System test: the twin canary runs a scenario with a candidate model and rejects a bad one.

One short scenario (12 simulated seconds) with a constant-output model as perception's model:
the scenario itself passes (perception does not steer the twin), the candidate's recorded
perception diagnostics show it ran, and its output is judged off its reference: rejected.
"""

from sync_fixtures import constant_model

from robo_edge import paths
from robo_edge.sync.canary import twin_gate


def test_twin_gate_rejects_a_constant_model(tmp_path):
    model = constant_model(tmp_path / 'constant.onnx')
    scenario = str(paths.share_file('sim', 'scenarios', 'empty_room_smoke.yaml'))
    verdict = twin_gate(model, (scenario,), tmp_path / 'report')
    assert not verdict.passed
    assert 'off its reference' in verdict.reason, verdict.reason
