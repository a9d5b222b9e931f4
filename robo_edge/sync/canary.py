"""The canary gate: a candidate model or policy must pass before it may become active.

Two stages, cheapest first:
1. `model_gate`: the model is loaded and run on labelled sample frames (shipped as
   share/robo_edge/models/canary_sample.npz). It fails on non-finite logits, on output that
   does not depend on the input (a degenerate model: same logits for every frame), on one class
   predicted everywhere, and on a mean IoU below `min_miou`. Seconds, no ROS.
2. `twin_gate`: a configured subset of the scenario suite is run in the twin through
   `robo_edge.scenario.runner.run_scenarios` with the candidate as the perception model; every
   scenario must pass, and the candidate's own perception diagnostics in each recording must
   show it ran (the candidate's path, inferences, no NaN) with output statistics within the
   reference of its metadata. The shipped config gates on `chaos/chaos_lidar_silence`: the
   LiDAR falls silent and the candidate's virtual scan must carry the robot to its goal as the
   obstacle source (a scenario where perception does not steer could not see a bad model by its
   verdict alone). Minutes per candidate: with `gate_scenarios` [''] it is skipped.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robo_edge.exceptions import ModelError, RoboEdgeError
from robo_edge.sync.agent import GateResult

CONSTANT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class GateConfig:
    """What the gate runs and what it demands."""

    sample_path: Path | None = None  # labelled frames (npz: images, labels)
    min_miou: float = 0.6
    scenario_files: tuple[str, ...] = ()
    report_dir: Path = Path('/tmp/robo_edge_canary')


def model_gate(model_path: Path, sample_path: Path | None = None,
               min_miou: float = 0.6) -> GateResult:
    """Run the model on labelled frames; fail degenerate or poor models."""
    from robo_edge import paths  # noqa: PLC0415
    from robo_edge.perception.evaluation import InputSpec, score  # noqa: PLC0415
    from robo_edge.perception.model import load_model  # noqa: PLC0415

    try:
        sample = sample_path or paths.share_file('models', 'canary_sample.npz')
        data = np.load(sample)
        session = load_model(Path(model_path))
    except (ModelError, RoboEdgeError, OSError, ValueError) as e:
        return GateResult(False, f'cannot evaluate: {e}')
    try:
        spec = session.spec.input
        outputs: list[np.ndarray] = []

        def predict(tensor: np.ndarray) -> np.ndarray:
            logits = session.run(tensor)
            outputs.append(logits)
            return logits

        scores = score(data['images'], data['labels'], predict,
                       InputSpec(spec.name, spec.width, spec.height, spec.mean, spec.std),
                       len(session.spec.classes))
    finally:
        session.close()
    return judge(outputs, scores.miou, scores.floor_fraction, min_miou)


def judge(outputs: list[np.ndarray], miou: float, floor_fraction: np.ndarray,
          min_miou: float) -> GateResult:
    """Decide from the raw outputs and scores (pure)."""
    if not all(np.isfinite(o).all() for o in outputs):
        return GateResult(False, 'non-finite logits on the sample frames')
    if len(outputs) > 1 and max(float(np.abs(o - outputs[0]).max()) for o in outputs[1:]) \
            <= CONSTANT_TOLERANCE:
        return GateResult(False, 'degenerate: the same output for every frame')
    if np.all(floor_fraction >= 1.0) or np.all(floor_fraction <= 0.0):
        return GateResult(False, 'degenerate: one class predicted everywhere')
    if not miou >= min_miou:
        return GateResult(False, f'mean IoU {miou:.3f} below the gate {min_miou:.3f}')
    return GateResult(True, f'mean IoU {miou:.3f}')


def last_perception_status(mcap: Path) -> dict[str, str] | None:
    """Return the key-values of the last perception status recorded in an MCAP file."""
    from mcap_ros2.reader import read_ros2_messages  # noqa: PLC0415

    last = None
    for item in read_ros2_messages(str(mcap), topics=['/diagnostics']):
        for status in item.ros_msg.status:
            if status.name == 'robo_edge/perception':
                last = {kv.key: kv.value for kv in status.values}
    return last


def judge_twin_perception(values: dict[str, str] | None, model_path: Path,
                          reference: object) -> GateResult:
    """Judge the candidate's perception diagnostics from a twin run (pure)."""
    from robo_edge.sync.probation import Probation, ProbationConfig  # noqa: PLC0415

    if values is None:
        return GateResult(False, 'perception reported nothing in the twin')
    if values.get('model_path') != str(model_path):
        return GateResult(False, f'perception ran {values.get("model_path")!r}, not the '
                                 'candidate')
    if values.get('inferences', '0') in ('', '0') or values.get('nan_outputs', '0') != '0':
        return GateResult(False, f'perception in the twin: {values.get("inferences")} '
                                 f'inferences, {values.get("nan_outputs")} NaN outputs')
    try:
        floor, confidence = float(values['floor_fraction']), float(values['confidence_mean'])
    except (KeyError, ValueError):
        return GateResult(False, 'perception reported no output statistics')
    config = ProbationConfig(min_frames=1, hold_s=0.0)
    decision = Probation(config, reference, 0).observe(1, floor, confidence, 0)
    if decision.rollback:
        return GateResult(False, f'twin output off its reference: {decision.reason}')
    return GateResult(True, f'floor {floor:.3f}, confidence {confidence:.3f}')


def twin_gate(model_path: Path | None, scenario_files: tuple[str, ...],
              report_dir: Path, overrides: dict[str, dict] | None = None) -> GateResult:
    """Run the configured scenarios with the candidate model or policy; all must pass."""
    if not scenario_files:  # the robot: the twin and PyBullet are never imported
        return GateResult(True, 'no twin scenarios configured')
    from robo_edge import paths  # noqa: PLC0415
    from robo_edge.scenario.runner import RunOptions, run_scenarios  # noqa: PLC0415
    from robo_edge.scenario.spec import load_scenario  # noqa: PLC0415
    from robo_edge.sync.service import reference_of  # noqa: PLC0415

    overrides = dict(overrides or {})
    if model_path is not None:
        overrides['perception'] = {'model_path': str(model_path)}
    try:
        scenarios = [load_scenario(paths.resolve(path, 'sim/scenarios'))
                     for path in scenario_files]
        results = run_scenarios(scenarios, RunOptions(
            Path(report_dir), jobs=1, record=model_path is not None, node_overrides=overrides))
    except (RoboEdgeError, OSError, ValueError) as e:
        return GateResult(False, f'twin gate could not run: {e}')
    failed = [r['name'] for r in results if not r['passed']]
    if failed:
        return GateResult(False, f'twin scenarios failed: {failed}')
    if model_path is not None:
        reference = reference_of(model_path)
        for result in results:
            values = last_perception_status(Path(result['mcap'])) if result.get('mcap') \
                else None
            verdict = judge_twin_perception(values, model_path, reference)
            if not verdict.passed:
                return GateResult(False, f'{result["name"]}: {verdict.reason}')
    return GateResult(True, f'{len(results)} twin scenarios passed')


class CanaryGate:
    """The agent's gate: models through both stages, policies through the twin (if set)."""

    def __init__(self, config: GateConfig) -> None:
        self.config = config

    def __call__(self, target: str, slot: Path, info: object) -> GateResult:
        """Judge a staged candidate in `slot` (its bytes are `slot/payload`)."""
        from robo_edge.sync.artifacts import load_policy, policy_overrides  # noqa: PLC0415

        kind = getattr(info, 'kind', '')
        model, overrides = None, None
        if kind == 'model':
            model = slot / 'payload'
            verdict = model_gate(model, self.config.sample_path, self.config.min_miou)
            if not verdict.passed:
                return verdict
        elif kind == 'policy':
            overrides = policy_overrides(load_policy(slot / 'payload'))
        return twin_gate(model, self.config.scenario_files, self.config.report_dir, overrides)
