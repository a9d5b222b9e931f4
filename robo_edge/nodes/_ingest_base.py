"""The shared shape of the ingest nodes: one validated stream in, republished, with diagnostics.

A subclass names its stream (a `StreamSpec`) and implements `validate` and `digest`; the base
declares the common parameters, runs every message through an `IngestGate`, republishes the
accepted ones, and publishes the stream's DiagnosticStatus on /diagnostics every
`diagnostics_period_s` and at once when the level changes. The stamp limits and the health
thresholds (COMMON_LIVE) apply live to the next message, counts and windows kept; topics and
periods are read-only.
"""

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import QoSProfile
from std_msgs.msg import Header

from robo_edge.health.report import HealthReport, Level
from robo_edge.health.stream import HealthConfig
from robo_edge.ingest.gate import Admission, IngestGate
from robo_edge.ingest.timecheck import StampPolicy
from robo_edge.ingest.verdict import Verdict
from robo_edge.ros.diagnostics import to_array, to_status
from robo_edge.ros.params import LiveParameters, Param, declare
from robo_edge.ros.qos import DIAGNOSTICS
from robo_edge.ros.readiness import REQUIRED_READERS_DOC, ReadinessReporter, required_outputs
from robo_edge.ros.stamps import NS_PER_S, from_msg

DIAGNOSTICS_TOPIC = '/diagnostics'
STATUS_PREFIX = 'robo_edge/ingest/'


class Stamped(Protocol):
    """A message with a std_msgs/Header."""

    header: Header


MsgT = TypeVar('MsgT', bound=Stamped)


@dataclass(frozen=True)
class StreamSpec:
    """What an ingest node handles, and the defaults of its stream parameters."""

    sensor: str
    msg_type: type
    qos: QoSProfile
    input_topic: str
    output_topic: str
    nominal_rate_hz: float
    frozen_repeats: int


def common_params(spec: StreamSpec) -> list[Param]:
    """Return the parameters every ingest node declares."""
    return [
        Param('input_topic', spec.input_topic, f'Input {spec.msg_type.__name__} topic',
              read_only=True),
        Param('output_topic', spec.output_topic, 'Topic the valid messages are republished on',
              read_only=True),
        Param('nominal_rate_hz', spec.nominal_rate_hz, 'Expected rate of the stream', 0.1, 1e4),
        Param('window_s', 2.0, 'Sliding window of rate, jitter and recent drops', 0.1, 60.0),
        Param('stale_periods', 3.0, 'Nominal periods without a message before STALE', 1.0, 1000.0),
        Param('rate_warn_fraction', 0.5, 'WARN below this share of the nominal rate', 0.0, 1.0),
        Param('frozen_repeats', spec.frozen_repeats,
              'Identical payloads in a row that mean frozen (0: off)', 0, 100000),
        Param('max_age_s', 0.5, 'Drop a message whose stamp is older than this', 0.001, 3600.0),
        Param('max_future_s', 0.1, 'Drop a message stamped further ahead of the clock',
              0.0, 3600.0),
        Param('diagnostics_period_s', 1.0, 'Period of the diagnostics publication', 0.01, 60.0,
              read_only=True),
        Param('required_readers', [''], REQUIRED_READERS_DOC, read_only=True),
        Param('level_check_period_s', 0.1,
              'Period of the check that notices a stream going stale', 0.01, 60.0,
              read_only=True),
    ]


COMMON_LIVE = frozenset({'nominal_rate_hz', 'window_s', 'stale_periods', 'rate_warn_fraction',
                         'frozen_repeats', 'max_age_s', 'max_future_s'})


class IngestNode(Node, Generic[MsgT], metaclass=ABCMeta):
    """Base of camera_ingest, lidar_ingest and imu_ingest (see their docstrings)."""

    def __init__(self, node_name: str, spec: StreamSpec, extra: list[Param],
                 extra_live: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        params = common_params(spec) + extra
        self.params = declare(self, params)
        self._gate = IngestGate(_stamp_policy(self.params), _health_config(self.params))
        self._status_name = STATUS_PREFIX + spec.sensor
        self._hardware_id = ''
        self._level: Level | None = None
        self._output = self.create_publisher(spec.msg_type, self.params['output_topic'], spec.qos)
        self._diagnostics = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, DIAGNOSTICS)
        self.inputs = [self.create_subscription(
            spec.msg_type, self.params['input_topic'], self._on_message, spec.qos)]
        self.readiness = ReadinessReporter(self, self.inputs, required_outputs(
            self.params['required_readers'], [self._output], f'{node_name} parameters'))
        self.create_timer(self.params['diagnostics_period_s'], self.publish_diagnostics)
        self.create_timer(self.params['level_check_period_s'], self._on_level_timer)
        self.live = LiveParameters(self, params, self.params, COMMON_LIVE | extra_live,
                                   self._retune)

    def _retune(self, values: dict[str, Any], _changed: dict[str, Any]) -> None:
        """Judge the next message by the new stamp limits and health thresholds.

        A subclass with live parameters of its own validates them before calling this, and
        applies them after it.
        """
        self._gate.reconfigure(_stamp_policy(values), _health_config(values))

    @property
    def status_name(self) -> str:
        """Return the name of this stream's DiagnosticStatus."""
        return self._status_name

    @abstractmethod
    def validate(self, msg: MsgT) -> Verdict:
        """Return the verdict on the content of `msg`."""

    @abstractmethod
    def digest(self, msg: MsgT) -> bytes:
        """Return the digest of the payload of `msg`."""

    def now_ns(self) -> int:
        """Return the node clock (sim time in the twin) in nanoseconds."""
        return self.get_clock().now().nanoseconds

    def report(self) -> HealthReport:
        """Return the stream's health now."""
        return self._gate.health.report(self.now_ns())

    def publish_diagnostics(self) -> None:
        """Publish the stream's DiagnosticStatus."""
        now_ns = self.now_ns()
        report = self._gate.health.report(now_ns)
        self._level = report.level
        status = to_status(report, self._status_name, self._hardware_id)
        self._diagnostics.publish(to_array([status], now_ns))

    def _on_message(self, msg: MsgT) -> None:
        now_ns = self.now_ns()
        admission = self._admit(msg, now_ns)
        if admission.accepted:
            self._output.publish(msg)
        self._check_level(now_ns)

    def _admit(self, msg: MsgT, now_ns: int) -> Admission:
        try:
            self._hardware_id = str(msg.header.frame_id)[:64]
            stamp_ns = from_msg(msg.header.stamp)
        except (AttributeError, TypeError):
            stamp_ns = 0  # becomes a zero_stamp drop, never an exception in the executor
        return self._gate.admit(
            now_ns, stamp_ns, lambda: self.validate(msg), lambda: self.digest(msg)
        )

    def _on_level_timer(self) -> None:
        self._check_level(self.now_ns())

    def _check_level(self, now_ns: int) -> None:
        level, _ = self._gate.health.level(now_ns)
        if level != self._level:
            self.publish_diagnostics()


def _stamp_policy(params: dict[str, Any]) -> StampPolicy:
    return StampPolicy(
        max_future_ns=int(params['max_future_s'] * NS_PER_S),
        max_age_ns=int(params['max_age_s'] * NS_PER_S),
    )


def _health_config(params: dict[str, Any]) -> HealthConfig:
    return HealthConfig(
        nominal_rate_hz=params['nominal_rate_hz'],
        window_s=params['window_s'],
        stale_periods=params['stale_periods'],
        rate_warn_fraction=params['rate_warn_fraction'],
        frozen_repeats=params['frozen_repeats'],
    )
